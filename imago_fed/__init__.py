"""Imago Fed: a federation server for collectives.

Each group is at once an ActivityPub ``Group`` actor and a Matrix space; the
server translates between the two federations and adds decisions, ballots,
resources and a graph of groups on top.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("imago-fed")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

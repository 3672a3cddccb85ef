"""Assemblies: a group meets, members take the floor in turn, motions are voted.

Pure rules (no clock of their own, no storage, no network): the service feeds
them the time and the members' requests, and carries out what they say.
"""

from imago_fed.domain.assemblies.assembly import Assembly, Motion, Turn
from imago_fed.domain.assemblies.minutes import Minutes, minutes_of

__all__ = ["Assembly", "Minutes", "Motion", "Turn", "minutes_of"]

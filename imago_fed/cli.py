"""The ``imago-fed`` command: the group, its global options, and its subcommands.

Every subcommand lives in :mod:`imago_fed.commands`, one module per command
(or per family of commands); shared plumbing is in ``commands/common.py``.

    imago-fed [--config FILE] [--verbose] COMMAND ...
      init, serve, worker, migrate, check        commands/<name>.py
      group, matrix                              commands/group.py, matrix.py
      proposal, table, delegate                  commands/governance.py
      election, trustee, credentials             commands/election.py
      ballot, ballot-audit, tally                commands/ballot.py, tally.py
      resources                                  commands/resources.py

Exit status: 0 success, 1 the command failed (one line on stderr says why),
2 invalid configuration or usage.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from imago_fed import __version__
from imago_fed.commands.ballot import ballot, ballot_audit
from imago_fed.commands.check import check
from imago_fed.commands.election import credentials, election, trustee
from imago_fed.commands.governance import delegate, proposal, table
from imago_fed.commands.group import group
from imago_fed.commands.init import init
from imago_fed.commands.matrix import matrix
from imago_fed.commands.migrate import migrate
from imago_fed.commands.resources import resources
from imago_fed.commands.serve import serve
from imago_fed.commands.tally import tally
from imago_fed.commands.worker import worker
from imago_fed.config import CONFIG_ENV, DEFAULT_CONFIG_PATH

__all__ = ["COMMANDS", "main"]


@click.group()
@click.version_option(__version__, prog_name="imago-fed")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"TOML configuration file (default: ${CONFIG_ENV}, else {DEFAULT_CONFIG_PATH})",
)
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="show the full log on stderr (serve and worker always do)",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, verbose: bool) -> None:
    """Imago Fed: groups that are ActivityPub actors and Matrix spaces at once."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["verbose"] = verbose


COMMANDS: tuple[click.Command, ...] = (
    init, serve, worker, migrate, check, group, matrix,
    proposal, table, delegate, election, trustee, credentials, ballot, ballot_audit, tally,
    resources,
)  # fmt: skip
for command in COMMANDS:
    main.add_command(command)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

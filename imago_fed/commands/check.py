"""``imago-fed check``: is this configuration one a server can start with?

    configuration valid? ──no──> one line per problem, exit 2
      │ yes: "configuration: ok (<file>)"
    database reachable? ──no──> "database: unreachable (...)", exit 1
      │ yes: "database: reachable (embedded|configured)"
    schema at head? ──no──> "database schema at X, expected Y: run imago-fed migrate", exit 1
      │ yes: "schema: at <head>"
    exit 0

It changes nothing: it neither creates the schema nor migrates it (with no
``[database] url`` it starts the embedded server just long enough to look).
"""

from __future__ import annotations

import asyncio

import click

from imago_fed.commands.common import run, settings_of
from imago_fed.config import Settings

__all__ = ["EXIT_BAD_CONFIG", "EXIT_PROBLEM", "check"]

EXIT_PROBLEM = 1  # the database is unreachable or its schema is not at head
EXIT_BAD_CONFIG = 2  # as for every command: see commands/common.py


@click.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the configuration and reach the database; say what is wrong.

    Exit status: 0 all good, 1 database unreachable or schema not at the
    latest revision, 2 invalid configuration.
    """
    settings = settings_of(ctx)
    click.echo(f"configuration: ok ({settings.source or 'defaults and environment'})")
    problems = run(_database_problems(settings))
    for problem in problems:
        click.echo(problem, err=True)
    ctx.exit(EXIT_PROBLEM if problems else 0)


async def _database_problems(settings: Settings) -> list[str]:
    from imago_fed.store import migrations
    from imago_fed.store.database import database_dsn

    problems: list[str] = []
    try:
        async with database_dsn(settings) as dsn:
            current = await asyncio.wait_for(migrations.revision_at(dsn), timeout=10)
            head = migrations.head_revision()
            where = "embedded" if not settings.database.url else "configured"
            click.echo(f"database: reachable ({where})")
            if current != head:
                problems.append(
                    f"database schema at {current or 'nothing'}, expected {head}: "
                    "run imago-fed migrate"
                )
            else:
                click.echo(f"schema: at {head}")
    except Exception as exc:  # report every failure, never crash
        problems.append(f"database: unreachable ({type(exc).__name__}: {exc})")
    return problems

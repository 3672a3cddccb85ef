"""``imago-fed migrate``: bring the schema to a revision, and nothing else.

``serve`` migrates to head at start; this is for a worker machine, a
downgrade before going back to an older release, or a schema prepared ahead
of a rolling restart. Alembic takes a lock, so two at once are safe.
"""

from __future__ import annotations

import click

from imago_fed.commands.common import run, settings_of

__all__ = ["migrate"]


@click.command()
@click.option("--revision", default="head", show_default=True, help="target revision")
@click.option("--down", is_flag=True, help="downgrade to --revision instead of upgrading")
@click.pass_context
def migrate(ctx: click.Context, revision: str, down: bool) -> None:
    """Bring the database schema to a revision (the latest by default)."""
    settings = settings_of(ctx)

    async def act() -> None:
        from imago_fed.store import migrations
        from imago_fed.store.database import database_dsn

        async with database_dsn(settings) as dsn:
            if down:
                await migrations.downgrade(dsn, revision)
            else:
                await migrations.upgrade(dsn, revision)
            click.echo(f"database at {'base' if revision == 'base' else revision}")

    run(act())

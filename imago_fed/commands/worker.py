"""``imago-fed worker``: every background worker of ``serve``, without HTTP.

    database_dsn ─> schema at head? (else: run imago-fed migrate, exit 1)
      └─> runtime ─> start_workers: inbox processing, deliveries, group
          events (member posts, profile, Questions), the Matrix bridge when
          enabled, the decision ticker
            ... until SIGTERM/SIGINT ─> stop_workers (in-flight work finishes)

Run it beside ``serve`` with ``[federation] workers_in_serve = false``, or as
several processes: the queues are claimed row by row with leases, so workers
share them. It does not migrate: a schema newer or older than the code is
refused, because a worker on another machine must not change it under the
server. Its log is its output, as for ``serve``.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from imago_fed import __version__
from imago_fed.commands.common import fail, open_runtime, run, settings_of
from imago_fed.config import Settings

__all__ = ["worker"]

log = logging.getLogger("imago_fed")


@click.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run every background worker (no HTTP) until SIGTERM; see workers_in_serve."""
    settings = settings_of(ctx, service=True)
    try:
        problem = run(_worker(settings))
    except OSError as exc:
        problem = f"cannot run the worker: {exc}"
    if problem:
        fail(ctx, problem)


async def _worker(settings: Settings) -> str | None:
    from imago_fed.app import start_workers, stop_workers
    from imago_fed.store import migrations
    from imago_fed.store.database import DatabaseError, database_dsn

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async with database_dsn(settings) as dsn:
        try:
            current = await migrations.revision_at(dsn)
            if current != migrations.head_revision():
                return f"database schema at {current or 'nothing'}: run imago-fed migrate first"
            async with open_runtime(settings, dsn) as rt:
                await start_workers(rt)
                log.info("background workers running", extra={"version": __version__})
                await stop.wait()
                await stop_workers(rt)
            log.info("workers stopped: in-flight work finished")
        except DatabaseError as exc:
            return f"database error: {exc}"
    return None

"""``imago-fed serve``: the HTTP server, with the background workers by default.

    database_dsn (embedded PostgreSQL if [database] url is empty)
      └─> migrations to head ─> create_app ─> Hypercorn until SIGTERM/SIGINT
                                               (in-flight requests finish)

Its log is its output: structured lines on stderr, whatever ``--verbose`` says.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from imago_fed import __version__
from imago_fed.commands.common import run, settings_of
from imago_fed.config import Settings

__all__ = ["serve"]

log = logging.getLogger("imago_fed")


@click.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Run the server: database (embedded if none configured), migrations, HTTP."""
    settings = settings_of(ctx, service=True)
    try:
        run(_serve(settings))
    except OSError as exc:
        log.error("cannot serve: %s", exc)
        ctx.exit(1)


async def _serve(settings: Settings) -> None:
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config as HypercornConfig

    from imago_fed.app import create_app
    from imago_fed.store import migrations
    from imago_fed.store.database import database_dsn

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async with database_dsn(settings) as dsn:
        await migrations.upgrade(dsn)
        log.info("database schema at %s", migrations.head_revision())
        app = create_app(settings, dsn)
        config = HypercornConfig()
        # /metrics may have an address of its own (it answers nothing else there).
        config.bind = [settings.http.listen, *filter(None, [settings.metrics.listen])]
        if settings.http.tls:
            config.certfile = str(settings.http.tls_cert)
            config.keyfile = str(settings.http.tls_key)
        config.graceful_timeout = float(settings.http.graceful_timeout)
        config.accesslog = None
        config.errorlog = logging.getLogger("hypercorn.error")
        log.info(
            "serving %s on %s",
            settings.instance.base_url,
            settings.http.listen,
            extra={"version": __version__},
        )
        await hypercorn_serve(app, config, shutdown_trigger=stop.wait)
        log.info("stopped: in-flight requests finished")

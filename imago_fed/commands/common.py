"""What every ``imago-fed`` command shares: settings, running a coroutine, a runtime.

Every subcommand loads and validates the configuration first, so a mistake
is reported the same way everywhere: one line per problem, naming the key,
and exit status 2.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from imago_fed.config import ConfigError, Settings, load_settings
from imago_fed.logs import configure_logging

__all__ = ["run", "settings_of", "with_runtime"]

T = TypeVar("T")


def settings_of(ctx: click.Context) -> Settings:
    try:
        settings = load_settings(ctx.find_root().obj.get("config_path"))
    except ConfigError as exc:
        click.echo("imago-fed: invalid configuration:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        ctx.exit(2)
    configure_logging(settings.log.level, settings.log.format)
    return settings


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


async def with_runtime(settings: Settings, action: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``action(runtime)`` against the database (migrated first), then clean up.

    Work it queues (deliveries, group events) is carried out by a running
    ``serve`` or ``worker``, woken by PostgreSQL notifications.
    """
    from imago_fed.app import build_runtime, close_runtime
    from imago_fed.store import migrations
    from imago_fed.store.database import create_pool, database_dsn

    async with database_dsn(settings) as dsn:
        await migrations.upgrade(dsn)
        rt = build_runtime(settings, await create_pool(dsn, settings))
        try:
            return await action(rt)
        finally:
            await close_runtime(rt)

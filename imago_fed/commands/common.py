"""What every ``imago-fed`` command shares: settings, logging, a coroutine, a runtime.

    settings_of(ctx)             load + validate the configuration (exit 2
                                 with one line per problem), set up logging
    run(coro)                    asyncio.run, typed
    open_runtime(settings, dsn)  the application's services over a pool of
                                 their own (the CLI's composition root)
    with_runtime(settings, fn)   database (embedded if none configured),
                                 migrations, runtime, fn(runtime), clean up

Every subcommand loads and validates the configuration first, so a mistake
is reported the same way everywhere: one line per problem, naming the key,
and exit status 2. Only the long-running commands (``serve``, ``worker``)
write the structured log an admin ships to journald or Loki; the others are
read by a person and show only warnings and errors, as plain lines, unless
``imago-fed --verbose`` asks for the full log.

Commands reach the database only through the runtime's services and
repositories (or the store's migration functions): never a pool or SQL of
their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, NoReturn, TypeVar

import click

from imago_fed.config import ConfigError, Settings, load_settings
from imago_fed.logs import configure_logging, configure_quiet_logging

if TYPE_CHECKING:
    from imago_fed.web.runtime import Runtime

__all__ = ["fail", "open_runtime", "run", "settings_of", "steady_heap", "with_runtime"]

T = TypeVar("T")


def settings_of(ctx: click.Context, *, service: bool = False) -> Settings:
    """The validated settings; logging set up for a service or for a person.

    ``service`` marks the long-running commands, whose log is their output;
    the root's ``--verbose`` gives any other command the same log.
    """
    root = ctx.find_root().obj or {}
    try:
        settings = load_settings(root.get("config_path"))
    except ConfigError as exc:
        click.echo("imago-fed: invalid configuration:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        ctx.exit(2)
    if service:
        steady_heap()
    if service or root.get("verbose"):
        configure_logging(settings.log.level, settings.log.format)
    else:
        configure_quiet_logging()
    return settings


_M_MMAP_THRESHOLD = -3  # mallopt(3)
_MMAP_THRESHOLD = 128 * 1024  # glibc's default, held fixed


def steady_heap() -> bool:
    """Keep a long-running process's memory from creeping up (glibc only).

    glibc raises its mmap threshold each time a large block is freed, and
    the threshold for giving free heap back to the system with it; a server
    that handles bodies of varied sizes then keeps freed memory for good and
    its resident size grows steadily (the soak saw a few MB per thousand
    requests, every byte of it free: ``malloc_trim`` gave it all back, and
    tracemalloc saw no Python object grow). Setting the threshold turns that
    adjustment off. Returns whether it was set.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc: nothing to do
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD))


def fail(ctx: click.Context, message: str, code: int = 1) -> NoReturn:
    """One human line on stderr, then exit with ``code``."""
    click.echo(f"imago-fed: {message}", err=True)
    ctx.exit(code)


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings, dsn: str) -> AsyncIterator[Runtime]:
    """The services ``serve`` builds, for one command; closed (pool included) on exit."""
    from imago_fed.app import build_runtime, close_runtime
    from imago_fed.store.database import create_pool

    rt = build_runtime(settings, await create_pool(dsn, settings))
    try:
        yield rt
    finally:
        await close_runtime(rt)


async def with_runtime(settings: Settings, action: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run ``action(runtime)`` against the database (migrated first), then clean up.

    Work it queues (deliveries, group events) is carried out by a running
    ``serve`` or ``worker``, woken by PostgreSQL notifications.
    """
    from imago_fed.store import migrations
    from imago_fed.store.database import database_dsn

    async with database_dsn(settings) as dsn:
        await migrations.upgrade(dsn)
        async with open_runtime(settings, dsn) as rt:
            return await action(rt)

"""Where the database is: a configured server, or an embedded one we run.

With ``[database] url`` set we connect there. Without it, ``serve`` starts an
embedded PostgreSQL (the ``pgserver`` package ships the binaries) in
``<data_dir>/pgdata`` and stops it on exit, so a newcomer gets a real
PostgreSQL with no setup at all; its socket lives in that directory, so it
never listens on a TCP port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg

from imago_fed.config import Settings

__all__ = ["EMBEDDED_DATABASE", "DatabaseError", "Db", "create_pool", "database_dsn", "unreachable"]

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "imago"

# What the server answers when it refuses a statement; callers above the store
# catch it under this name rather than importing the driver.
DatabaseError = asyncpg.PostgresError

# What a repository function runs its statements on: the pool (one statement,
# its own transaction) or a connection inside the caller's transaction.
Db: TypeAlias = asyncpg.Pool | asyncpg.Connection

# The server is away (stopped, restarting, crashed, out of connections), as
# opposed to refusing a statement: the same request works again later.
_AWAY = (
    asyncpg.PostgresConnectionError,  # the connection broke mid-statement
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up, crash
    asyncpg.TooManyConnectionsError,
    # A pooled connection the server closed while it sat idle: the driver
    # learns of it on its next statement, in this confused state.
    asyncpg.InternalClientError,
)


def unreachable(exc: BaseException) -> bool:
    """True when ``exc`` means the database cannot be reached just now.

    Connecting to a stopped server raises a bare ``OSError`` (refused) or
    ``TimeoutError`` (the pool's acquire); a connection the server dropped
    raises asyncpg's connection errors, or "connection is closed" when it is
    used again. Callers answer 503 with Retry-After for these, not 500.
    """
    if isinstance(exc, OSError | TimeoutError):
        return True
    for _ in range(4):  # the driver's error may be the cause of another
        if isinstance(exc, _AWAY):
            return True
        if isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc):
            return True
        if exc.__cause__ is None:
            return False
        exc = exc.__cause__
    return False


@contextlib.asynccontextmanager
async def database_dsn(settings: Settings) -> AsyncIterator[str]:
    """Yield the DSN to use, running the embedded server for as long as needed."""
    if settings.database.url:
        yield settings.database.url.value
        return
    pgdata = (Path(settings.instance.data_dir) / "pgdata").resolve()
    server = await asyncio.to_thread(_start_embedded, pgdata)
    try:
        dsn = server.get_uri(EMBEDDED_DATABASE)
        await _ensure_database(server.get_uri("postgres"), EMBEDDED_DATABASE)
        log.info("embedded PostgreSQL running", extra={"pgdata": str(pgdata)})
        yield dsn
    finally:
        await asyncio.to_thread(server.cleanup)
        log.info("embedded PostgreSQL stopped")


def _start_embedded(pgdata: Path) -> Any:  # a pgserver.PostgresServer (untyped package)
    # pgserver asks platformdirs for a runtime dir it does not need; on servers
    # without XDG_RUNTIME_DIR that prints a warning admins cannot act on.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pgserver  # imported late: only the embedded mode needs it

    pgdata.mkdir(parents=True, exist_ok=True)
    return pgserver.get_server(pgdata, cleanup_mode="stop")


async def _ensure_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _reset(conn: asyncpg.Connection) -> None:
    """What a connection needs when it goes back to the pool: no open transaction.

    asyncpg's default reset sends a query on every release (unlisten, reset all,
    unlock advisory locks), a round trip that cost a fifth of the server's CPU
    per inbound activity. Our code sets no session state, releases its advisory
    locks itself (in ``finally``), and removes its listeners before releasing.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def create_pool(dsn: str, settings: Settings) -> asyncpg.Pool:
    """An asyncpg pool sized from the settings; raises if the server is unreachable."""
    return await asyncpg.create_pool(
        dsn,
        min_size=settings.database.pool_min,
        max_size=settings.database.pool_max,
        command_timeout=60,
        reset=_reset,
        server_settings={"application_name": "imago-fed"},
    )

"""Alembic environment: run revisions over asyncpg, one migrator at a time.

``imago-fed migrate`` (and ``serve``) pass the DSN in ``config.attributes``;
the plain ``alembic`` command falls back to the Imago configuration. A
PostgreSQL advisory lock keeps two processes (say ``serve`` and a ``worker``
starting together) from migrating at once.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

import asyncpg
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from alembic import context

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

MIGRATION_LOCK_ID = 0x1A60_FED  # arbitrary, constant: pg_advisory_xact_lock key


def _dsn() -> str:
    dsn = config.attributes.get("dsn")
    if dsn:
        return dsn
    from imago_fed.config import load_settings

    settings = load_settings()
    if not settings.database.url:
        raise SystemExit("no [database] url configured: use `imago-fed migrate` instead")
    return settings.database.url.value


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=False)
    with context.begin_transaction():
        connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})"))
        context.run_migrations()


async def _run_online() -> None:
    dsn = _dsn()
    engine = create_async_engine(
        "postgresql+asyncpg://",
        async_creator=lambda: asyncpg.connect(dsn),
        poolclass=pool.NullPool,
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) mode is not supported; run against a database")
asyncio.run(_run_online())

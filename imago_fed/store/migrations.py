"""Schema migrations: the only way the schema changes is an Alembic revision.

Alembic drives SQLAlchemy, which here drives asyncpg (no second driver): the
revision scripts live in ``alembic/`` at the top of the source tree. Alembic's
commands are synchronous and start their own event loop, so we run them in a
worker thread.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from alembic.config import Config
from alembic.script import ScriptDirectory

from alembic import command

__all__ = [
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "migrations_dir",
    "revision_at",
    "upgrade",
]


def migrations_dir() -> Path:
    """The ``alembic/`` folder: beside the package in a checkout, else in the cwd."""
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        candidate = base / "alembic"
        if (candidate / "env.py").is_file():
            return candidate
    raise RuntimeError("cannot find the alembic/ migrations folder; run from the source tree")


def alembic_config(dsn: str | None = None) -> Config:
    """An Alembic config that needs no alembic.ini, with our DSN attached."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if dsn is not None:
        config.attributes["dsn"] = dsn
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("the migrations folder has no revisions")
    return head


async def upgrade(dsn: str, revision: str = "head") -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(dsn), revision)


async def downgrade(dsn: str, revision: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(dsn), revision)


async def current_revision(conn: asyncpg.Connection) -> str | None:
    """The revision the database is at, or None before the first migration."""
    has_table = await conn.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
    if not has_table:
        return None
    return await conn.fetchval("SELECT version_num FROM alembic_version")


async def revision_at(dsn: str, timeout: float = 10) -> str | None:
    """The revision of the database at ``dsn`` over a connection of its own.

    For commands that must look before they build anything on the database
    (``imago-fed check``, ``imago-fed worker``); raises if it is unreachable.
    """
    conn = await asyncpg.connect(dsn, timeout=timeout)
    try:
        return await current_revision(conn)
    finally:
        await conn.close()

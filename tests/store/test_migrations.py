"""Migrations on a real PostgreSQL: up from empty, down again, up again."""

from __future__ import annotations

import asyncpg

from imago_fed.store import migrations


async def tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row["tablename"] for row in rows}
    finally:
        await conn.close()


async def revision(dsn: str) -> str | None:
    conn = await asyncpg.connect(dsn)
    try:
        return await migrations.current_revision(conn)
    finally:
        await conn.close()


async def test_up_from_empty_then_down_then_up(empty_db: str) -> None:
    assert await tables(empty_db) == set()
    assert await revision(empty_db) is None

    await migrations.upgrade(empty_db)
    assert "groups" in await tables(empty_db)
    assert await revision(empty_db) == migrations.head_revision()

    await migrations.downgrade(empty_db, "base")
    assert await tables(empty_db) <= {"alembic_version"}
    assert await revision(empty_db) is None

    await migrations.upgrade(empty_db)
    assert await revision(empty_db) == migrations.head_revision()


async def test_upgrade_is_idempotent(migrated_db: str) -> None:
    await migrations.upgrade(migrated_db)
    assert await revision(migrated_db) == migrations.head_revision()

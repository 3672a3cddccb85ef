"""Named locks across processes (store/locks.py): PostgreSQL advisory locks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from imago_fed.store.locks import PgAdvisoryLock


@pytest.fixture
async def elsewhere(migrated_db: str) -> AsyncIterator[PgAdvisoryLock]:
    """The lock as another process sees it: over connections of its own."""
    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=1)
    try:
        yield PgAdvisoryLock(pool)
    finally:
        await pool.close()


async def test_one_holder_at_a_time_and_never_waiting(
    pool: asyncpg.Pool, elsewhere: PgAdvisoryLock
) -> None:
    async with PgAdvisoryLock(pool).hold("governance") as held:
        assert held
        async with elsewhere.hold("governance") as also:
            assert not also
        async with elsewhere.hold("another") as other:
            assert other
    async with elsewhere.hold("governance") as held_now:
        assert held_now  # given back when the holder left


async def test_the_lock_is_released_when_the_holder_fails(
    pool: asyncpg.Pool, elsewhere: PgAdvisoryLock
) -> None:
    with pytest.raises(RuntimeError):
        async with PgAdvisoryLock(pool).hold("governance") as held:
            assert held
            raise RuntimeError("the step failed")
    async with elsewhere.hold("governance") as held_elsewhere:
        assert held_elsewhere

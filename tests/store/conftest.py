"""What the store's tests share: a pool on a fresh migrated database, and groups.

Each test module here covers one module of ``imago_fed/store/`` (its name
after ``test_``) against a real PostgreSQL (see ``tests/pg.py``); the
use cases above the store are tested over in-memory fakes elsewhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import pytest

from imago_fed.domain.groups import Group, KeyPair
from imago_fed.store.groups import PgGroupRepository

# A group's key pair, as stored: the tests here never sign with it.
STORED_KEYS = KeyPair("-----BEGIN PUBLIC KEY-----\nPEM\n", b"sealed")

AddGroup = Callable[..., Awaitable[int]]


@pytest.fixture
async def pool(migrated_db: str) -> AsyncIterator[asyncpg.Pool]:
    """A small pool on a database at the latest revision, closed after the test."""
    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def add_group(pool: asyncpg.Pool) -> AddGroup:
    """Store a group directly (no event, no key generation) and return its id."""

    async def add(slug: str = "garden", *, manual: bool = False, policy: str = "followers") -> int:
        group = Group(slug, slug.title(), "", datetime.now(UTC), STORED_KEYS,
                      manually_approves_followers=manual, posting_policy=policy)  # fmt: skip
        stored = await PgGroupRepository(pool).add(group)
        assert stored.id is not None
        return stored.id

    return add

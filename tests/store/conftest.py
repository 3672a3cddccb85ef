"""What the store's tests share: a pool on an empty migrated database, and groups.

Each test module here covers one module of ``imago_fed/store/`` (its name
after ``test_``) against a real PostgreSQL (see ``tests/pg.py``); the
use cases above the store are tested over in-memory fakes elsewhere.

A test here starts on empty tables, as on a new database, but the database
is made and migrated once per module and emptied before each test
(TRUNCATE ... RESTART IDENTITY): migrating takes seconds, emptying a few
milliseconds. The migrations seed no rows, so empty is what new looks like.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from imago_fed.domain.groups import Group
from imago_fed.store import migrations
from imago_fed.store.groups import PgGroupRepository
from tests.pg import scratch_database
from tests.store.helpers import STORED_KEYS, AddGroup

# Empty only what the last test filled: a TRUNCATE of every table costs more
# than the test itself; sequences it advanced start again at 1.
_EMPTY = """
DO $$
DECLARE
    filled text;
    seq text;
BEGIN
    SELECT string_agg(format('%I', t.tablename), ', ') INTO filled
    FROM pg_tables t
    WHERE t.schemaname = 'public' AND t.tablename <> 'alembic_version'
      AND (xpath('/row/c/text()', query_to_xml(
               format('SELECT EXISTS (SELECT 1 FROM %I) AS c', t.tablename),
               false, true, '')))[1]::text = 'true';
    IF filled IS NOT NULL THEN
        EXECUTE 'TRUNCATE ' || filled || ' CASCADE';
    END IF;
    FOR seq IN SELECT format('%I', sequencename) FROM pg_sequences
               WHERE schemaname = 'public' AND last_value IS NOT NULL LOOP
        EXECUTE 'ALTER SEQUENCE ' || seq || ' RESTART';
    END LOOP;
END $$;
"""


@pytest.fixture(scope="module")
async def module_db(pg_admin_dsn: str) -> AsyncIterator[str]:
    """One database at the latest revision for the test module, dropped after it."""
    async with scratch_database(pg_admin_dsn) as dsn:
        await migrations.upgrade(dsn)
        yield dsn


@pytest.fixture
async def migrated_db(module_db: str) -> str:
    """The suite's ``migrated_db`` for the store's tests: the module's database, emptied."""
    conn = await asyncpg.connect(module_db)
    try:
        await conn.execute(_EMPTY)
    finally:
        await conn.close()
    return module_db


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

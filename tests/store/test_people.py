"""Local Persons standing for Matrix members (store/people.py) in PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg

from imago_fed.store import people
from imago_fed.store.people import PgLocalPeople

NOW = datetime(2026, 5, 1, tzinfo=UTC)


async def _create(pool: asyncpg.Pool, user_id: str, base: str) -> str:
    return await PgLocalPeople(pool).create(
        user_id=user_id, base=base, display_name=user_id[1:].split(":")[0].title(),
        public_pem="PEM", sealed_private=b"sealed", now=NOW,
    )  # fmt: skip


async def test_a_username_clash_takes_the_next_free_suffix(pool: asyncpg.Pool) -> None:
    assert await _create(pool, "@hazel:example.org", "hazel_example_org") == "hazel_example_org"
    # Another server's hazel whose name folds to the same base.
    assert await _create(pool, "@hazel:example-org", "hazel_example_org") == "hazel_example_org_2"
    assert await _create(pool, "@hazel:example_org", "hazel_example_org") == "hazel_example_org_3"
    found = await people.by_username(pool, "hazel_example_org_2")
    assert found is not None and found["user_id"] == "@hazel:example-org"
    assert await people.by_username(pool, "nobody") is None


async def test_a_person_is_created_once_even_when_raced(pool: asyncpg.Pool) -> None:
    names = await asyncio.gather(
        *(_create(pool, "@hazel:example.org", "hazel_example_org") for _ in range(4))
    )
    assert set(names) == {"hazel_example_org"}
    assert await _create(pool, "@hazel:example.org", "other_base") == "hazel_example_org"
    assert await PgLocalPeople(pool).username_of("@hazel:example.org") == "hazel_example_org"
    assert await PgLocalPeople(pool).username_of("@kim:example.org") is None
    row = await people.get(pool, "@hazel:example.org")
    assert row is not None and (row["display_name"], row["public_key_pem"]) == ("Hazel", "PEM")

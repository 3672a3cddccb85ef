"""The federation bundle (store/federation.py): every repository over the pool, or all
bound to one transaction that commits or rolls back as a whole."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from imago_fed.store.federation import PgFederation
from tests.store.helpers import AddGroup

NOW = datetime(2026, 5, 1, tzinfo=UTC)
ANNOUNCE = {"id": "https://groups.test/groups/garden/activities/1", "type": "Announce"}


async def _publish(fed: PgFederation, group_id: int) -> None:
    await fed.outbox.add(group_id=group_id, activity=ANNOUNCE, object_id=None, public=True,
                         now=NOW)  # fmt: skip
    await fed.deliveries.enqueue(activity_id=ANNOUNCE["id"], group_id=group_id, body="{}",
                                 inboxes=["https://a.example/inbox"])  # fmt: skip


async def _counts(pool: asyncpg.Pool) -> tuple[int, int]:
    return (await pool.fetchval("SELECT count(*) FROM outbox"),
            await pool.fetchval("SELECT count(*) FROM deliveries"))  # fmt: skip


async def test_an_activity_and_its_deliveries_commit_together(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, fed = await add_group(), PgFederation(pool, lambda: NOW)
    async with fed.transaction() as tx:
        await _publish(tx, garden)
        assert await _counts(pool) == (0, 0)  # not visible outside before the commit
    assert await _counts(pool) == (1, 1)


async def test_a_failure_rolls_the_whole_publication_back(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, fed = await add_group(), PgFederation(pool, lambda: NOW)
    with pytest.raises(RuntimeError):
        async with fed.transaction() as tx:
            await _publish(tx, garden)
            raise RuntimeError("signing failed")
    assert await _counts(pool) == (0, 0)


async def test_a_nested_transaction_is_a_savepoint(pool: asyncpg.Pool, add_group: AddGroup):
    garden, fed = await add_group(), PgFederation(pool, lambda: NOW)
    async with fed.transaction() as tx:
        await tx.outbox.add(group_id=garden, activity=ANNOUNCE, object_id=None, public=True,
                            now=NOW)  # fmt: skip
        with pytest.raises(RuntimeError):
            async with tx.transaction() as inner:
                await inner.deliveries.enqueue(
                    activity_id=ANNOUNCE["id"], group_id=garden, body="{}",
                    inboxes=["https://a.example/inbox"],
                )  # fmt: skip
                raise RuntimeError("only the inner part fails")
    assert await _counts(pool) == (1, 0)


async def test_over_the_pool_each_call_stands_alone(pool: asyncpg.Pool, add_group: AddGroup):
    garden, fed = await add_group(), PgFederation(pool, lambda: NOW)
    await fed.outbox.add(group_id=garden, activity=ANNOUNCE, object_id=None, public=True, now=NOW)
    assert await fed.outbox.get(ANNOUNCE["id"]) == (ANNOUNCE, True)
    assert await fed.follows.is_follower(garden, "https://a.example/users/al") is False
    assert await fed.people.username_of("@hazel:example.org") is None

"""The inbound activity queue (store/inbox.py) in PostgreSQL: store once, claim with a
lease, finish along the lifecycle, retry with backoff, and the admin's view."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from imago_fed.domain.lifecycle import IllegalTransition
from imago_fed.store import inbox
from imago_fed.store.follows import set_following
from imago_fed.store.inbox import MAX_ATTEMPTS, PgInbox
from imago_fed.store.moderation import add_block
from tests.store.helpers import AddGroup, NoDatabase

# Rows become due at the database's now() when stored; claims ask a little later.
NOW = datetime.now(UTC) + timedelta(hours=1)
LEASE = timedelta(minutes=5)
AL = "https://a.example/users/al"


def _activity(n: int, actor: str = AL, kind: str = "Create") -> dict[str, object]:
    return {"id": f"https://a.example/activities/{n}", "type": kind, "actor": actor}


async def _state(pool: asyncpg.Pool, n: int) -> tuple[str, str | None]:
    row = await pool.fetchrow(
        "SELECT state, error FROM inbox_activities WHERE activity_id = $1",
        f"https://a.example/activities/{n}",
    )
    return row["state"], row["error"]


async def test_an_activity_is_stored_once_and_wakes_the_workers_once(pool: asyncpg.Pool) -> None:
    woken: asyncio.Queue[str] = asyncio.Queue()

    def notified(*args: object) -> None:
        woken.put_nowait(str(args[2]))

    async with pool.acquire() as listener:
        await listener.add_listener(inbox.CHANNEL, notified)
        assert await PgInbox(pool).store(activity=_activity(1), actor_uri=AL, group_id=None,
                                         now=NOW)  # fmt: skip
        assert await asyncio.wait_for(woken.get(), 5) == inbox.CHANNEL
        assert not await PgInbox(pool).store(activity=_activity(1), actor_uri=AL,
                                             group_id=None, now=NOW)  # fmt: skip
        await asyncio.sleep(0.2)
        assert woken.empty()
        await listener.remove_listener(inbox.CHANNEL, notified)
    assert await pool.fetchval("SELECT count(*) FROM inbox_activities") == 1


async def test_claims_are_leased_in_order_and_not_given_twice(pool: asyncpg.Pool) -> None:
    box = PgInbox(pool)
    for n in range(3):
        await box.store(activity=_activity(n), actor_uri=AL, group_id=None, now=NOW)
    first = await box.claim(limit=2, lease=LEASE, now=NOW)
    assert [r.activity["id"] for r in first] == [_activity(0)["id"], _activity(1)["id"]]
    assert [r.attempts for r in first] == [1, 1]
    second = await box.claim(limit=5, lease=LEASE, now=NOW)
    assert [r.activity["id"] for r in second] == [_activity(2)["id"]]
    assert await box.claim(limit=5, lease=LEASE, now=NOW) == []
    # A worker died holding them: once the lease runs out they are claimable again.
    again = await box.claim(limit=5, lease=LEASE, now=NOW + LEASE + timedelta(seconds=1))
    assert [(r.id, r.attempts) for r in again] == [(r.id, 2) for r in first + second]


async def test_concurrent_claims_share_the_rows_out(pool: asyncpg.Pool) -> None:
    box = PgInbox(pool)
    for n in range(20):
        await box.store(activity=_activity(n), actor_uri=AL, group_id=None, now=NOW)
    batches = await asyncio.gather(*(box.claim(limit=4, lease=LEASE, now=NOW) for _ in range(4)))
    ids = [row.id for batch in batches for row in batch]
    assert len(ids) == len(set(ids)) == 16


async def test_finishing_follows_the_lifecycle(pool: asyncpg.Pool) -> None:
    box = PgInbox(pool)
    await box.store(activity=_activity(1), actor_uri=AL, group_id=None, now=NOW)
    (row,) = await box.claim(limit=1, lease=LEASE, now=NOW)
    await box.finish(row.id, "done")
    assert await _state(pool, 1) == ("done", None)
    await box.finish(row.id, "ignored", "too late")  # a terminal row stays as it ended
    assert await _state(pool, 1) == ("done", None)


async def test_a_batch_is_finished_in_one_go_along_the_lifecycle(pool: asyncpg.Pool) -> None:
    box = PgInbox(pool)
    for n in range(4):
        await box.store(activity=_activity(n), actor_uri=AL, group_id=None, now=NOW)
    rows = await box.claim(limit=3, lease=LEASE, now=NOW)
    await box.finish(rows[2].id, "done")
    await box.finish_many([(rows[0].id, "done", None), (rows[1].id, "ignored", "not ours"),
                           (rows[2].id, "ignored", "too late")])  # fmt: skip
    assert [await _state(pool, n) for n in range(4)] == [
        ("done", None), ("ignored", "not ours"), ("done", None), ("queued", None),
    ]  # fmt: skip
    claimed = await pool.fetchval(
        "SELECT count(*) FROM inbox_activities WHERE locked_until IS NOT NULL"
    )
    assert claimed == 0
    with pytest.raises(IllegalTransition):
        await box.finish_many([(rows[0].id, "delivered", None)])


async def test_retries_back_off_then_fail(pool: asyncpg.Pool) -> None:
    box = PgInbox(pool)
    await box.store(activity=_activity(1), actor_uri=AL, group_id=None, now=NOW)
    now = NOW
    for attempt in range(1, MAX_ATTEMPTS + 1):
        (row,) = await box.claim(limit=1, lease=LEASE, now=now)
        assert row.attempts == attempt
        await box.retry_later(row, f"peer down ({attempt})", now)
        delay = min(3600, 5 * 2 ** (attempt - 1))
        if attempt < MAX_ATTEMPTS:
            assert (
                await box.claim(limit=1, lease=LEASE, now=now + timedelta(seconds=delay - 1)) == []
            )
        now += timedelta(seconds=delay)
    assert await _state(pool, 1) == ("failed", f"peer down ({MAX_ATTEMPTS})")
    assert await box.claim(limit=1, lease=LEASE, now=now + timedelta(days=1)) == []


async def test_the_admin_sees_what_came_to_the_group_and_from_whom_it_follows(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, bikes = await add_group("garden"), await add_group("bikes")
    box = PgInbox(pool)
    news = "https://n.example/groups/news"
    await set_following(pool, garden, news, "https://groups.test/f/1", NOW)
    await box.store(activity=_activity(1), actor_uri=AL, group_id=garden, now=NOW)
    await box.store(activity=_activity(2, news, "Announce"), actor_uri=news, group_id=None,
                    now=NOW)  # fmt: skip
    await box.store(activity=_activity(3), actor_uri=AL, group_id=bikes, now=NOW)
    seen = await inbox.received(pool, garden)
    assert [(r["id"], r["actor"], r["type"], r["state"]) for r in seen] == [
        (_activity(2)["id"], news, "Announce", "queued"),
        (_activity(1)["id"], AL, "Create", "queued"),
    ]
    assert seen[0]["activity"] == _activity(2, news, "Announce")
    assert seen[0]["received_at"] == NOW.isoformat()
    assert len(await inbox.received(pool, garden, limit=1)) == 1
    assert json.loads(json.dumps(seen))  # what the admin API sends as is


async def test_an_inbound_activity_cannot_end_in_an_undeclared_state() -> None:
    with pytest.raises(IllegalTransition):
        await PgInbox(NoDatabase()).finish(1, "delivered")
    with pytest.raises(IllegalTransition):
        await PgInbox(NoDatabase()).finish(1, "queued ")
    with pytest.raises(IllegalTransition):
        await PgInbox(NoDatabase()).store(
            activity={"id": "x"}, actor_uri="a", group_id=None, now=NOW, state="done"
        )


async def test_admitting_checks_the_instance_blocks_and_the_group_in_the_same_statement(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden = await add_group("garden")
    box = PgInbox(pool)
    woken: asyncio.Queue[str] = asyncio.Queue()

    def notified(*args: object) -> None:
        woken.put_nowait(str(args[2]))

    async def admit(n: int, actor: str = AL, host: str = "a.example", group: int | None = garden
                    ) -> str:  # fmt: skip
        return await box.admit(activity=_activity(n, actor), actor_uri=actor, host=host,
                               group_id=group, now=NOW)  # fmt: skip

    async with pool.acquire() as listener:
        await listener.add_listener(inbox.CHANNEL, notified)
        assert await admit(1) == "stored"
        assert await asyncio.wait_for(woken.get(), 5) == inbox.CHANNEL
        assert await admit(1) == "duplicate"
        await add_block(pool, group_id=garden, kind="domain", value="a.example", reason="", now=NOW)
        assert await admit(2) == "stored"  # a group's own block is the processor's business
        await add_block(pool, group_id=None, kind="domain", value="example", reason="", now=NOW)
        assert await admit(3) == "blocked"  # a subdomain of a blocked domain
        assert await admit(4, "https://b.test/users/bo", "b.test") == "stored"
        await add_block(pool, group_id=None, kind="actor", value="https://b.test/users/bo",
                        reason="", now=NOW)  # fmt: skip
        assert await admit(5, "https://b.test/users/bo", "b.test") == "blocked"
        assert await admit(6, "https://b.test/users/cy", "b.test", group=None) == "stored"
        assert await admit(7, "https://b.test/users/cy", "b.test", group=garden + 999) == (
            "no group"
        )
        await pool.execute("UPDATE groups SET deleted_at = now() WHERE id = $1", garden)
        assert await admit(8, "https://b.test/users/cy", "b.test") == "no group"
        await listener.remove_listener(inbox.CHANNEL, notified)
    stored = await pool.fetch("SELECT activity_id FROM inbox_activities ORDER BY id")
    assert [r["activity_id"] for r in stored] == [_activity(n)["id"] for n in (1, 2, 4, 6)]


class _Counting:
    """The pool, counting the statements sent through ``fetch``."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool, self.statements = pool, 0

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        self.statements += 1
        return await self.pool.fetch(query, *args)


async def test_activities_admitted_together_go_in_one_statement_each_with_its_outcome(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden = await add_group("garden")
    await add_block(pool, group_id=None, kind="domain", value="b.test", reason="", now=NOW)
    counting = _Counting(pool)
    box = PgInbox(counting)  # type: ignore[arg-type]

    async def admit(
        n: int, actor: str = AL, host: str = "a.example", group: int | None = garden,
        activity: dict[str, object] | None = None,
    ) -> str:  # fmt: skip
        return await box.admit(activity=activity or _activity(n, actor), actor_uri=actor,
                               host=host, group_id=group, now=NOW)  # fmt: skip

    outcomes = await asyncio.gather(
        admit(1), admit(2), admit(1), admit(3, "https://b.test/users/bo", "b.test"),
        admit(4, group=garden + 999), admit(5, group=None),
    )  # fmt: skip
    assert outcomes == ["stored", "stored", "duplicate", "blocked", "no group", "stored"]
    assert counting.statements == 1
    stored = await pool.fetch("SELECT activity_id FROM inbox_activities ORDER BY id")
    assert [r["activity_id"] for r in stored] == [_activity(n)["id"] for n in (1, 2, 5)]

    # A row the database refuses (jsonb holds no NUL) fails alone, the others are stored.
    poisoned = {**_activity(6), "content": "a\x00b"}
    results = await asyncio.gather(
        admit(7), admit(6, activity=poisoned), admit(8), return_exceptions=True
    )
    assert results[0] == "stored" and results[2] == "stored"
    assert isinstance(results[1], asyncpg.PostgresError)
    assert counting.statements == 1 + 1 + 3  # the batch, then each alone
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM inbox_activities WHERE activity_id = $1", _activity(6)["id"]
        )
        == 0
    )


async def _queue_many(pool: asyncpg.Pool, tag: str, count: int) -> None:
    """``count`` queued rows of about 1 KiB, in one statement (ids under ``/tag/``)."""
    await pool.execute(
        """
        INSERT INTO inbox_activities (activity_id, actor_uri, type, body, state, received_at)
        SELECT 'https://a.example/' || $2 || '/' || g, $1, 'Create',
               jsonb_build_object('content', repeat('x', 800)), 'queued', now()
        FROM generate_series(1, $3::int) AS g
        """,
        AL, tag, count,
    )  # fmt: skip


async def test_a_claim_walks_the_queue_in_order_however_long_it_is(pool: asyncpg.Pool) -> None:
    """A claim reads about the rows it takes, not the whole queue, even when the
    statistics are stale (the queue grew after the last ANALYZE) and the rows
    have moved on disk (claimed and finished ones): an ordered scan of the
    ``inbox_queued`` index with no sort, under the claim's own planning."""
    await _queue_many(pool, "done", 4000)
    await pool.execute("UPDATE inbox_activities SET state = 'done' WHERE id % 4 <> 0")
    await pool.execute("ANALYZE inbox_activities")  # a short queue, as the statistics know it
    await _queue_many(pool, "queued", 20000)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(inbox.CLAIM_PLANNING)
        plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {inbox.CLAIM}", NOW, NOW + LEASE, 100)

    def nodes(node: dict[str, object]) -> list[dict[str, object]]:
        children = node.get("Plans", [])
        assert isinstance(children, list)
        return [node, *(n for child in children for n in nodes(child))]

    found = nodes(json.loads(plan)[0]["Plan"])
    assert not [n for n in found if n["Node Type"] == "Sort"], found
    assert [n for n in found if n.get("Index Name") == "inbox_queued"], found
    claimed = await PgInbox(pool).claim(limit=100, lease=LEASE, now=NOW)
    first = await pool.fetchval(
        "SELECT min(id) FROM inbox_activities"
        " WHERE activity_id LIKE '%/done/%' AND state = 'queued'"
    )
    assert [row.id for row in claimed][:1] == [first]
    assert len(claimed) == 100

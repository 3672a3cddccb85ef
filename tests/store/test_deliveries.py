"""The outbound delivery queue (store/deliveries.py) in PostgreSQL: what it queues,
what a claim hands out (leases, host limits, unavailable hosts), who may end a row,
and the admin's view. The worker that POSTs is tested in tests/activitypub/."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg

from imago_fed.store import deliveries, peer_hosts
from imago_fed.store.deliveries import PgDeliveries
from tests.store.helpers import AddGroup

LEASE = timedelta(minutes=5)
PROBE = timedelta(hours=3)
ACTIVITY = "https://groups.test/activities/1"


async def _enqueue(pool: asyncpg.Pool, inboxes: list[str], n: int = 1, group: int | None = None):
    return await deliveries.enqueue(pool, activity_id=f"https://groups.test/activities/{n}",
                                    group_id=group, body="{}", inboxes=inboxes)  # fmt: skip


async def _claim(pool: asyncpg.Pool, limit: int = 10, per_host: int = 10):
    return await PgDeliveries(pool).claim(
        limit=limit, per_host=per_host, probe_interval=PROBE, lease=LEASE
    )


async def _rows(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM deliveries ORDER BY id")


async def test_enqueue_dedupes_by_inbox_is_idempotent_and_notifies(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    group_id = await add_group()
    notified = asyncio.Event()

    def wake(*_: object) -> None:
        notified.set()

    inboxes = [
        "https://a.example/inbox",
        "https://a.example/inbox",  # two followers on one shared inbox
        "https://a.example/users/x/inbox",
        "https://B.example:8443/inbox",
        "not a url",
        "ftp://c.example/inbox",
    ]
    async with pool.acquire() as listener:
        await listener.add_listener(deliveries.CHANNEL, wake)
        try:
            async with pool.acquire() as conn, conn.transaction():
                added = await deliveries.enqueue(
                    conn, activity_id=ACTIVITY, group_id=group_id, body=b'{"id": 1}',
                    inboxes=inboxes,
                )  # fmt: skip
                await asyncio.sleep(0.2)
                assert not notified.is_set()  # NOTIFY is delivered at commit, not before
            assert added == 3
            await asyncio.wait_for(notified.wait(), 5)
            again = await deliveries.enqueue(
                pool, activity_id=ACTIVITY, group_id=group_id, body='{"id": 1}', inboxes=inboxes
            )
            assert again == 0
        finally:
            await listener.remove_listener(deliveries.CHANNEL, wake)
    rows = await _rows(pool)
    assert [(r["inbox"], r["host"], r["state"]) for r in rows] == [
        ("https://a.example/inbox", "a.example", "queued"),
        ("https://a.example/users/x/inbox", "a.example", "queued"),
        ("https://B.example:8443/inbox", "b.example:8443", "queued"),
    ]
    assert rows[0]["body"] == '{"id": 1}'
    assert await _enqueue(pool, ["not a url"], n=2) == 0


async def test_a_claim_leases_due_rows_once_and_respects_the_host_limit(pool: asyncpg.Pool):
    for n in range(5):
        await _enqueue(pool, ["https://a.example/inbox", "https://b.example/inbox"], n=n)
    first = await _claim(pool, per_host=2)
    assert sorted(c.host for c in first) == ["a.example"] * 2 + ["b.example"] * 2
    assert all(c.attempts == 1 for c in first)
    # The leases still count: the hosts are full until rows are finished.
    assert await _claim(pool, per_host=2) == []
    await deliveries.mark_delivered(pool, first[0].id, 202)
    (next_one,) = await _claim(pool, per_host=2)
    assert next_one.host == first[0].host and next_one.id not in {c.id for c in first}
    assert len(await _claim(pool, limit=1, per_host=10)) == 1  # the limit holds too


async def test_claims_made_at_once_by_several_workers_share_rows_and_host_limits(
    pool: asyncpg.Pool, migrated_db: str
) -> None:
    """Every serving process delivers: their claims race, on connections of
    their own, and must still hand each row out once and keep each host to
    ``per_host`` rows in flight across all of them."""
    hosts = [f"https://h{n}.example/inbox" for n in range(20)]
    for n in range(6):
        await _enqueue(pool, hosts, n=n)
    conns = [await asyncpg.connect(migrated_db) for _ in range(4)]
    try:

        async def one(conn: asyncpg.Connection) -> list[deliveries.Claimed]:
            return await deliveries.claim(
                conn, limit=25, per_host=3, probe_interval=PROBE, lease=LEASE
            )

        claimed = [c for batch in await asyncio.gather(*map(one, conns)) for c in batch]
    finally:
        for conn in conns:
            await conn.close()
    ids = [c.id for c in claimed]
    assert len(ids) == len(set(ids)) == 60  # 20 hosts x 3: all there was room for
    per_host = {c.host: sum(1 for d in claimed if d.host == c.host) for c in claimed}
    assert set(per_host.values()) == {3}
    assert await _claim(pool, limit=100, per_host=3) == []


async def test_one_busy_host_does_not_crowd_out_the_others(pool: asyncpg.Pool) -> None:
    for n in range(30):
        await _enqueue(pool, ["https://busy.example/inbox"], n=n)
    await _enqueue(pool, ["https://quiet.example/inbox"], n=99)
    claimed = await _claim(pool, limit=40, per_host=4)
    hosts = [c.host for c in claimed]
    assert hosts.count("busy.example") == 4 and hosts.count("quiet.example") == 1


async def test_a_backlog_longer_than_the_claims_window_does_not_crowd_out_the_others(
    pool: asyncpg.Pool,
) -> None:
    """A claim first reads a window of the oldest due rows for their hosts; when
    one host's backlog fills that window and the host has no room left, the
    walk over every host still finds the others."""
    for n in range(60):  # far more than a claim of 4 reads in its window
        await _enqueue(pool, ["https://busy.example/inbox"], n=n)
    await _enqueue(pool, ["https://quiet.example/inbox"], n=99)
    first = await _claim(pool, limit=4, per_host=4)
    assert [c.host for c in first] == ["busy.example"] * 4
    second = await _claim(pool, limit=4, per_host=4)
    assert [c.host for c in second] == ["quiet.example"]


async def test_a_claim_brings_a_hosts_rows_together_and_can_cap_the_hosts(
    pool: asyncpg.Pool,
) -> None:
    for n in range(3):  # ids interleave the hosts: a, b, c, a, b, c, ...
        await _enqueue(pool, ["https://a.example/inbox", "https://b.example/inbox",
                              "https://c.example/inbox"], n=n)  # fmt: skip
    claimed = await PgDeliveries(pool).claim(
        limit=10, per_host=2, probe_interval=PROBE, lease=LEASE, hosts=2
    )
    assert [c.host for c in claimed] == ["a.example"] * 2 + ["b.example"] * 2
    assert claimed == sorted(claimed, key=lambda c: (c.host, c.id))
    # Hosts in the order of their oldest due row: all of c's rows before a's third.
    rest = await _claim(pool, limit=4, per_host=3)
    assert [c.host for c in rest] == ["a.example"] + ["c.example"] * 3
    assert (
        await PgDeliveries(pool).claim(
            limit=10, per_host=2, probe_interval=PROBE, lease=LEASE, hosts=0
        )
        == []
    )


async def test_many_rows_are_marked_delivered_at_once(pool: asyncpg.Pool) -> None:
    await _enqueue(pool, ["https://a.example/inbox", "https://b.example/inbox",
                          "https://c.example/inbox"])  # fmt: skip
    a, b, c = await _claim(pool)
    await PgDeliveries(pool).mark_dead(c, 410, "gone")
    await PgDeliveries(pool).mark_delivered_many([(a.id, 202), (b.id, 200), (c.id, 202)])
    rows = await _rows(pool)
    assert [(r["state"], r["last_status"], r["locked_until"]) for r in rows] == [
        ("delivered", 202, None), ("delivered", 200, None), ("dead", 410, None)
    ]  # fmt: skip
    await PgDeliveries(pool).mark_delivered_many([])


async def test_an_unavailable_host_gets_one_probe_once_its_interval_passed(pool: asyncpg.Pool):
    for n in range(3):
        await _enqueue(pool, ["https://down.example/inbox"], n=n)
    await pool.execute(
        "INSERT INTO peer_hosts (host, failure_days, unavailable, last_failure_at)"
        " VALUES ('down.example', 7, true, now())"
    )
    assert await _claim(pool) == []
    await pool.execute("UPDATE peer_hosts SET last_failure_at = now() - interval '4 hours'")
    assert len(await _claim(pool)) == 1  # one probe, however many rows wait
    assert await _claim(pool) == []


async def test_only_the_lease_holder_reschedules_or_kills_a_row(pool: asyncpg.Pool) -> None:
    await _enqueue(pool, ["https://a.example/inbox"])
    (held,) = await _claim(pool)
    await pool.execute("UPDATE deliveries SET locked_until = now() - interval '1 second'")
    (newer,) = await _claim(pool)  # the first worker's lease ran out; another took it
    assert newer.attempts == 2

    await deliveries.schedule_retry(pool, held, timedelta(minutes=1), 503, "stale")
    await deliveries.mark_dead(pool, held, 410, "stale")
    (row,) = await _rows(pool)
    assert (row["state"], row["last_error"]) == ("queued", None)

    await PgDeliveries(pool).schedule_retry(newer, timedelta(minutes=10), 503, "x" * 3000)
    (row,) = await _rows(pool)
    assert (row["last_status"], len(row["last_error"]), row["locked_until"]) == (503, 2000, None)
    assert await _claim(pool) == []  # in backoff
    due = await deliveries.seconds_until_next_due(pool)
    assert due is not None and 500 < due <= 600


async def test_dead_letters_are_listed_and_retried_with_attempts_reset(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    group_id = await add_group("garden")
    await _enqueue(pool, ["https://a.example/inbox", "https://b.example/inbox"], group=group_id)
    a, b = sorted(await _claim(pool), key=lambda c: c.id)
    await PgDeliveries(pool).mark_dead(a, 410, "gone")
    await deliveries.mark_delivered(pool, b.id, 202)
    await deliveries.mark_delivered(pool, a.id, 202)  # a dead row stays dead
    assert await deliveries.stats(pool) | {"oldest_queued_at": None} == {
        "queued": 0, "delivered": 1, "dead": 1, "in_flight": 0, "oldest_queued_at": None
    }  # fmt: skip

    (dead,) = await deliveries.dead_letters(pool, limit=10, after=None)
    assert (dead["id"], dead["group_slug"], dead["last_status"], dead["last_error"]) == (
        a.id, "garden", 410, "gone",
    )  # fmt: skip
    assert await deliveries.dead_letters(pool, limit=10, after=a.id) == []

    again = await deliveries.retry(pool, a.id)
    assert again is not None and (again["state"], again["attempts"]) == ("queued", 0)
    delivered = await deliveries.retry(pool, b.id)
    assert delivered is not None and delivered["state"] == "delivered"  # unchanged
    assert await deliveries.retry(pool, 999) is None
    (claimed,) = await _claim(pool)
    assert claimed.id == a.id and claimed.attempts == 1


async def test_rows_left_unsent_wait_with_their_attempt_given_back(pool: asyncpg.Pool) -> None:
    await _enqueue(pool, ["https://a.example/inbox", "https://a.example/x/inbox"])
    await pool.execute("UPDATE deliveries SET attempts = 3, last_error = 'HTTP 503'")
    a, b = await _claim(pool)
    assert (a.attempts, b.attempts) == (4, 4)
    await pool.execute("UPDATE deliveries SET locked_until = now() - interval '1 second'"
                       " WHERE id = $1", b.id)  # fmt: skip
    (newer,) = await _claim(pool)  # b's lease ran out; another worker took it
    await PgDeliveries(pool).postpone([a, b], timedelta(minutes=10))  # b: a stale holder
    rows = {r["id"]: r for r in await _rows(pool)}
    assert (rows[a.id]["attempts"], rows[a.id]["locked_until"]) == (3, None)
    assert rows[a.id]["last_error"] == "HTTP 503"  # that of its last real attempt
    assert (rows[b.id]["attempts"], rows[b.id]["locked_until"]) == (5, newer.locked_until)
    due = await deliveries.seconds_until_next_due(pool)
    assert due is not None and 500 < due <= 600
    await PgDeliveries(pool).postpone([], timedelta(minutes=1))


async def test_a_cut_drain_gives_leases_back(pool: asyncpg.Pool) -> None:
    await _enqueue(pool, ["https://a.example/inbox", "https://b.example/inbox"])
    claimed = await _claim(pool)
    assert (await deliveries.stats(pool))["in_flight"] == 2
    await PgDeliveries(pool).release([c.id for c in claimed])
    assert (await deliveries.stats(pool))["in_flight"] == 0
    assert len(await _claim(pool)) == 2


async def test_the_admin_list_of_hosts_counts_what_waits(pool: asyncpg.Pool) -> None:
    await _enqueue(pool, ["https://a.example/inbox", "https://b.example/inbox"])
    await peer_hosts.record_failure(pool, "a.example")
    await peer_hosts.record_success(pool, "b.example")
    hosts = await peer_hosts.list_hosts(pool, limit=10, after=None)
    assert [(h["host"], h["queued"], h["failure_days"]) for h in hosts] == [
        ("a.example", 1, 1), ("b.example", 1, 0),
    ]  # fmt: skip
    assert [h["host"] for h in await peer_hosts.list_hosts(pool, limit=10, after="a.example")] == [
        "b.example"
    ]

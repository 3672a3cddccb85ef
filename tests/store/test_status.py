"""The status dashboard's readings (store/status.py) in PostgreSQL: the queue as it
stands, the hourly chart rebuilt from the rows, and counts by state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from imago_fed.store import deliveries
from imago_fed.store.status import PgActivityCounts, PgDeliveryReadings
from tests.store.helpers import AddGroup, add_proposal


async def _delivery(pool: asyncpg.Pool, n: int, host: str, *, created: timedelta,
                    state: str = "queued", delivered: timedelta | None = None) -> None:  # fmt: skip
    await deliveries.enqueue(pool, activity_id=f"https://groups.test/a/{n}", group_id=None,
                             body="{}", inboxes=[f"https://{host}/inbox"])  # fmt: skip
    await pool.execute(
        """
        UPDATE deliveries SET created_at = now() - $2::interval, state = $3,
            delivered_at = now() - $4::interval
        WHERE activity_id = $1
        """,
        f"https://groups.test/a/{n}", created, state, delivered,
    )  # fmt: skip


async def test_the_queue_reading(pool: asyncpg.Pool) -> None:
    await _delivery(pool, 1, "a.example", created=timedelta(hours=2))
    await _delivery(pool, 2, "a.example", created=timedelta(minutes=5))
    await _delivery(pool, 3, "b.example", created=timedelta(days=1), state="dead")
    await _delivery(pool, 4, "b.example", created=timedelta(days=30), state="dead")  # long ago
    await _delivery(pool, 5, "c.example", created=timedelta(hours=1), state="delivered",
                    delivered=timedelta(minutes=50))  # fmt: skip
    since = datetime(2026, 1, 1, tzinfo=UTC)
    await pool.execute(
        "INSERT INTO peer_hosts (host, unavailable, failure_days, first_failure_at)"
        " VALUES ('b.example', true, 7, $1), ('d.example', false, 2, $1)",
        since,
    )
    reading = await PgDeliveryReadings(pool).queue()
    assert (reading.depth, reading.dead, reading.failing_peers) == (2, 1, [("b.example", since)])
    assert reading.oldest is not None
    age = datetime.now(UTC) - reading.oldest
    assert timedelta(hours=1, minutes=59) < age < timedelta(hours=2, minutes=5)


async def test_the_hourly_chart_counts_waiting_and_delivered_rows(pool: asyncpg.Pool) -> None:
    await _delivery(pool, 1, "a.example", created=timedelta(hours=3))  # waiting since
    await _delivery(pool, 2, "a.example", created=timedelta(hours=2, minutes=30),
                    state="delivered", delivered=timedelta(minutes=1))  # fmt: skip
    hours = await PgDeliveryReadings(pool).hourly(datetime.now(UTC) - timedelta(hours=4))
    assert len(hours) == 5 and hours == sorted(hours)
    waiting = [w for _, w, _ in hours]
    delivered = [d for _, _, d in hours]
    assert waiting[0] == 0 and waiting[-1] == 1  # the delivered row stopped waiting
    assert max(waiting) == 2
    assert sum(delivered) == 1 and 1 in delivered[-2:]  # a minute ago: this hour or the last


async def test_counts_by_state(pool: asyncpg.Pool, add_group: AddGroup) -> None:
    counts = PgActivityCounts(pool)
    assert (await counts.proposals_by_state(), await counts.ballots()) == ({}, 0)
    garden = await add_group()
    await add_proposal(pool, garden)
    await add_proposal(pool, garden, state="open")
    await add_proposal(pool, garden, title="Another")
    await _delivery(pool, 1, "a.example", created=timedelta(0))
    await _delivery(pool, 2, "b.example", created=timedelta(0), state="dead")
    assert await counts.proposals_by_state() == {"draft": 2, "open": 1}
    assert await counts.deliveries_by_state() == {"queued": 1, "dead": 1}

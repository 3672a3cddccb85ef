"""What we know of each remote host (store/peer_hosts.py): its health by failure
days, and the signature scheme it accepts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg

from imago_fed.store import deliveries, peer_hosts
from imago_fed.store.peer_hosts import PgPeerHosts

DAY = datetime(2026, 1, 1, 12, tzinfo=UTC)


async def _row(pool: asyncpg.Pool, host: str) -> asyncpg.Record:
    return await pool.fetchrow("SELECT * FROM peer_hosts WHERE host = $1", host)


async def test_failure_days_make_a_host_unavailable_and_success_resets_it(pool: asyncpg.Pool):
    for n in range(6):
        for hour in (0, 5):  # two failures on one day count once
            at = DAY + timedelta(days=n, hours=hour)
            assert not await peer_hosts.record_failure(pool, "down.example", at=at)
    row = await _row(pool, "down.example")
    assert row["failure_days"] == 6 and row["first_failure_at"] == DAY
    assert await peer_hosts.record_failure(pool, "down.example", at=DAY + timedelta(days=6))
    await PgPeerHosts(pool).record_success("down.example")
    row = await _row(pool, "down.example")
    assert (row["failure_days"], row["unavailable"], row["first_failure_at"]) == (0, False, None)
    # The first failure after a success counts, even on the same day as the last one.
    assert not await peer_hosts.record_failure(pool, "down.example", at=DAY + timedelta(days=6))
    assert (await _row(pool, "down.example"))["failure_days"] == 1


async def test_the_threshold_is_the_callers(pool: asyncpg.Pool) -> None:
    hosts = PgPeerHosts(pool)
    assert not await hosts.record_failure("flaky.example", after_days=2)
    assert await pool.execute(
        "UPDATE peer_hosts SET last_failure_at = last_failure_at - interval '1 day'"
    )
    assert await hosts.record_failure("flaky.example", after_days=2)
    assert await peer_hosts.record_failure(pool, "once.example", after_days=1)


async def test_an_admin_reset_forgets_failures_and_wakes_the_workers(pool: asyncpg.Pool):
    woken = asyncio.Event()

    def wake(*_: object) -> None:
        woken.set()

    await peer_hosts.record_failure(pool, "down.example", after_days=1)
    async with pool.acquire() as listener:
        await listener.add_listener(deliveries.CHANNEL, wake)
        try:
            assert await peer_hosts.reset(pool, "down.example")
            await asyncio.wait_for(woken.wait(), 5)
        finally:
            await listener.remove_listener(deliveries.CHANNEL, wake)
    row = await _row(pool, "down.example")
    assert (row["failure_days"], row["unavailable"]) == (0, False)
    assert not await peer_hosts.reset(pool, "unknown.example")


async def test_the_signature_scheme_is_remembered_per_host(pool: asyncpg.Pool) -> None:
    hosts = PgPeerHosts(pool)
    assert await hosts.signature_scheme("a.example") is None
    await hosts.remember_signature_scheme("a.example", "rfc9421")
    await hosts.record_failure("a.example", after_days=7)  # health does not touch it
    assert await hosts.signature_scheme("a.example") == "rfc9421"
    await hosts.remember_signature_scheme("a.example", "cavage")
    assert await hosts.signature_scheme("a.example") == "cavage"
    assert await hosts.signature_scheme("b.example") is None
    await hosts.remember_signature_scheme("c.example", "rfc9421")
    assert await hosts.signature_schemes(["a.example", "b.example", "c.example"]) == {
        "a.example": "cavage", "c.example": "rfc9421"
    }  # fmt: skip


async def test_many_successes_are_recorded_at_once(pool: asyncpg.Pool) -> None:
    hosts = PgPeerHosts(pool)
    await hosts.record_failure("a.example", after_days=7)
    await hosts.record_successes(["b.example", "a.example", "b.example"])  # repeats are fine
    rows = await pool.fetch(
        "SELECT host, failure_days, last_success_at FROM peer_hosts ORDER BY host"
    )
    assert [(r["host"], r["failure_days"]) for r in rows] == [("a.example", 0), ("b.example", 0)]
    assert all(r["last_success_at"] is not None for r in rows)
    await hosts.record_successes([])

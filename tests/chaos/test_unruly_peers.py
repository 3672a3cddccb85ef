"""Receiving hosts that misbehave do not stall delivery to the others.

One follower per host, each host a loopback server of its own:

    good      202 at once
    slow      202 after 2 s
    huge      202 with a 20 MB body (we read 64 KiB of it, then hang up)
    failing   503 every time
    closing   hangs up without an answer (connection closed mid-request)
    hanging   never answers (our client gives up after its 15 s deadline)

The group re-shares a few posts to all of them at once. The good, slow and
huge hosts get every Announce, the good one within seconds, while the
hanging host holds its share of the worker's slots (at most ``per_host``
POSTs in flight there, never more). The failing, closing and hanging hosts
get no retry storm: each row failed once is scheduled again later with
backoff (about 30 s), the host's failure is recorded, and nothing is dead.
A post after all that still reaches the good host at once: no worker is
stuck.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx

from tests.activitypub.actor_host import actor_host
from tests.chaos.world import SLUG, Recorder, add_member, follow, send, signed_creates
from tests.interop.instance import running_instance
from tests.receiver import Receiver, Reply, Request, receiver

POSTS = 5  # x2 Announces = 10 deliveries per host
PER_HOST = 4  # the delivery worker's per-host limit (WorkerConfig)
HUGE = 20 * 1024 * 1024


async def slow(request: Request) -> Reply:
    await asyncio.sleep(2)
    return Reply(202)


async def huge(request: Request) -> Reply:
    return Reply(202, {"Content-Type": "text/plain"}, b"x" * HUGE)


async def failing(request: Request) -> Reply:
    return Reply(503, {"Retry-After": "1"}, b"down for maintenance")


async def closing(request: Request) -> Reply:
    raise ConnectionResetError("hung up without an answer")


async def hanging(request: Request) -> Reply:
    await asyncio.sleep(3600)
    return Reply(202)


BEHAVIOURS = {
    "good": None, "slow": slow, "huge": huge,
    "failing": failing, "closing": closing, "hanging": hanging,
}  # fmt: skip


@contextlib.asynccontextmanager
async def hosts() -> AsyncIterator[dict[str, tuple[Receiver, Recorder]]]:
    async with contextlib.AsyncExitStack() as stack:
        found = {}
        for name, behaviour in BEHAVIOURS.items():
            recorder = Recorder(behaviour)
            found[name] = (await stack.enter_async_context(receiver(recorder)), recorder)
        yield found


async def rows_by_host(dsn: str) -> dict[str, dict[str, object]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """
            SELECT host,
                   count(*) FILTER (WHERE state = 'delivered') AS delivered,
                   count(*) FILTER (WHERE state = 'dead') AS dead,
                   count(*) FILTER (WHERE state = 'queued' AND locked_until > now()) AS in_flight,
                   -- a row left unsent waits too, its attempt given back (0)
                   count(*) FILTER (WHERE state = 'queued' AND locked_until IS NULL
                                    AND next_attempt > now() + interval '10 seconds')
                       AS backing_off,
                   max(attempts) AS attempts
            FROM deliveries WHERE body::jsonb->>'type' = 'Announce' GROUP BY host
            """
        )
        failing = await conn.fetch("SELECT host FROM peer_hosts WHERE failure_days > 0")
    finally:
        await conn.close()
    found: dict[str, dict[str, object]] = {r["host"]: dict(r) for r in rows}
    for r in failing:
        found.setdefault(r["host"], {})["failure_recorded"] = True
    return found


async def test_unruly_hosts_do_not_stall_the_others(
    tmp_path: Path, pg_admin_dsn: str, report
) -> None:
    async with (
        hosts() as peers,
        actor_host() as host,
        running_instance("unruly", tmp_path, pg_admin_dsn, IMAGO_LOG_LEVEL="info") as instance,
    ):
        await instance.create_group(SLUG, posting_policy="anyone")
        for index, (name, (rx, _)) in enumerate(peers.items()):
            await follow(instance, add_member(host, name, index % 2, f"{rx.base_url}/inbox"))
        poster = add_member(host, "poster", 2)
        host_of = {name: f"127.0.0.1:{rx.port}" for name, (rx, _) in peers.items()}
        good = peers["good"][1]

        began = time.monotonic()
        posts = signed_creates(poster, instance, POSTS, "unruly")
        shared = [p.activity_id for p in posts] + [p.object_id for p in posts]
        async with httpx.AsyncClient(timeout=30) as client:
            for post in posts:
                assert await send(client, post) == 202

        def got_all(name: str) -> bool:
            reshared = peers[name][1].reshared()
            return all(reshared[x] >= 1 for x in shared)

        # While the hanging host holds its slots, the others are served.
        most_in_flight = 0

        async def others_served() -> bool:
            nonlocal most_in_flight
            rows = await rows_by_host(instance.dsn)
            hanging_now = int(rows.get(host_of["hanging"], {}).get("in_flight", 0) or 0)
            most_in_flight = max(most_in_flight, hanging_now)
            return all(got_all(name) for name in ("good", "slow", "huge"))

        await instance.wait_for(others_served, timeout=40, what="good, slow, huge served")
        good_done = time.monotonic() - began

        async def bad_ones_backing_off() -> dict[str, dict[str, object]] | None:
            rows = await rows_by_host(instance.dsn)
            hanging_now = int(rows.get(host_of["hanging"], {}).get("in_flight", 0) or 0)
            nonlocal most_in_flight
            most_in_flight = max(most_in_flight, hanging_now)
            ready = (
                all(
                    int(rows.get(host_of[n], {}).get("backing_off", 0) or 0) == 2 * POSTS
                    for n in ("failing", "closing")
                )
                and int(rows.get(host_of["hanging"], {}).get("backing_off", 0) or 0) >= 1
            )
            return rows if ready else None

        rows = await instance.wait_for(bad_ones_backing_off, timeout=60, what="backoff")

        # No worker is stuck: a new post reaches the good host at once.
        [late] = signed_creates(poster, instance, 1, "late")
        sent_late = time.monotonic()
        async with httpx.AsyncClient(timeout=30) as client:
            assert await send(client, late) == 202

        async def late_arrived() -> bool:
            return late.activity_id in good.reshared()

        await instance.wait_for(late_arrived, timeout=20, what="a later post delivered")
        late_s = time.monotonic() - sent_late

        figures = {
            name: {
                "requests": len(peers[name][0].requests),
                "shortest_retry_gap_s": _rounded(peers[name][1].shortest_gap()),
                "delivered": rows.get(host_of[name], {}).get("delivered"),
                "backing_off": rows.get(host_of[name], {}).get("backing_off"),
            }
            for name in BEHAVIOURS
        }
        report(
            "figures",
            good_slow_huge_served_s=round(good_done, 1),
            later_post_s=round(late_s, 1),
            most_in_flight_at_hanging_host=most_in_flight,
            **{name: f"{v}" for name, v in figures.items()},
        )
        for name in ("good", "slow", "huge"):
            assert rows[host_of[name]]["delivered"] >= 2 * POSTS, (name, rows)
        for name in ("failing", "closing", "hanging"):
            stats = rows[host_of[name]]
            assert stats["delivered"] == 0 and stats["dead"] == 0, (name, stats)
            assert stats.get("failure_recorded"), (name, stats)
            # Backoff, not a storm: the same activity comes again 30 s later (±20 %).
            gap = peers[name][1].shortest_gap()
            assert gap is None or gap >= 20, (name, gap)
        # A host that answers 5xx gets every row tried; one that hangs up mid-request
        # is failing, so after the first POST of a host's chain the rest wait their
        # backoff unsent (delivery.py, "a network error ... ends the chain").
        assert got_all("failing"), "failing"
        assert peers["closing"][0].requests, "closing"
        assert most_in_flight <= PER_HOST
        assert late_s < 10


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)

"""The database taken away under load, twice: a clean stop, then a crash.

    senders ── signed Create ──> serve ──> PostgreSQL (the test's own)
    /readyz poller ────────────>   │        stop -m fast ··· 4 s ··· start
                                   │        stop -m immediate ··· 4 s ··· start
                                   └──> Announces ──> follower

While the database is away the server stays up and says so: ``/readyz``
answers 503, an inbox POST answers 503 with ``Retry-After`` (a sender keeps
the activity and comes back; a 500 or a 401 could make it give up), never
anything else. When the database is back the server reconnects by itself:
the pool, the LISTEN connections of the workers (seen in
``pg_stat_activity``), the inbox processor and the delivery worker.
Nothing acknowledged is lost; what was refused is sent again and processed
once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from pathlib import Path

import asyncpg
import httpx

from tests.activitypub.actor_host import actor_host
from tests.chaos.private_pg import private_postgres
from tests.chaos.test_serve_killed import FAST_LEASES
from tests.chaos.world import SLUG, Post, Recorder, add_member, counts, follow, send, signed_creates
from tests.interop.instance import Instance
from tests.pg import scratch_database
from tests.receiver import receiver

POSTS = 200
SENDERS = 4
PACE_S = 0.1  # between two POSTs of a sender: the load outlasts both outages
OUTAGE_S = 4.0
CHANNELS = {"imago_inbox", "imago_deliveries", "imago_group_events"}


class Load:
    """Senders working through ``posts`` until told to stop, at a steady pace.

    A post refused (503) goes back in the queue and is sent again a little
    later, as a fediverse server retries; ``refusals`` counts every answer
    that was not 202, ``answers`` keeps the last answer of each post.
    """

    def __init__(self, posts: list[Post]) -> None:
        self.queue: asyncio.Queue[Post] = asyncio.Queue()
        for post in posts:
            self.queue.put_nowait(post)
        self.answers: dict[str, int | str] = {}
        self.refusals: Counter[int | str] = Counter()
        self.without_retry_after = 0
        self.stop = asyncio.Event()

    def acknowledged(self) -> int:
        return sum(1 for a in self.answers.values() if a == 202)

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(20, connect=2)) as client:
            await asyncio.gather(*(self._sender(client) for _ in range(SENDERS)))

    async def _sender(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set() and not self.queue.empty():
            post = self.queue.get_nowait()
            try:
                response = await client.post(post.url, content=post.body, headers=post.headers)
            except httpx.HTTPError as exc:
                answer: int | str = type(exc).__name__
            else:
                answer = response.status_code
                if answer == 503 and not response.headers.get("Retry-After"):
                    self.without_retry_after += 1
            self.answers[post.activity_id] = answer
            if answer != 202:
                self.refusals[answer] += 1
                self.queue.put_nowait(post)  # to be sent again
                await asyncio.sleep(0.5)  # (Retry-After says 5 s; a test is impatient)
            await asyncio.sleep(PACE_S)


async def readiness(base_url: str, seen: Counter[int | str], stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(timeout=6) as client:
        while not stop.is_set():
            try:
                seen[(await client.get(f"{base_url}/readyz")).status_code] += 1
            except httpx.HTTPError as exc:
                seen[type(exc).__name__] += 1
            await asyncio.sleep(0.2)


async def listening(dsn: str) -> set[str]:
    """The channels the server's connections LISTEN on (their last statement)."""
    with contextlib.suppress(OSError, asyncpg.PostgresError):
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            rows = await conn.fetch(
                "SELECT query FROM pg_stat_activity"
                " WHERE application_name = 'imago-fed' AND query LIKE 'LISTEN %'"
            )
        finally:
            await conn.close()
        return {row["query"].split('"')[1] for row in rows if '"' in row["query"]}
    return set()


async def test_database_restarted_under_load(tmp_path: Path, report) -> None:
    follower = Recorder()
    with private_postgres() as pg:
        async with (
            scratch_database(pg.dsn(), prefix="imago_chaos") as dsn,
            receiver(follower) as follower_rx,
            actor_host() as host,
        ):
            instance = Instance("dbrestart", tmp_path, dsn, **FAST_LEASES)
            instance.start()
            try:
                await _scenario(instance, pg, host, follower, follower_rx.base_url, report)
            finally:
                instance.stop()
            log = instance.log_path.read_text(errors="replace")
            assert "unhandled error" not in log, instance.log_tail()  # no 500
            assert "had failed" not in log, instance.log_tail()  # no worker died


async def _scenario(instance, pg, host, follower: Recorder, follower_url: str, report) -> None:
    await instance.create_group(SLUG, posting_policy="anyone")
    await follow(instance, add_member(host, "reader", 0, f"{follower_url}/inbox"))
    poster = add_member(host, "poster", 1)
    [warm] = signed_creates(poster, instance, 1, "warm")
    async with httpx.AsyncClient(timeout=30) as client:
        assert await send(client, warm) == 202
    await instance.wait_for(lambda: _all_listening(instance.dsn), what="listeners")

    posts = signed_creates(poster, instance, POSTS, "run")
    ids = [post.activity_id for post in posts]
    load = Load(posts)
    ready: Counter[int | str] = Counter()
    stop_polling = asyncio.Event()
    traffic = asyncio.create_task(load.run())
    poller = asyncio.create_task(readiness(instance.base_url, ready, stop_polling))
    outages = []
    try:
        for mode in ("fast", "immediate"):
            floor = load.acknowledged() + 20
            await instance.wait_for(lambda f=floor: _at_least(load, f), timeout=60, what="load")
            refused_before = load.refusals[503]
            began = time.monotonic()
            await asyncio.to_thread(pg.stop, mode)
            await asyncio.sleep(OUTAGE_S)
            await asyncio.to_thread(pg.start)
            back = await instance.wait_for(
                lambda: _ready(instance.base_url), timeout=60, what="ready again"
            )
            outages.append(round(time.monotonic() - began, 1))
            assert load.refusals[503] > refused_before, mode  # the outage met the traffic
            assert back
        delivered_at_restart = sum(follower.arrivals.values())
        floor = load.acknowledged() + 20
        await instance.wait_for(lambda: _at_least(load, floor), timeout=60, what="load after")
    finally:
        load.stop.set()
        stop_polling.set()
        await asyncio.wait_for(asyncio.gather(traffic, poller), timeout=60)

    # Answers while the database was away: 503 with Retry-After, nothing else.
    assert set(load.refusals) <= {503}, load.refusals
    assert load.without_retry_after == 0
    assert ready[503] > 0 and set(ready) <= {200, 503}, ready
    acknowledged = [i for i in ids if load.answers.get(i) == 202]
    listeners = await instance.wait_for(
        lambda: _all_listening(instance.dsn), timeout=30, what="LISTEN again after the restarts"
    )

    # The senders send again what was refused or never sent.
    again: Counter[int | str] = Counter()
    async with httpx.AsyncClient(timeout=30) as client:
        for post in posts:
            if load.answers.get(post.activity_id) != 202:
                again[await send(client, post)] += 1
    assert set(again) <= {202}, again

    async def all_done() -> dict[str, int] | None:
        now = await counts(instance.dsn, ids)
        done = now["processed"] == POSTS and now["delivered"] == now["announces"]
        return now if done else None

    final = await instance.wait_for(all_done, timeout=120, what="everything processed")
    report(
        "figures",
        sent=POSTS,
        acknowledged=len(acknowledged),
        refused_503=load.refusals[503],
        readyz_503=ready[503],
        outages_s=outages,
        resent=sum(again.values()),
        stored=final["stored"],
        processed=final["processed"],
        announces_queued=final["announces"],
        delivered=final["delivered"],
        duplicated_deliveries=follower.duplicates,
        lost=sum(1 for i in ids if follower.reshared()[i] == 0),
        listening=sorted(listeners),
    )
    assert final["stored"] == final["processed"] == POSTS
    assert final["announces"] == 2 * POSTS + 2 and final["dead"] == 0
    assert all(follower.reshared()[i] >= 1 for i in ids)
    # The delivery worker went on after the restarts.
    assert sum(follower.arrivals.values()) > delivered_at_restart


async def _at_least(load: Load, floor: int) -> bool:
    return load.acknowledged() >= floor or load.queue.empty()


async def _ready(base_url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=3) as client:
            return (await client.get(f"{base_url}/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


async def _all_listening(dsn: str) -> set[str] | None:
    channels = await listening(dsn)
    return channels if channels >= CHANNELS else None

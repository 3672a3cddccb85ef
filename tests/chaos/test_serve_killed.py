"""``imago-fed serve`` killed with SIGKILL while it takes inbox POSTs and works them off.

    senders ── signed Create xN ──> serve ──202──> inbox_activities ──> worker
                                      ✕ kill -9 (a third acknowledged)   └─> Announce x2
    senders retry what got no 202 ─> serve (restarted) ─────────────────────> follower

The promise: every POST answered 202 was stored before the answer, so it
is processed after the restart (the killed process's claims come back when
their lease runs out); a POST that got no answer is sent again, as any
fediverse server does, and is then processed once whether or not the killed
process had stored it (activity ids are unique). Each Create is re-shared
exactly twice (Announce of the activity, of the object), and reaches the
follower; a delivery in flight at the kill may reach it twice (at least
once, bounded by the deliveries leased then), never zero times.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import asyncpg
import httpx

from tests.activitypub.actor_host import actor_host
from tests.chaos.world import SLUG, Post, Recorder, add_member, counts, follow, send, signed_creates
from tests.interop.instance import running_instance
from tests.receiver import receiver

POSTS = 240
SENDERS = 8
# Claims of a killed process come back after 5 s instead of minutes.
FAST_LEASES = {
    "IMAGO_FEDERATION_INBOX_LEASE_SECONDS": "5",
    "IMAGO_FEDERATION_DELIVERY_LEASE_SECONDS": "5",
    "IMAGO_LOG_LEVEL": "info",
}


async def send_all(posts: list[Post], answers: dict[str, int | str], kill_at: asyncio.Event,
                   threshold: int) -> None:  # fmt: skip
    """Send every post with ``SENDERS`` in flight; set ``kill_at`` once ``threshold`` got 202."""
    queue: asyncio.Queue[Post] = asyncio.Queue()
    for post in posts:
        queue.put_nowait(post)

    async def sender(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            post = queue.get_nowait()
            answers[post.activity_id] = await send(client, post)
            if sum(1 for a in answers.values() if a == 202) >= threshold:
                kill_at.set()

    async with httpx.AsyncClient(timeout=httpx.Timeout(10, connect=2)) as client:
        await asyncio.gather(*(sender(client) for _ in range(SENDERS)))


async def test_kill_9_mid_traffic_loses_nothing(tmp_path: Path, pg_admin_dsn: str, report) -> None:
    follower = Recorder()
    async with (
        receiver(follower) as follower_rx,
        actor_host() as host,
        running_instance("killed", tmp_path, pg_admin_dsn, **FAST_LEASES) as instance,
    ):
        await instance.create_group(SLUG, posting_policy="anyone")
        await follow(instance, add_member(host, "reader", 0, f"{follower_rx.base_url}/inbox"))
        poster = add_member(host, "poster", 1)
        # The poster's key is fetched once and cached before the traffic starts.
        [warm] = signed_creates(poster, instance, 1, "warm")
        async with httpx.AsyncClient(timeout=30) as client:
            assert await send(client, warm) == 202
        posts = signed_creates(poster, instance, POSTS, "run")
        ids = [post.activity_id for post in posts]
        assert instance.process is not None

        answers: dict[str, int | str] = {}
        kill_at = asyncio.Event()
        traffic = asyncio.create_task(send_all(posts, answers, kill_at, POSTS // 3))
        await asyncio.wait_for(kill_at.wait(), timeout=120)
        instance.process.kill()  # SIGKILL: no drain, no goodbye
        assert instance.process.wait(timeout=10) == -9
        killed_with = await counts(instance.dsn, ids)
        leased_at_kill = await _leased(instance.dsn)
        await asyncio.wait_for(traffic, timeout=120)

        first = Counter(a if isinstance(a, int) else "no answer" for a in answers.values())
        acknowledged = [i for i in ids if answers.get(i) == 202]
        assert set(first) <= {202, "no answer"}, first  # never a 4xx or 5xx for a good POST
        assert killed_with["stored"] >= len(acknowledged)  # stored before answered

        instance.start()  # same port, same database
        retried = [post for post in posts if answers.get(post.activity_id) != 202]
        async with httpx.AsyncClient(timeout=30) as client:
            again = Counter([await send(client, post) for post in retried])
        assert set(again) <= {202}, again

        async def all_done() -> dict[str, int] | None:
            now = await counts(instance.dsn, ids)
            done = now["processed"] == POSTS and now["delivered"] == now["announces"]
            return now if done else None

        final = await instance.wait_for(all_done, timeout=120, what="everything processed")
        reshared = follower.reshared()
        lost = [i for i in ids if reshared[i] == 0]
        report(
            "figures",
            sent=POSTS,
            acknowledged_before_kill=len(acknowledged),
            unanswered_then_resent=len(retried),
            stored_at_kill=killed_with["stored"],
            processed_at_kill=killed_with["processed"],
            stored=final["stored"],
            processed=final["processed"],
            announces_queued=final["announces"],
            delivered=final["delivered"],
            duplicated_deliveries=follower.duplicates,
            deliveries_leased_at_kill=leased_at_kill,
            lost=len(lost),
        )
        assert killed_with["processed"] < POSTS  # the kill did cut the work short
        assert final["stored"] == final["processed"] == POSTS  # one row each, all processed
        assert final["announces"] == 2 * POSTS + 2 and final["dead"] == 0  # (+ the warm-up's)
        assert lost == []
        assert all(reshared[i] >= 1 for i in ids)
        # Only a delivery in flight at the kill may arrive twice.
        assert follower.duplicates <= leased_at_kill, (follower.duplicates, leased_at_kill)


async def _leased(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM deliveries WHERE state = 'queued' AND locked_until > now()"
        )
    finally:
        await conn.close()

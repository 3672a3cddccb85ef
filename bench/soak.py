"""Soak: mixed traffic at half the measured capacity, for a long while.

    python -m bench.soak [--duration 1800] [--sample 15] [--no-matrix]
                         [--capacity-posts 300] [--fraction 0.5]

A real ``imago-fed serve`` (own database, log level info, workers inside)
hosts one open group, bridged to a real Synapse (``--no-matrix``: without).
Around it, on loopback: an actor host with remote members, three follower
inboxes that record what they get, and a Matrix user in the group's general
room.

1. Capacity, measured first: a burst of ``--capacity-posts`` signed
   ``Create(Note)`` to the group's inbox, timed until every one is stored,
   processed and its two Announces delivered to the three followers. That
   end-to-end rate (posts/s) is the capacity: acceptance alone is faster,
   but a rate the workers cannot keep up with grows the queues by design.
2. Soak: ``--fraction`` (0.5) of that rate in operations per second for
   ``--duration`` seconds, the mix in ``MIX``: inbox posts, new follows,
   votes on an open proposal (admin API), Matrix messages in the general
   room (bridged to the followers), admin reads (groups, received,
   deliveries, status). Every ``--sample`` seconds: the server's resident
   memory (``/proc/<pid>/status`` VmRSS), the queues (inbox activities,
   deliveries, Matrix events still queued), answers that were not 2xx, and
   error lines in the server's log.
3. Drain: traffic stops; the queues must empty within a minute.

Verdict (exit status 1 if any fails): memory flat (the mean of the last
quarter of the samples within 10 % and 30 MB of the mean of the second
quarter: the first quarter is warm-up: caches, pools, the JIT-less
interpreter's own arenas), queues bounded (no sample above what ten
seconds of traffic would queue, and empty after the drain), every answer
2xx, no error in the log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx

from bench._support import machine
from tests.activitypub.actor_host import actor_host
from tests.chaos.world import SLUG, Recorder, add_member, follow, send, signed_creates
from tests.interop.instance import Instance, bridged_instance, running_instance
from tests.matrix_hs.synapse import Synapse
from tests.pg import admin_dsn
from tests.receiver import receiver

#: Operations in one cycle of the mix (repeated): mostly inbox posts.
MIX = ["post"] * 12 + ["admin"] * 3 + ["vote"] * 2 + ["matrix"] * 2 + ["follow"]
FOLLOWERS = 3
IN_FLIGHT = 16


@dataclass(frozen=True)
class Options:
    duration: float = 1800.0
    sample: float = 15.0
    matrix: bool = True
    capacity_posts: int = 300
    fraction: float = 0.5


@dataclass
class Sample:
    at: float  # seconds since the soak began
    rss_mb: float
    inbox: int
    deliveries: int
    matrix: int
    errors: int


@dataclass
class Traffic:
    done: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)  # "kind status"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def queues(conn: asyncpg.Connection) -> tuple[int, int, int]:
    row = await conn.fetchrow(
        """
        SELECT (SELECT count(*) FROM inbox_activities WHERE state = 'queued') AS inbox,
               (SELECT count(*) FROM deliveries WHERE state = 'queued') AS deliveries,
               (SELECT count(*) FROM matrix_events WHERE state = 'queued') AS matrix
        """
    )
    return row["inbox"], row["deliveries"], row["matrix"]


def error_lines(instance: Instance) -> list[str]:
    found = []
    for line in instance.log_path.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            if json.loads(line).get("level") in ("error", "critical"):
                found.append(line)
    return found


@contextlib.asynccontextmanager
async def server(
    options: Options, workdir: Path, admin: str
) -> AsyncIterator[tuple[Instance, Any]]:
    """The instance (bridged to a fresh Synapse unless ``--no-matrix``) and the homeserver."""
    env = {"IMAGO_LOG_LEVEL": "info"}
    if not options.matrix:
        async with running_instance("soak", workdir, admin, **env) as instance:
            yield instance, None
        return

    def synapse(registration: dict[str, Any], *, name: str) -> Synapse:
        return Synapse(workdir / name, registration)

    async with bridged_instance("soak", workdir, admin, synapse) as (instance, hs, _, _):
        yield instance, hs


class World:
    """What the operations act on; each operation is one request (or two)."""

    def __init__(self, instance: Instance, host, hs, traffic: Traffic) -> None:
        self.instance, self.host, self.hs, self.traffic = instance, host, hs, traffic
        self.poster = add_member(host, "poster", 3)
        self.members: list[Any] = []
        self.inboxes: list[str] = []
        self.counter = itertools.count()
        self.proposal: int | None = None
        self.human: httpx.AsyncClient | None = None
        self.general: str | None = None
        self.http = httpx.AsyncClient(timeout=30)

    async def setup(self, follower_inboxes: list[str]) -> None:
        self.inboxes = follower_inboxes
        await self.instance.create_group(SLUG, posting_policy="anyone")
        for n, inbox in enumerate(follower_inboxes):
            member = add_member(self.host, f"follower{n}", n % 3, inbox)
            await follow(self.instance, member)
            self.members.append(member)
        opened = await self.instance.api(
            "POST", f"/groups/{SLUG}/proposals",
            json={"action": "publish", "title": "Soak: publish the minutes", "duration_s": 864000},
        )  # fmt: skip
        assert opened.status_code == 201, opened.text
        self.proposal = opened.json()["id"]
        if self.hs is not None:
            _, token = await self.hs.aregister_user("soaker", "pw-soaker-123")
            self.human = self.hs.async_client(token)
            await _poll(lambda: self._join(f"#_imago_{SLUG}:localhost"))
            self.general = await _poll(lambda: self._join(f"#_imago_{SLUG}_general:localhost"))

    async def _join(self, alias: str) -> str | None:
        assert self.human is not None
        response = await self.human.post(f"/_matrix/client/v3/join/{quote(alias)}", json={})
        return response.json()["room_id"] if response.is_success else None

    async def close(self) -> None:
        await self.http.aclose()
        if self.human is not None:
            await self.human.aclose()

    async def run(self, kind: str) -> None:
        status = await getattr(self, f"_{kind}")()
        if 200 <= status < 300:
            self.traffic.done[kind] += 1
        else:
            self.traffic.refused[f"{kind} {status}"] += 1

    async def _post(self) -> int | str:
        [post] = signed_creates(self.poster, self.instance, 1, f"soak{next(self.counter)}")
        return await send(self.http, post)

    async def _follow(self) -> int | str:
        n = next(self.counter)
        member = add_member(self.host, f"newcomer{n}", n % 3, self.inboxes[n % len(self.inboxes)])
        inbox = f"{self.instance.actor(SLUG)}/inbox"
        body = json.dumps(member.activity("Follow", self.instance.actor(SLUG))).encode()
        answer = await self.http.post(inbox, content=body, headers=member.sign(inbox, body))
        return answer.status_code

    async def _vote(self) -> int:
        voter = self.members[next(self.counter) % len(self.members)].id
        answer = await self.instance.api(
            "POST", f"/proposals/{self.proposal}/votes",
            json={"voter": voter, "ballot": [next(self.counter) % 2]},
        )  # fmt: skip
        return answer.status_code

    async def _matrix(self) -> int:
        if self.human is None or self.general is None:
            return await self._admin()
        n = next(self.counter)
        sent = await self.human.put(
            f"/_matrix/client/v3/rooms/{quote(self.general)}/send/m.room.message/soak{n}",
            json={"msgtype": "m.text", "body": f"soak message {n}"},
        )
        return sent.status_code

    async def _admin(self) -> int:
        paths = ["/groups", f"/groups/{SLUG}/received", "/deliveries/stats", "/peers"]
        answer = await self.instance.api("GET", paths[next(self.counter) % len(paths)])
        return answer.status_code


async def _poll(probe, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := await probe():
            return result
        await asyncio.sleep(0.5)
    raise RuntimeError("setup step did not complete within a minute")


async def capacity(world: World, conn: asyncpg.Connection, count: int) -> float:
    """Posts per second through the whole pipeline: accepted, processed, delivered."""
    posts = signed_creates(world.poster, world.instance, count, "capacity")
    began = time.monotonic()
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(post) -> int | str:
        async with gate:
            return await send(world.http, post)

    answers = Counter(await asyncio.gather(*(one(p) for p in posts)))
    assert set(answers) == {202}, answers
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        inbox, deliveries, _ = await queues(conn)
        if inbox == 0 and deliveries == 0:
            break
        await asyncio.sleep(0.2)
    else:
        raise RuntimeError("the capacity burst did not drain within 5 minutes")
    return count / (time.monotonic() - began)


async def soak(world: World, conn: asyncpg.Connection, rate: float, options: Options,
               pid: int) -> list[Sample]:  # fmt: skip
    samples: list[Sample] = []
    began = time.monotonic()
    gate = asyncio.Semaphore(IN_FLIGHT)
    tasks: set[asyncio.Task[None]] = set()

    async def one(kind: str) -> None:
        async with gate:
            try:
                await world.run(kind)
            except httpx.HTTPError as exc:
                world.traffic.refused[f"{kind} {type(exc).__name__}"] += 1

    async def sampler() -> None:
        while True:
            inbox, deliveries, matrix = await queues(conn)
            samples.append(
                Sample(
                    round(time.monotonic() - began, 1), round(rss_mb(pid), 1), inbox,
                    deliveries, matrix, len(error_lines(world.instance)),
                )
            )  # fmt: skip
            print(f"  {samples[-1]}  done {sum(world.traffic.done.values())}", flush=True)
            await asyncio.sleep(options.sample)

    sampling = asyncio.create_task(sampler())
    try:
        for n, kind in enumerate(itertools.cycle(MIX)):
            due = began + n / rate
            if due - began >= options.duration:
                break
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            task = asyncio.create_task(one(kind))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    finally:
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling
    return samples


def verdict(samples: list[Sample], drained: bool, traffic: Traffic, errors: list[str],
            rate: float) -> list[str]:  # fmt: skip
    """What failed (empty: the soak passed), with the figures."""
    failed = []
    quarter = max(1, len(samples) // 4)
    settled = statistics.mean(s.rss_mb for s in samples[quarter : 2 * quarter] or samples)
    last = statistics.mean(s.rss_mb for s in samples[-quarter:])
    growth = last - settled
    print(f"memory: {settled:.1f} MB after warm-up, {last:.1f} MB at the end ({growth:+.1f} MB)")
    if growth > max(30.0, 0.10 * settled):
        failed.append(f"memory grew {growth:+.1f} MB ({growth / settled:+.0%})")
    bound = max(50, int(rate * 10 * 4))  # ten seconds of traffic, each post x4 rows at most
    worst = max(max(s.inbox, s.deliveries, s.matrix) for s in samples)
    print(f"queues: largest sample {worst} rows (bound {bound}); drained after: {drained}")
    if worst > bound:
        failed.append(f"a queue reached {worst} rows (bound {bound})")
    if not drained:
        failed.append("the queues did not drain within a minute")
    print(f"traffic: {dict(traffic.done)}; not 2xx: {dict(traffic.refused) or 'none'}")
    if traffic.refused:
        failed.append(f"answers not 2xx: {dict(traffic.refused)}")
    print(f"errors in the server's log: {len(errors)}")
    if errors:
        failed.append(f"{len(errors)} error lines, first: {errors[0][:300]}")
    return failed


async def run(options: Options) -> bool:
    with admin_dsn() as admin, tempfile.TemporaryDirectory(prefix="imago-soak-") as work:
        followers = [Recorder() for _ in range(FOLLOWERS)]
        async with contextlib.AsyncExitStack() as stack:
            inboxes = [
                f"{(await stack.enter_async_context(receiver(r))).base_url}/inbox"
                for r in followers
            ]
            host = await stack.enter_async_context(actor_host())
            instance, hs = await stack.enter_async_context(server(options, Path(work), admin))
            conn = await asyncpg.connect(instance.dsn)
            stack.push_async_callback(conn.close)
            print(machine(await conn.fetchval("SHOW server_version")))
            traffic = Traffic()
            world = World(instance, host, hs, traffic)
            stack.push_async_callback(world.close)
            await world.setup(inboxes)
            assert instance.process is not None
            pid = instance.process.pid

            measured = await capacity(world, conn, options.capacity_posts)
            rate = measured * options.fraction
            print(
                f"capacity: {measured:.1f} posts/s end to end (accepted, processed, delivered "
                f"to {FOLLOWERS} followers); soak at {rate:.1f} operations/s for "
                f"{options.duration:.0f} s, mix {dict(Counter(MIX))} per {len(MIX)}"
            )
            samples = await soak(world, conn, rate, options, pid)
            drained = False
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if await queues(conn) == (0, 0, 0):
                    drained = True
                    break
                await asyncio.sleep(1)
            failed = verdict(samples, drained, traffic, error_lines(instance), rate)
    for line in failed:
        print(f"FAILED: {line}")
    if not failed:
        print("soak passed: memory flat, queues bounded and drained, every answer 2xx, no error")
    return not failed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--duration", type=float, default=Options.duration, help="seconds")
    parser.add_argument("--sample", type=float, default=Options.sample, help="seconds")
    parser.add_argument("--no-matrix", action="store_true", help="no Synapse, no Matrix traffic")
    parser.add_argument("--capacity-posts", type=int, default=Options.capacity_posts)
    parser.add_argument("--fraction", type=float, default=Options.fraction)
    args = parser.parse_args(argv)
    options = Options(
        duration=args.duration, sample=args.sample, matrix=not args.no_matrix,
        capacity_posts=args.capacity_posts, fraction=args.fraction,
    )  # fmt: skip
    sys.exit(0 if asyncio.run(run(options)) else 1)


if __name__ == "__main__":
    main()

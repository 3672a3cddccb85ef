"""Inbound throughput: signed ``Create(Note)`` POSTs to a group's inbox.

    python -m bench.inbox [--count 3000] [--concurrency 32] [--duration 60]

A real ``imago-fed serve`` (its own scratch database, workers running as in
production, log level info) hosts a group with posting policy "anyone". An
actor host on loopback serves a few remote actors and their keys. Every
activity is built and signed (cavage, RSA-2048) before the clock starts,
with distinct ids. Then a load generator keeps ``--concurrency`` POSTs in
flight until ``--count`` are sent or ``--duration`` seconds pass.

Reported: activities verified *and stored* per second (rows in
``inbox_activities``, which must equal the 202 answers), p50/p99 latency,
where the CPU went, and how long the background processor took to work
through what was stored. Baseline, same server, same generator, same run:
``GET /healthz``. Ratio = inbox throughput / healthz throughput. Target (the
issue): more than 1,000 inbound activities/s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench._support import (
    CpuMeter,
    LoadResult,
    PreparedRequest,
    Profiler,
    add_serve_workers,
    drive,
    machine,
    percentile,
)
from bench.summary import Row, format_table, process_tree_memory_rows
from imago_fed.activitypub.vocab import AS_PUBLIC
from tests.activitypub.actor_host import ActorHost, RemoteActor, actor_host
from tests.interop.fedify_peer import FedifyPeer
from tests.interop.instance import Instance, running_instance
from tests.pg import admin_dsn

SLUG = "bench"
TARGET_PER_SECOND = 1000
FEDIFY_TARGET_RATIO = 8  # our accepted/s over the Fedify peer's, same run


def signed_creates(
    actors: list[RemoteActor],
    instance: Instance,
    count: int,
    tag: str,
    inbox: str | None = None,
) -> list[PreparedRequest]:
    """``count`` distinct Create(Note) activities, signed now (valid for an hour).

    They are addressed to our group; ``inbox`` sends the same activities
    elsewhere (the Fedify baseline's shared inbox), signed for that URL.
    """
    group = instance.actor(SLUG)
    inbox = inbox or f"{group}/inbox"
    prepared = []
    for i in range(count):
        actor = actors[i % len(actors)]
        note = {
            "id": f"{actor.id}/notes/{tag}-{i}",
            "type": "Note",
            "attributedTo": actor.id,
            "content": f"<p>benchmark post {tag}-{i}: seed swap on Saturday</p>",
            "to": [AS_PUBLIC, group],
            "cc": [f"{actor.id}/followers"],
            "audience": group,
        }
        activity = actor.activity(
            "Create", note, to=[AS_PUBLIC, group], cc=[f"{actor.id}/followers"]
        )
        body = json.dumps(activity).encode()
        prepared.append(PreparedRequest("POST", inbox, actor.sign(inbox, body), body))
    return prepared


async def _counts(conn: asyncpg.Connection) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT count(*) AS stored, count(*) FILTER (WHERE state <> 'queued') AS processed"
        " FROM inbox_activities"
    )
    return row["stored"], row["processed"]


SUSTAIN_SHARE = 0.8  # of the acceptance rate just measured: the load the target is set at


@dataclass(frozen=True)
class Options:
    count: int = 3000
    concurrency: int = 32
    duration: float = 60.0
    client: str = "raw"
    actors: int = 4
    workers: bool = True  # the inbox processor and delivery worker run inside serve
    profile: Path | None = None  # py-spy collapsed stacks of the server, inbox phase
    fedify: bool = True  # the Fedify peer's inbox as the baseline, after ours
    sustain: float = 0.0  # seconds of load at ``sustain_share`` of the measured rate (0: none)
    #: The share of the measured acceptance rate the sustained load runs at (a
    #: lower one than the target's tells which rate processing does keep up with).
    sustain_share: float = SUSTAIN_SHARE
    serve_workers: int = 0  # serving processes ([serve] workers; 0: one per core)


async def run(options: Options) -> list[Row]:
    """Run the benchmark, print the figures; return the summary table's rows."""
    env = {"IMAGO_LOG_LEVEL": "info", "IMAGO_SERVE_WORKERS": str(options.serve_workers)}
    if not options.workers:
        env["IMAGO_FEDERATION_WORKERS_IN_SERVE"] = "false"
    with admin_dsn() as admin, tempfile.TemporaryDirectory(prefix="imago-bench-") as work:
        async with (
            running_instance("bench_inbox", Path(work), admin, **env) as instance,
            actor_host() as host,
        ):
            conn = await asyncpg.connect(instance.dsn)
            try:
                return await _measure(instance, host, conn, options)
            finally:
                await conn.close()


async def _measure(
    instance: Instance, host: ActorHost, conn: asyncpg.Connection, options: Options
) -> list[Row]:
    print(machine(await conn.fetchval("SHOW server_version")))
    await instance.create_group(SLUG, posting_policy="anyone")
    actors = [host.add(f"member{i}", key_index=i) for i in range(options.actors)]
    assert instance.process is not None
    pid = instance.process.pid
    count, concurrency = options.count, options.concurrency
    load_options = {
        "concurrency": concurrency,
        "duration": options.duration,
        "client": options.client,
    }

    # Warm-up: the server fetches each actor's key once (then it is cached),
    # and every code path runs once before anything is timed.
    warm = signed_creates(actors, instance, options.actors * 5, "warm")
    warmed = await drive(warm, concurrency=options.actors, duration=30)
    assert warmed.ok(202) == len(warm), f"warm-up failed: {warmed.statuses}\n{instance.log_tail()}"
    health = [PreparedRequest("GET", f"{instance.base_url}/healthz")] * count
    await drive(health[:200], concurrency=concurrency, duration=10)

    started = time.perf_counter()
    creates = signed_creates(actors, instance, count, "run")
    signing = time.perf_counter() - started
    print(f"inbox: {count} activities signed ahead in {signing:.1f} s (not timed)")
    if options.workers:  # the warm-up's processing must not overlap the measures
        await _wait_drained(conn, timeout=30)

    async with CpuMeter(pid, conn) as base_cpu:
        base = await drive(health, **load_options)
    stored_before, _ = await _counts(conn)
    with Profiler(pid, options.profile):
        async with CpuMeter(pid, conn) as inbox_cpu:
            load = await drive(creates, **load_options)
    stored_after, processed_at_end = await _counts(conn)
    stored = stored_after - stored_before

    _report(base, load, stored, concurrency, base_cpu, inbox_cpu)
    if options.workers:
        drain_started = time.perf_counter()
        async with CpuMeter(pid, conn) as drain_cpu:
            drained = await _wait_drained(conn, timeout=60)
        drain = time.perf_counter() - drain_started
        backlog = stored_after - processed_at_end
        if backlog:
            print(
                f"inbox: processing alone: server {drain_cpu.server / backlog * 1000:.1f} ms and "
                f"PostgreSQL {drain_cpu.database / backlog * 1000:.1f} ms of CPU a row; "
                f"{drain_cpu.summary()}"
            )
        print(
            f"inbox: background processing (same process): {backlog} of {stored_after} rows still "
            "queued when the load stopped; "
            + (
                f"drained {drain:.1f} s later ({backlog / drain:,.0f} activities/s processed)"
                if drained and drain > 0
                else "NOT drained within 60 s"
            )
        )
    rate = stored / load.elapsed if load.elapsed else 0.0
    rows = []
    if options.sustain and options.workers:
        rows += await _sustain(actors, instance, conn, rate, options)
    if options.fedify:
        fedify = await _fedify_baseline(actors, instance, options, load_options)
        print(f"inbox: baseline Fedify 1.5.9 inbox (concurrency {concurrency}): {fedify.summary()}")
        rows += [
            Row(
                "inbox accepted (vs Fedify)",
                rate,
                "/s",
                FEDIFY_TARGET_RATIO,
                baseline=fedify.ok(202) / fedify.elapsed if fedify.elapsed else None,
                baseline_name="Fedify 1.5.9",
            ),
            Row(
                "inbox p99 latency (vs Fedify)",
                percentile(load.latencies, 99) * 1000,
                "ms",
                None,
                better="lower",
                baseline=percentile(fedify.latencies, 99) * 1000,
                baseline_name="Fedify 1.5.9",
            ),
        ]
    else:
        rows.append(Row("inbox p99 latency", percentile(load.latencies, 99) * 1000, "ms", None))
    rows += [
        Row(
            "inbox accepted (vs /healthz)",
            rate,
            "/s",
            TARGET_PER_SECOND,
            on="value",
            baseline=base.per_second,
            baseline_name="healthz",
        ),
    ]
    return rows + process_tree_memory_rows("inbox: server", pid)


SUSTAIN_TARGET_MS = 5000.0  # p99 from accepted to re-shared


async def _sustain(
    actors: list[RemoteActor],
    instance: Instance,
    conn: asyncpg.Connection,
    accepted_rate: float,
    options: Options,
) -> list[Row]:
    """``--sustain S``: S seconds of posts at 80 % of the acceptance rate, paced
    (``--sustain-share`` another share; below 80 % the row carries no target).

    Samples the queue (rows still 'queued') every second while the load runs
    and until it is drained, then reads for each post how long it took from
    the 202 (``received_at``) to its second Announce stored (``published_at``
    in the outbox): both times are the server's clock.
    """
    rate = accepted_rate * options.sustain_share
    count = int(rate * options.sustain)
    creates = signed_creates(actors, instance, count, "sustain")
    print(f"inbox: sustained load: {count} posts at {rate:,.0f}/s for {options.sustain:.0f} s")
    depths: list[tuple[float, int]] = []
    started = time.perf_counter()
    stop = asyncio.Event()

    async def sample() -> None:
        own = await asyncpg.connect(instance.dsn)  # ``conn`` waits for the drain meanwhile
        try:
            while not stop.is_set():
                depth = await own.fetchval(
                    "SELECT count(*) FROM inbox_activities WHERE state = 'queued'"
                )
                depths.append((time.perf_counter() - started, depth))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
        finally:
            await own.close()

    sampler = asyncio.create_task(sample())
    try:
        load = await drive(
            creates, concurrency=max(64, options.concurrency), duration=options.sustain + 10,
            rate=rate, client=options.client,
        )  # fmt: skip
        drained = await _wait_drained(conn, timeout=60)
    finally:
        stop.set()
        await sampler
    delays = [
        float(row["delay"])
        for row in await conn.fetch(
            """
            SELECT extract(epoch FROM max(o.published_at) - i.received_at) AS delay
            FROM inbox_activities i
            JOIN outbox o ON o.object_id = i.body -> 'object' ->> 'id'
            WHERE i.activity_id LIKE '%/sustain-%' OR i.body -> 'object' ->> 'id' LIKE '%/sustain-%'
            GROUP BY i.id, i.received_at
            """
        )
    ]
    print(f"inbox: sustained: {load.summary()}")
    print(
        "inbox: sustained: queue depth (rows queued) by second: "
        + " ".join(f"{t:.0f}s:{d}" for t, d in depths)
    )
    p50 = percentile(delays, 50) * 1000 if delays else float("nan")
    p99 = percentile(delays, 99) * 1000 if delays else float("nan")
    print(
        f"inbox: sustained: {len(delays)} of {load.ok(202)} accepted posts re-shared"
        f"{'' if drained else ' (queue NOT drained within 60 s of the end)'}; "
        f"accepted -> re-shared p50 {p50:,.0f} ms, p99 {p99:,.0f} ms"
    )
    during = [d for t, d in depths if t <= load.elapsed]
    return [
        Row(
            f"inbox sustained {rate:,.0f}/s ({options.sustain_share:.0%}): accepted->shared p99",
            p99 if len(delays) == load.ok(202) else float("inf"),
            "ms",
            SUSTAIN_TARGET_MS if options.sustain_share >= SUSTAIN_SHARE else None,
            better="lower",
            on="value",
        ),
        Row(
            "inbox sustained: max queue depth",
            float(max(during, default=0)),
            "rows",
            None,
            better="lower",
        ),
    ]


async def _fedify_baseline(
    actors: list[RemoteActor],
    instance: Instance,
    options: Options,
    load_options: dict[str, Any],
) -> LoadResult:
    """The same generator and the same activities against the Fedify peer's shared inbox.

    The peer runs with stock Fedify rules (``strict=False``: the test
    harness's extra signature check off), so Fedify verifies each HTTP
    signature once, as a Fedify server would; it fetches each actor's key
    from the same actor host as ours does. A warm-up fills its key cache.
    """
    with FedifyPeer("bench", strict=False) as peer:
        inbox = peer.shared_inbox_url
        warm = signed_creates(actors, instance, options.actors * 5, "fedify-warm", inbox)
        warmed = await drive(warm, concurrency=options.actors, duration=30)
        assert warmed.ok(202) == len(warm), f"Fedify warm-up failed: {warmed.statuses}"
        creates = signed_creates(actors, instance, options.count, "fedify-run", inbox)
        load = await drive(creates, **load_options)
        received = await asyncio.to_thread(peer.received, "Create")
        accepted = load.ok(202)
        if len(received) < accepted:
            print(f"inbox: WARNING: Fedify answered 202 {accepted} times, recorded {len(received)}")
        return load


def _report(
    base: LoadResult,
    load: LoadResult,
    stored: int,
    concurrency: int,
    base_cpu: CpuMeter,
    inbox_cpu: CpuMeter,
) -> None:
    accepted = load.ok(202)
    rate = stored / load.elapsed if load.elapsed else 0.0
    print(f"inbox: baseline GET /healthz (concurrency {concurrency}): {base.summary()}")
    print(f"inbox:   {base_cpu.summary()}")
    print(f"inbox: POST signed Create(Note) (concurrency {concurrency}): {load.summary()}")
    print(f"inbox:   {inbox_cpu.summary()}")
    if stored != accepted:
        print(f"inbox: WARNING: {accepted} answers 202 but {stored} rows stored")
    ratio = rate / base.per_second if base.per_second else 0.0
    verdict = "met" if rate > TARGET_PER_SECOND else "NOT met"
    print(
        f"inbox: {stored} verified+stored activities at {rate:,.0f}/s vs healthz "
        f"{base.per_second:,.0f}/s: ratio {ratio:.2f}; target > {TARGET_PER_SECOND}/s {verdict}"
    )


async def _wait_drained(conn: asyncpg.Connection, timeout: float) -> bool:
    """Wait (bounded) until the processor has handled every stored row."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stored, processed = await _counts(conn)
        if processed >= stored:
            return True
        await asyncio.sleep(0.1)
    return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.inbox", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--count", type=int, default=3000, help="activities to send (3000)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (32)")
    parser.add_argument("--duration", type=float, default=60, help="time cap per phase, s (60)")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: raw keep-alive connections (default) or one httpx.AsyncClient",
    )
    parser.add_argument(
        "--no-workers",
        action="store_true",
        help="serve without the inbox processor and delivery worker (receiving alone)",
    )
    parser.add_argument("--no-fedify", action="store_true", help="skip the Fedify peer baseline")
    parser.add_argument(
        "--sustain",
        type=float,
        default=0,
        metavar="S",
        help="then S seconds of posts at 80%% of the measured rate: queue depth, accepted->shared",
    )
    parser.add_argument(
        "--sustain-share",
        type=float,
        default=SUSTAIN_SHARE,
        metavar="F",
        help="the sustained load's share of the measured rate (default 0.8, the target's)",
    )
    add_serve_workers(parser)
    parser.add_argument(
        "--profile", type=Path, help="write py-spy collapsed stacks of the server's inbox phase"
    )
    args = parser.parse_args(argv)
    options = Options(
        count=args.count,
        concurrency=args.concurrency,
        duration=args.duration,
        client=args.client,
        workers=not args.no_workers,
        profile=args.profile,
        fedify=not args.no_fedify,
        sustain=args.sustain,
        sustain_share=args.sustain_share,
        serve_workers=args.serve_workers,
    )
    print(format_table(asyncio.run(run(options))))


if __name__ == "__main__":
    main()

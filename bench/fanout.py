"""Fan-out: one post into a group with 10,000 followers on 1,000 hosts.

    python -m bench.fanout [--followers 10000] [--hosts 1000] [--timeout 90]
                           [--serve-workers N] [--deliver-from every|first]

Setup (not measured): a real ``imago-fed serve`` (own scratch database,
workers inside serve as in production, log level info; one serving process
per core unless ``--serve-workers``, each delivering unless ``--deliver-from
first``); a receiver process
(``bench/_receivers.py``) listening on 1,000 loopback addresses
127.0.1.1 ... 127.0.4.250, one port, answering 202; 10,000 followers
written straight into the instance's database (``remote_actors`` with an
inbox and a shared inbox on one of those hosts, ``group_followers``
accepted), ten per host.

Measured: a follower POSTs a signed ``Create(Note)`` to the group's inbox
the normal way; the group re-shares it twice (Announce of the activity,
Announce of the note), i.e. 2 activities x 1,000 shared inboxes = 2,000
POSTs, not 20,000. The clock runs from that inbound POST until every
``deliveries`` row is 'delivered'. Checked: the POSTs the receivers got
(each host exactly once per activity, at its shared inbox), and a sample
of their signatures against the group's public key (from its actor
document), with :func:`imago_fed.activitypub.signatures.parse_signed_request`.

Baseline, same run, same receivers: the benchmark process itself POSTs the
same number of similar bodies to the same shared inboxes (same order, 32 in
flight like the delivery worker, unsigned). Ratio = fan-out time / raw POST
time: how far the server is from what the receivers can absorb.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bench._support import (
    CpuMeter,
    PreparedRequest,
    Profiler,
    add_serve_workers,
    drive,
    machine,
)
from bench.summary import Row, process_tree_memory_rows
from imago_fed.activitypub.signatures import SignatureError, parse_signed_request
from imago_fed.activitypub.signatures.cavage import sign_request_cavage
from imago_fed.activitypub.vocab import AS_PUBLIC
from tests.interop.instance import Instance, running_instance
from tests.pg import admin_dsn

SLUG = "fanout"
ANNOUNCES = 2  # per post: Announce(activity) + Announce(object id)
SAMPLE = 25  # received POSTs whose signatures are checked
BASELINE_ROUNDS = 3


@dataclass(frozen=True)
class Options:
    followers: int = 10_000
    hosts: int = 1_000
    concurrency: int = 32  # baseline POSTs in flight (the delivery worker's global_limit)
    timeout: float = 90.0  # for the fan-out to complete
    client: str = "raw"
    profile: Path | None = None
    serve_workers: int = 0  # serving processes ([serve] workers; 0: one per core)
    deliver_from: str = "every"  # serving process ([serve] deliver_from_every_process)


class Receivers:
    """The receiver process and its stdin/stdout control channel."""

    def __init__(self, process: asyncio.subprocess.Process, port: int, hosts: list[str]) -> None:
        self.process, self.port, self.hosts = process, port, hosts

    def shared_inbox(self, host: str) -> str:
        return f"http://{host}:{self.port}/inbox"

    async def ask(self, command: str) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command.encode() + b"\n")
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        if not line:
            raise RuntimeError("the receiver process exited")
        return json.loads(line)


@contextlib.asynccontextmanager
async def receivers(count: int) -> AsyncIterator[Receivers]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench._receivers", "--hosts", str(count),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        limit=64 * 1024 * 1024,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        if not line:
            raise RuntimeError("the receiver process did not start")
        ready = json.loads(line)
        yield Receivers(process, ready["port"], ready["hosts"])
    finally:
        if process.returncode is None:
            assert process.stdin is not None
            process.stdin.close()  # EOF: it exits
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def insert_followers(
    conn: asyncpg.Connection, group_id: int, rx: Receivers, count: int, poster_pem: str
) -> str:
    """Write ``count`` accepted followers spread over the hosts; return the first one's URI.

    The first follower has a real key (it posts); the others need none.
    """
    now = datetime.now(UTC)
    actors, follows = [], []
    for i in range(count):
        host = rx.hosts[i % len(rx.hosts)]
        uri = f"http://{host}:{rx.port}/users/f{i}"
        key_id, pem = (f"{uri}#main-key", poster_pem) if i == 0 else (None, None)
        actors.append(
            (uri, host, "Person", f"f{i}", None, f"{uri}/inbox", rx.shared_inbox(host),
             key_id, pem, "{}", now)
        )  # fmt: skip
        follows.append((group_id, uri, f"{uri}/follows/{group_id}", "accepted", now))
    async with conn.transaction():
        await conn.copy_records_to_table(
            "remote_actors",
            records=actors,
            columns=[
                "uri", "host", "type", "preferred_username", "name", "inbox", "shared_inbox",
                "key_id", "public_key_pem", "document", "fetched_at",
            ],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "group_followers",
            records=follows,
            columns=["group_id", "actor_uri", "follow_id", "state", "created_at"],
        )
    await conn.execute("ANALYZE remote_actors; ANALYZE group_followers")
    return actors[0][0]


def baseline_requests(rx: Receivers, body_size: int) -> list[PreparedRequest]:
    """What the fan-out sends, without us: each activity to every shared inbox."""
    requests = []
    for n in range(ANNOUNCES):
        for host in rx.hosts:
            document = {"id": f"http://bench.invalid/activities/{n}", "type": "Announce"}
            padding = max(0, body_size - len(json.dumps(document)) - 12)
            document["content"] = "x" * padding
            body = json.dumps(document).encode()
            headers = {"Content-Type": "application/activity+json"}
            requests.append(PreparedRequest("POST", rx.shared_inbox(host), headers, body))
    return requests


async def deliveries_state(conn: asyncpg.Connection) -> asyncpg.Record:
    return await conn.fetchrow(
        """
        SELECT count(*) AS total,
               count(*) FILTER (WHERE state = 'delivered') AS delivered,
               count(*) FILTER (WHERE state = 'dead') AS dead,
               count(DISTINCT activity_id) AS activities,
               count(DISTINCT inbox) AS inboxes,
               max(attempts) AS max_attempts,
               extract(epoch FROM min(created_at))::float8 AS first_queued,
               extract(epoch FROM max(delivered_at))::float8 AS last_delivered
        FROM deliveries
        """
    )


async def run(options: Options) -> list[Row]:
    """Run the benchmark, print the figures; return the summary table's rows."""
    with admin_dsn() as admin, tempfile.TemporaryDirectory(prefix="imago-bench-") as work:
        async with (
            receivers(options.hosts) as rx,
            running_instance(
                "bench_fanout",
                Path(work),
                admin,
                IMAGO_LOG_LEVEL="info",
                IMAGO_SERVE_WORKERS=str(options.serve_workers),
                IMAGO_SERVE_DELIVER_FROM_EVERY_PROCESS=str(options.deliver_from == "every"),
            ) as instance,
        ):
            conn = await asyncpg.connect(instance.dsn)
            try:
                return await _measure(instance, rx, conn, options)
            finally:
                await conn.close()


async def _delivery_workers_listening(conn: asyncpg.Connection, options: Options) -> None:
    """Wait for every delivering process's worker (a LISTEN each): the server
    answers once its first process is up, and on a busy machine the others
    can take seconds more to start (they would join the fan-out late)."""
    processes = options.serve_workers or len(os.sched_getaffinity(0))
    wanted = processes if options.deliver_from == "every" else 1
    deadline = time.monotonic() + 60
    listening = 0
    while time.monotonic() < deadline:
        listening = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            """ AND query = 'LISTEN "imago_deliveries"'"""
        )
        if listening >= wanted:
            break
        await asyncio.sleep(0.2)
    print(f"fanout: {listening} of {processes} serving processes deliver (wanted {wanted})")


async def _measure(
    instance: Instance, rx: Receivers, conn: asyncpg.Connection, options: Options
) -> list[Row]:
    print(machine(await conn.fetchval("SHOW server_version")))
    await _delivery_workers_listening(conn, options)
    expected = ANNOUNCES * options.hosts
    await instance.create_group(SLUG)
    group_id = await conn.fetchval("SELECT id FROM groups WHERE slug = $1", SLUG)
    group_uri = instance.actor(SLUG)
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
        actor = await http.get(group_uri, headers={"Accept": "application/activity+json"})
    group_key = actor.json()["publicKey"]
    public_key = serialization.load_pem_public_key(group_key["publicKeyPem"].encode())

    started = time.perf_counter()
    poster_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    poster_pem = (
        poster_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    poster = await insert_followers(conn, group_id, rx, options.followers, poster_pem)
    print(
        f"fanout: setup: {options.followers:,} followers on {len(rx.hosts):,} loopback hosts "
        f"(127.0.1.1 ... {rx.hosts[-1]}, port {rx.port}) written in "
        f"{time.perf_counter() - started:.1f} s (not timed)"
    )

    # The post, built and signed before the clock starts.
    inbox = f"{group_uri}/inbox"
    note = {
        "id": f"{poster}/notes/1",
        "type": "Note",
        "attributedTo": poster,
        "content": "<p>Seed swap on Saturday, bring what you have.</p>",
        "to": [AS_PUBLIC, group_uri],
        "cc": [f"{poster}/followers"],
        "audience": group_uri,
    }
    create = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{poster}/activities/1",
        "type": "Create",
        "actor": poster,
        "object": note,
        "to": note["to"],
        "cc": note["cc"],
    }
    body = json.dumps(create).encode()
    headers = {"Content-Type": "application/activity+json"}
    headers |= sign_request_cavage(
        "POST", inbox, headers, body, f"{poster}#main-key", poster_key, datetime.now(UTC)
    )

    # Baseline: what the receivers absorb from a plain POST loop (median of a few rounds:
    # each is short, so one stray scheduling hiccup would weigh too much).
    raw_requests = baseline_requests(rx, body_size=len(body) + 400)
    rounds = []
    async with CpuMeter(None, None, {"receivers": rx.process.pid}) as raw_cpu:
        for _ in range(BASELINE_ROUNDS):
            rounds.append(
                await drive(
                    raw_requests,
                    concurrency=options.concurrency,
                    duration=options.timeout,
                    client=options.client,
                )
            )
            raw_stats = await rx.ask("stats")
            await rx.ask("reset")
    raw = sorted(rounds, key=lambda r: r.elapsed)[len(rounds) // 2]
    assert instance.process is not None

    # The fan-out.
    with Profiler(instance.process.pid, options.profile):
        async with (
            CpuMeter(instance.process.pid, conn, {"receivers": rx.process.pid}) as fan_cpu,
            httpx.AsyncClient(timeout=30, trust_env=False) as http,
        ):
            t0 = time.time()
            answer = await http.post(inbox, content=body, headers=headers)
            if answer.status_code != 202:
                raise RuntimeError(f"inbox answered {answer.status_code}: {answer.text}")
            state = await _wait_delivered(conn, expected, options.timeout)
            done = time.time()
    stats = await rx.ask("stats")
    sample = await rx.ask(f"sample {SAMPLE}")

    complete = state["delivered"] == expected and state["total"] == expected
    fan_time = (state["last_delivered"] or done) - t0 if complete else done - t0
    print(
        f"fanout: baseline, plain POST loop ({options.concurrency} in flight, median of "
        f"{len(rounds)}: {', '.join(f'{r.elapsed:.2f}' for r in rounds)} s): {raw.summary()}"
    )
    print(
        f"fanout:   receivers got {raw_stats['posts']} POSTs on {raw_stats['distinct_hosts']} "
        f"hosts per round; {raw_cpu.summary()}"
    )
    print(
        "fanout: Create -> 2 Announces -> deliveries: "
        + (
            f"all {expected:,} delivered {fan_time:.2f} s after the inbound POST"
            if complete
            else f"INCOMPLETE after {options.timeout:.0f} s: {dict(state)}"
        )
    )
    if state["first_queued"] is not None:
        queued = float(state["first_queued"]) - t0
        print(
            f"fanout:   inbound POST -> deliveries queued {queued:.2f} s (inbox processing), "
            f"queued -> all delivered {fan_time - queued:.2f} s; "
            f"{expected / max(fan_time - queued, 1e-9):,.0f} deliveries/s; "
            f"rows: {state['total']} ({state['activities']} activities x {state['inboxes']} "
            f"inboxes), {state['dead']} dead, most attempts {state['max_attempts']}"
        )
    if stats["first_at"] is not None:
        print(
            f"fanout:   receivers: first POST {stats['first_at'] - t0:.2f} s after the inbound "
            f"POST, last {stats['last_at'] - t0:.2f} s"
        )
    print(f"fanout:   {fan_cpu.summary()}")
    print(
        f"fanout:   server cpu per delivery {fan_cpu.server / expected * 1000:.2f} ms;"
        " by serving process (the first, which runs every worker, then the others): "
        + ", ".join(f"{cpu:.2f} s" for cpu in fan_cpu.server_processes)
    )
    _check_received(stats, expected, options.hosts)
    _check_signatures(sample, public_key, group_key["id"], group_uri)
    ratio = fan_time / raw.elapsed if raw.elapsed else 0.0
    print(
        f"fanout: {expected:,} deliveries in {fan_time:.2f} s vs raw POST loop {raw.elapsed:.2f} s:"
        f" ratio {ratio:.1f}x"
    )
    label = f"fanout {expected:,} deliveries"
    return [
        Row(
            label if complete else f"{label} (INCOMPLETE)",
            fan_time,
            "s",
            3,
            better="lower",
            baseline=raw.elapsed,
            baseline_name="raw POST loop",
        ),
        *process_tree_memory_rows("fanout: server", instance.process.pid),
    ]


async def _wait_delivered(conn: asyncpg.Connection, expected: int, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        state = await deliveries_state(conn)
        settled = state["delivered"] + state["dead"]
        if (state["total"] >= expected and settled >= state["total"]) or (
            time.monotonic() > deadline
        ):
            return state
        await asyncio.sleep(0.05)


def _check_received(stats: dict[str, Any], expected: int, hosts: int) -> None:
    problems = []
    if stats["posts"] != expected:
        problems.append(f"{stats['posts']} POSTs, expected {expected}")
    if stats["distinct_hosts"] != hosts:
        problems.append(f"{stats['distinct_hosts']} hosts reached, expected {hosts}")
    if stats["targets"] != ["/inbox"]:
        problems.append(f"POSTs went to {stats['targets']}, expected the shared inbox only")
    if stats["repeats"]:
        problems.append(f"{stats['repeats']} repeated deliveries")
    if len(stats["per_activity"]) != ANNOUNCES:
        problems.append(f"{len(stats['per_activity'])} distinct activities")
    print(
        f"fanout:   receivers got {stats['posts']:,} POSTs ({len(stats['per_activity'])} "
        f"activities x {stats['distinct_hosts']:,} hosts, shared inbox {stats['targets']}); "
        f"at most {stats['max_in_flight_per_host']} in flight per host, "
        f"{stats['max_connections']} connections open at once, "
        f"{stats['connections_opened']} opened"
        + ("; PROBLEMS: " + "; ".join(problems) if problems else "; as expected")
    )


def _check_signatures(
    sample: list[dict[str, Any]], public_key: Any, key_id: str, group_uri: str
) -> None:
    failures = []
    for request in sample:
        body = request["body"].encode()
        try:
            signed = parse_signed_request(
                request["method"], request["url"], request["headers"], now=datetime.now(UTC)
            )
            signed.verify(public_key, body)
            if signed.key_id != key_id:
                raise SignatureError(f"signed by {signed.key_id}")
            if json.loads(body).get("actor") != group_uri:
                raise SignatureError("the activity's actor is not the group")
        except (SignatureError, ValueError) as exc:
            failures.append(f"{request['url']}: {exc}")
    verdict = "all verify" if not failures else f"{len(failures)} FAIL: {failures[:3]}"
    print(f"fanout:   signatures of {len(sample)} sampled POSTs with the group's key: {verdict}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanout", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--followers", type=int, default=10_000, help="followers (10000)")
    parser.add_argument("--hosts", type=int, default=1_000, help="receiver hosts (1000)")
    parser.add_argument("--timeout", type=float, default=90, help="fan-out time cap, s (90)")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="baseline POST loop: raw connections (default) or one httpx.AsyncClient",
    )
    add_serve_workers(parser)
    parser.add_argument(
        "--deliver-from",
        choices=("every", "first"),
        default="every",
        help="serving processes that deliver ([serve] deliver_from_every_process): every"
        " (the default) or the first only",
    )
    parser.add_argument(
        "--profile", type=Path, help="write py-spy collapsed stacks of the server's fan-out"
    )
    args = parser.parse_args(argv)
    options = Options(
        followers=args.followers,
        hosts=args.hosts,
        timeout=args.timeout,
        client=args.client,
        profile=args.profile,
        serve_workers=args.serve_workers,
        deliver_from=args.deliver_from,
    )
    asyncio.run(run(options))


if __name__ == "__main__":
    main()

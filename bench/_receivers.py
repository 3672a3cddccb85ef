"""Many loopback "remote servers" in one process, for the fan-out benchmark.

    python -m bench._receivers --hosts 1000

Every address in 127.0.0.0/8 is loopback on Linux, so host *i* listens on
127.0.(1 + i // 250).(1 + i % 250), all on the same port: 1,000 distinct
hosts as far as any client can tell (distinct ``Host`` headers, distinct
connections, distinct per-host limits). Each answers every request with
``202`` at once (HTTP/1.1, keep-alive) and records it.

Control is a line protocol on stdin/stdout, one JSON object per answer:

    (start)      -> {"port": P, "hosts": ["127.0.1.1", ...]}
    stats        -> counts, arrival times, the most requests in flight per host
    sample N     -> N recorded requests spread over the run (method, url, headers, body)
    reset        -> forget what was recorded -> {"ok": true}
    (stdin EOF)  -> exit
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import random
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.receiver import read_head

_REPLY = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"


def addresses(count: int) -> list[str]:
    if count > 250 * 254:
        raise ValueError("too many hosts")
    return [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(count)]


@dataclass
class Recorded:
    at: float
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class State:
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    in_flight: Counter[str] = field(default_factory=Counter)
    max_in_flight: Counter[str] = field(default_factory=Counter)
    connections: int = 0
    max_connections: int = 0  # open at once, all hosts
    connections_opened: int = 0

    def reset(self) -> None:
        self.requests.clear()
        self.max_in_flight.clear()
        self.max_connections = self.connections
        self.connections_opened = 0

    def stats(self) -> dict[str, Any]:
        per_target: Counter[str] = Counter()
        per_activity: Counter[str] = Counter()
        pairs: Counter[tuple[str, str]] = Counter()
        for request in self.requests:
            per_target[request.url] += 1
            try:
                activity = str(json.loads(request.body).get("id"))
            except (ValueError, AttributeError):
                activity = "(not JSON)"
            per_activity[activity] += 1
            pairs[(request.url, activity)] += 1
        hosts = {url.split("/")[2] for url in per_target}
        return {
            "posts": sum(1 for r in self.requests if r.method == "POST"),
            "requests": len(self.requests),
            "distinct_targets": len(per_target),
            "distinct_hosts": len(hosts),
            "targets": sorted({"/" + url.split("/", 3)[3] for url in per_target}),
            "per_activity": dict(per_activity),
            "repeats": sum(n - 1 for n in pairs.values() if n > 1),
            "first_at": min((r.at for r in self.requests), default=None),
            "last_at": max((r.at for r in self.requests), default=None),
            "max_in_flight_per_host": max(self.max_in_flight.values(), default=0),
            "max_connections": self.max_connections,
            "connections_opened": self.connections_opened,
        }

    def sample(self, n: int) -> list[dict[str, Any]]:
        chosen = random.sample(self.requests, min(n, len(self.requests)))
        return [
            {"method": r.method, "url": r.url, "headers": r.headers, "body": r.body.decode()}
            for r in chosen
        ]


async def _serve(state: State, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    local = writer.get_extra_info("sockname")[0]
    state.connections += 1
    state.connections_opened += 1
    state.max_connections = max(state.max_connections, state.connections)
    try:
        while True:
            parsed = await read_head(reader)
            if parsed is None:
                return
            method, target, headers = parsed
            state.in_flight[local] += 1
            state.max_in_flight[local] = max(state.max_in_flight[local], state.in_flight[local])
            try:
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                authority = headers.get("host", f"{local}:{state.port}")
                state.requests.append(
                    Recorded(time.time(), method, f"http://{authority}{target}", headers, body)
                )
                writer.write(_REPLY)
                await writer.drain()
            finally:
                state.in_flight[local] -= 1
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
        return
    finally:
        state.connections -= 1
        writer.close()


async def _bind_all(state: State, hosts: list[str]) -> list[asyncio.Server]:
    """Listen on every host with one port number; try a few ports if one is taken."""
    for _ in range(20):
        with socket.socket() as probe:
            probe.bind((hosts[0], 0))
            port = probe.getsockname()[1]
        servers: list[asyncio.Server] = []
        try:
            for host in hosts:
                servers.append(
                    await asyncio.start_server(
                        lambda r, w: _serve(state, r, w), host, port, backlog=1024
                    )
                )
        except OSError as exc:
            for server in servers:
                server.close()
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        state.port = port
        return servers
    raise OSError("no port free on every loopback address")


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench._receivers")
    parser.add_argument("--hosts", type=int, default=1000)
    args = parser.parse_args()
    hosts = addresses(args.hosts)
    state = State()
    servers = await _bind_all(state, hosts)
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)

    def answer(document: Any) -> None:
        sys.stdout.write(json.dumps(document) + "\n")
        sys.stdout.flush()

    answer({"port": state.port, "hosts": hosts})
    try:
        while line := (await stdin.readline()).decode().strip() or None:
            command, _, argument = line.partition(" ")
            if command == "stats":
                answer(state.stats())
            elif command == "sample":
                answer(state.sample(int(argument or "10")))
            elif command == "reset":
                state.reset()
                answer({"ok": True})
            else:
                answer({"error": f"unknown command {command!r}"})
    finally:
        for server in servers:
            server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*(s.wait_closed() for s in servers)), 2)


if __name__ == "__main__":
    asyncio.run(main())

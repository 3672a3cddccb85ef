"""Shared pieces of the HTTP benchmarks: the machine line, a bounded load
generator, percentiles, CPU accounting from ``/proc``, and py-spy.

The load generator keeps ``concurrency`` requests in flight until it has
sent them all or ``duration`` seconds have passed, whichever comes first;
every request has its own timeout, and the phase as a whole one more.
Requests are prepared before the clock starts (bodies built, signed where
needed, encoded to bytes), so the generator measures the server, not itself.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx

__all__ = [
    "CpuMeter",
    "LoadResult",
    "PreparedRequest",
    "Profiler",
    "add_serve_workers",
    "drive",
    "encode_request",
    "machine",
    "percentile",
]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(postgres_version: str | None = None) -> str:
    """One line: CPU count and model, Python version (and PostgreSQL's, if known)."""
    parts = [
        f"{os.cpu_count()} CPU ({_cpu_model()})",
        f"Python {platform.python_version()} ({platform.python_implementation()})",
        f"{platform.system()} {platform.release()}",
    ]
    if postgres_version:
        parts.append(f"PostgreSQL {postgres_version}")
    return "machine: " + ", ".join(parts)


def percentile(samples: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile (nearest rank); 0 for no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[rank]


@dataclass(frozen=True)
class PreparedRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass
class LoadResult:
    sent: int
    elapsed: float
    statuses: Counter[int | str]
    latencies: list[float]  # seconds, one per answered request

    @property
    def per_second(self) -> float:
        return self.sent / self.elapsed if self.elapsed else 0.0

    def ok(self, status: int) -> int:
        return self.statuses.get(status, 0)

    def summary(self) -> str:
        return (
            f"{self.sent} requests in {self.elapsed:.2f} s = {self.per_second:,.0f}/s, "
            f"p50 {percentile(self.latencies, 50) * 1000:.1f} ms, "
            f"p99 {percentile(self.latencies, 99) * 1000:.1f} ms, "
            f"statuses {dict(sorted(self.statuses.items(), key=str))}"
        )


async def drive(
    requests: Sequence[PreparedRequest],
    *,
    concurrency: int,
    duration: float,
    timeout: float = 10.0,
    client: str = "raw",
    rate: float | None = None,
) -> LoadResult:
    """Send ``requests`` with ``concurrency`` in flight, for at most ``duration`` s.

    ``rate`` (requests a second) paces them instead: request *i* leaves at
    *i / rate* seconds after the start, or as soon as one of the
    ``concurrency`` connections is free after that (an open-loop load, as a
    steady stream of peers would send; give it room enough in flight).

    ``client="raw"`` (the default) gives each of the ``concurrency`` workers
    its own keep-alive HTTP/1.1 connection and writes request bytes encoded
    before the clock starts; ``client="httpx"`` shares one
    ``httpx.AsyncClient``, which costs about 1 ms of CPU per request, and
    nearly 4 ms at 32 in flight (its connection pool), so on a small
    machine it measures itself rather than the server.
    """
    statuses: Counter[int | str] = Counter()
    latencies: list[float] = []
    queue = iter(requests)
    sent = 0
    deadline = math.inf
    start = 0.0  # set when the clock starts, below

    async def run(send: Callable[[PreparedRequest], Awaitable[int]]) -> None:
        nonlocal sent
        for request in queue:  # a shared iterator: each request is taken once
            if time.perf_counter() > deadline:
                return
            sent += 1
            if rate:
                due = start + (sent - 1) / rate - time.perf_counter()
                if due > 0:
                    await asyncio.sleep(due)
            began = time.perf_counter()
            try:
                async with asyncio.timeout(timeout):
                    status = await send(request)
            except (OSError, EOFError, TimeoutError, ValueError, httpx.HTTPError) as exc:
                statuses[type(exc).__name__] += 1
                continue
            latencies.append(time.perf_counter() - began)
            statuses[status] += 1

    if client == "httpx":
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        http = httpx.AsyncClient(limits=limits, timeout=timeout, trust_env=False)

        async def send(request: PreparedRequest) -> int:
            response = await http.request(
                request.method, request.url, headers=request.headers, content=request.body
            )
            return response.status_code

        senders = [send] * concurrency
    else:
        encoded = {id(request): encode_request(request) for request in requests}
        connections = [_RawConnection(encoded) for _ in range(concurrency)]
        senders = [connection.send for connection in connections]
    start = time.perf_counter()
    deadline = start + duration
    try:
        # The whole phase is bounded too: a hung server cannot hold the benchmark.
        async with asyncio.timeout(duration + timeout + 5):
            await asyncio.gather(*(run(sender) for sender in senders))
        elapsed = time.perf_counter() - start
    finally:
        if client == "httpx":
            await http.aclose()
        else:
            for connection in connections:
                connection.close()
    return LoadResult(sent, elapsed, statuses, latencies)


def encode_request(request: PreparedRequest) -> bytes:
    """The HTTP/1.1 bytes of ``request``."""
    parts = urlsplit(request.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers.setdefault("host", parts.netloc)
    headers.setdefault("user-agent", "imago-bench")
    headers["content-length"] = str(len(request.body or b""))
    head = f"{request.method} {target} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    return (head + "\r\n").encode("latin-1") + (request.body or b"")


class _RawConnection:
    """One keep-alive HTTP/1.1 connection, reopened when the server closes it
    or the peer changes; closed on any error (a late answer must not be read
    as the next request's)."""

    def __init__(self, encoded: dict[int, bytes]) -> None:
        self._encoded = encoded  # id(request) -> its bytes
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._peer: tuple[str, int] | None = None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def send(self, request: PreparedRequest) -> int:
        try:
            return await self._exchange(request)
        except BaseException:
            self.close()
            raise

    async def _exchange(self, request: PreparedRequest) -> int:
        parts = urlsplit(request.url)
        peer = (parts.hostname or "127.0.0.1", parts.port or 80)
        if self._writer is None or self._reader is None or self._peer != peer:
            self.close()
            self._reader, self._writer = await asyncio.open_connection(*peer)
            self._peer = peer
        reader = self._reader
        self._writer.write(self._encoded[id(request)])
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise ConnectionResetError("connection closed before an answer") from exc
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        if headers.get("transfer-encoding") == "chunked":
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            await reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection") == "close":
            self.close()
        return status


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of a process and of each process it started (its serving processes)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return {member: _process_cpu(member) for member in [pid, *map(int, children)]}


def _machine_busy() -> float:
    """CPU seconds spent not idle, all cores together, since boot."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / _TICKS


class CpuMeter:
    """Where the CPU went during a phase: the server, its PostgreSQL backends, us, the rest.

    ``async with CpuMeter(server_pid, conn)``: the backends are those
    connected to ``conn``'s database (found at both ends of the phase, so
    connections the pool opens meanwhile count from zero), minus ``conn``'s
    own. "Rest" is every other process on the machine (other PostgreSQL
    processes such as the WAL writer, anything else running). Linux only;
    elsewhere the figures are zeros.
    """

    def __init__(
        self,
        server_pid: int | None,
        conn: asyncpg.Connection | None = None,
        extra: dict[str, int] | None = None,
    ) -> None:
        self.server_pid = server_pid
        self._conn = conn
        self._extra_pids = extra or {}
        self._start: dict[str, float] = {}
        self._server_start: dict[int, float] = {}
        self._backends: dict[int, float] = {}
        self.server = self.database = self.generator = self.other = self.wall = 0.0
        self.server_processes: list[float] = []  # per serving process, the first first
        self.extra: dict[str, float] = {}

    async def _backend_pids(self) -> list[int]:
        if self._conn is None:
            return []
        rows = await self._conn.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [row["pid"] for row in rows]

    def _sample(self) -> dict[str, float]:
        return {
            "wall": time.perf_counter(),
            "server": 0.0,  # the server's process tree: see __aenter__ / __aexit__
            "generator": time.process_time(),
            "busy": _machine_busy(),
            **{name: _process_cpu(pid) for name, pid in self._extra_pids.items()},
        }

    async def __aenter__(self) -> CpuMeter:
        self._backends = {pid: _process_cpu(pid) for pid in await self._backend_pids()}
        self._server_start = _tree_cpu(self.server_pid) if self.server_pid else {}
        self._start = self._sample()
        return self

    async def __aexit__(self, *_: object) -> None:
        end = self._sample()
        # Every serving process counts, each from where it stood at the start
        # (one started meanwhile from zero).
        server_end = _tree_cpu(self.server_pid) if self.server_pid else {}
        self.server_processes = [
            server_end[pid] - self._server_start.get(pid, 0.0)
            for pid in sorted(server_end, key=lambda pid: pid != self.server_pid)
        ]  # the first process's first, then the others'
        end["server"] = sum(self.server_processes)
        pids = set(self._backends) | set(await self._backend_pids())
        self.database = sum(_process_cpu(pid) - self._backends.get(pid, 0.0) for pid in pids)
        self.wall = end["wall"] - self._start["wall"]
        self.server = end["server"] - self._start["server"]
        self.generator = end["generator"] - self._start["generator"]
        self.extra = {name: end[name] - self._start[name] for name in self._extra_pids}
        busy = end["busy"] - self._start["busy"]
        accounted = self.server + self.database + self.generator + sum(self.extra.values())
        self.other = max(0.0, busy - accounted)

    def busy_elsewhere(self) -> float:
        """The share of the machine's CPU that went to none of the measured processes."""
        return self.other / (self.wall * (os.cpu_count() or 1)) if self.wall else 0.0

    def summary(self) -> str:
        cores = os.cpu_count() or 1
        if not self.wall:
            return "cpu: not measured"
        warning = ""
        if self.busy_elsewhere() > 0.15:
            warning = (
                f" -- WARNING: {self.busy_elsewhere():.0%} of the machine went elsewhere "
                "(other processes, kernel): figures from a busy machine read low"
            )
        share = 100 / (self.wall * cores)
        parts = [("server", self.server)] if self.server_pid else []
        parts += [("its PostgreSQL backends", self.database)] if self._conn else []
        parts += [("benchmark process", self.generator), *self.extra.items()]
        parts += [("rest (kernel, other processes)", self.other)]
        return (
            f"cpu over {self.wall:.1f} s x {cores} cores: "
            + ", ".join(
                f"{name} {seconds:.1f} s ({seconds * share:.0f}%)" for name, seconds in parts
            )
            + warning
        )


class Profiler:
    """``py-spy record`` attached to a process for one phase, if py-spy is installed.

    Writes collapsed stacks (one line per stack, with its sample count: the
    input of flamegraph.pl and speedscope) to ``output``; CPU samples only.
    """

    def __init__(self, pid: int, output: Path | None, py_spy: str | None = None) -> None:
        self.pid, self.output = pid, output
        self.py_spy = py_spy or shutil.which("py-spy")
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Profiler:
        if self.output is None:
            return self
        if self.py_spy is None:
            print("profile: py-spy not found (pip install py-spy); not profiling")
            return self
        self._process = subprocess.Popen(
            [self.py_spy, "record", "--pid", str(self.pid), "--subprocesses", "--rate", "200",
             "--format", "raw",
             "--nonblocking", "--output", str(self.output)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.0)  # attaching takes a moment
        return self

    def __exit__(self, *_: object) -> None:
        if self._process is None:
            return
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        print(f"profile: {self.output}")


def add_serve_workers(parser: argparse.ArgumentParser) -> None:
    """``--serve-workers``: the server benchmarks start ``serve`` with it."""
    parser.add_argument(
        "--serve-workers",
        type=int,
        default=0,
        help="serving processes of the server ([serve] workers; 0, the default: one per core)",
    )

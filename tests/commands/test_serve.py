"""The real command: ``imago-fed serve`` on the embedded PostgreSQL, twice.

This is what the README promises a newcomer: no database configured, the
server starts its own, answers /readyz, keeps data across a restart, and
stops cleanly (embedded server included) on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.conftest import TEST_ADMIN_TOKEN, child_env
from tests.support import free_port, wait_until

AUTH = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}


@contextmanager
def running_server(workdir: Path, port: int, **extra: str) -> Iterator[subprocess.Popen[bytes]]:
    env = child_env(
        IMAGO_INSTANCE_ADMIN_TOKEN=TEST_ADMIN_TOKEN,
        IMAGO_INSTANCE_DATA_DIR=str(workdir / "data"),
        IMAGO_HTTP_LISTEN=f"127.0.0.1:{port}",
        IMAGO_LOG_FORMAT="json",
        **extra,
    )
    log = (workdir / f"serve-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "imago_fed.cli", "serve"],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        log.close()


async def ready(base: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{base}/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


async def test_embedded_database_serves_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running_server(tmp_path, port) as process:
        await wait_until(lambda: ready(base), timeout=90, interval=0.25)
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            created = await client.post(
                "/api/v1/groups", headers=AUTH, json={"slug": "garden", "name": "Garden"}
            )
            assert created.status_code == 201, created.text
            # The request head is bounded (the parser alone would buffer it all).
            padded = await client.get("/healthz", headers={"X-Padding": "a" * 20_000})
            assert padded.status_code == 400
            assert (await client.get("/healthz", headers={"X-Padding": "a" * 8_000})).is_success
        # The inbox's own door keeps the body limit: 413 from the declared length,
        # before any of the body is read.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /inbox HTTP/1.1\r\nHost: x\r\nContent-Type: application/activity+json\r\n"
            b"Content-Length: 2000000\r\n\r\n"
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        writer.close()
        assert head.startswith(b"HTTP/1.1 413 ")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    log_text = (tmp_path / f"serve-{port}.log").read_text()
    assert "embedded PostgreSQL stopped" in log_text
    assert TEST_ADMIN_TOKEN not in log_text
    assert not (tmp_path / "data" / "pgdata" / "postmaster.pid").exists()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running_server(tmp_path, port):
        await wait_until(lambda: ready(base), timeout=90, interval=0.25)
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            got = await client.get("/api/v1/groups/garden", headers=AUTH)
            assert got.status_code == 200
            assert got.json()["name"] == "Garden"


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


async def test_two_processes_answer_on_one_port_and_the_workers_run_once(
    tmp_path: Path, empty_db: str
) -> None:
    """``[serve] workers = 2``: both processes take connections on the one port,
    the background workers run in one of them (one LISTEN per channel in the
    database), except the delivery worker, which runs in each (the queue is
    shared through leases), and killing process 0 outright takes the other
    with it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running_server(
        tmp_path, port, IMAGO_DATABASE_URL=empty_db, IMAGO_SERVE_WORKERS="2",
        IMAGO_LOG_LEVEL="info",
    ) as process:  # fmt: skip
        await wait_until(lambda: ready(base), timeout=90, interval=0.25)
        assert len(_children(process.pid)) == 1
        child = _children(process.pid)[0]
        log_path = tmp_path / f"serve-{port}.log"

        async def both_listening() -> bool:
            return {0, 1} <= {
                line.get("serving_process")
                for line in _log_lines(log_path)
                if str(line.get("msg", "")).startswith("Running on")
            }

        await wait_until(both_listening, timeout=90, interval=0.25)

        async def one(client: httpx.AsyncClient) -> int:
            return (await client.get("/healthz")).status_code

        # A new connection per request: the kernel hands each to whichever
        # process accepts first.
        for _ in range(10):
            async with httpx.AsyncClient(
                base_url=base, timeout=10, limits=httpx.Limits(max_keepalive_connections=0)
            ) as client:
                assert set(await asyncio.gather(*(one(client) for _ in range(40)))) == {200}
            lines = _log_lines(log_path)
            answered = {
                line.get("serving_process")
                for line in lines
                if line.get("logger") == "imago_fed.access" and line.get("path") == "/healthz"
            }
            if answered == {0, 1}:
                break
        assert answered == {0, 1}
        started = {
            line.get("serving_process"): line["workers"]
            for line in lines
            if line.get("msg") == "background workers started"
        }
        assert sorted(started) == [0, 1]
        assert "inbox-processor" in started[0] and "delivery-worker" in started[0]
        assert started[1] == ["delivery-worker"]
        conn = await asyncpg.connect(empty_db)
        try:
            listeners = await conn.fetch(
                "SELECT query FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN %'"
            )
        finally:
            await conn.close()
        queries = sorted(r["query"] for r in listeners)
        assert queries.count('LISTEN "imago_inbox"') == 1
        assert queries.count('LISTEN "imago_deliveries"') == 2

        process.kill()  # no chance to stop the other: it must die with process 0
        process.wait(timeout=10)
        await wait_until(lambda: _gone(child), timeout=10, interval=0.1)
        with socket.socket() as sock:  # and the port is free again
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))


async def _gone(pid: int) -> bool:
    return not _alive(pid)


def _log_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            lines.append(json.loads(raw))
    return [line for line in lines if isinstance(line, dict)]


def test_the_number_of_serving_processes_comes_from_the_option_the_setting_or_the_cores(
    make_settings: Any,
) -> None:
    from imago_fed.commands.serve import serving_processes

    cores = len(os.sched_getaffinity(0))
    assert serving_processes(make_settings(), None) == cores  # the default: 0
    assert serving_processes(make_settings(IMAGO_SERVE_WORKERS="3"), None) == 3
    assert serving_processes(make_settings(IMAGO_SERVE_WORKERS="3"), 1) == 1  # --workers
    assert serving_processes(make_settings(IMAGO_SERVE_WORKERS="3"), 0) == cores

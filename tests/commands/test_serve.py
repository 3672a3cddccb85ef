"""The real command: ``imago-fed serve`` on the embedded PostgreSQL, twice.

This is what the README promises a newcomer: no database configured, the
server starts its own, answers /readyz, keeps data across a restart, and
stops cleanly (embedded server included) on SIGTERM.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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

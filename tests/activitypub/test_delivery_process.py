"""Workers in their own processes: killed with SIGKILL mid-queue, and ``imago-fed worker``.

The kill -9 test is the durability claim made concrete: a worker dies with
POSTs in flight, another takes over, and every row ends delivered. The only
cost is duplicates, bounded by what was in flight (leased) at the kill --
never more than the killed worker's ``global_limit`` -- and harmless, since
receivers dedupe by activity id.

Every process runs in a directory holding a hostile ``config/imago.toml``:
a worker that read the configuration of its working directory (as one
started in a checkout after ``imago-fed init`` once did) fails at once.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.activitypub.delivery_world import World, make_world
from tests.activitypub.worker_process import CONFIG
from tests.conftest import child_env
from tests.receiver import receiver
from tests.support import wait_until

ROWS = 200
OPEN = {
    "IMAGO_FEDERATION_ALLOW_HTTP": "true",
    "IMAGO_FEDERATION_ALLOW_PRIVATE_ADDRESSES": "true",
}


@pytest.fixture
def env(settings_env: dict[str, str]) -> dict[str, str]:
    return child_env(**settings_env, **OPEN)


@pytest.fixture
async def world(migrated_db: str, make_settings) -> AsyncIterator[World]:
    async with make_world(migrated_db, make_settings(**OPEN)) as w:
        yield w


@contextmanager
def process(
    args: list[str], env: dict[str, str], cwd: Path, log: Path
) -> Iterator[subprocess.Popen]:
    with log.open("ab") as out:
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


async def delivered(world: World, count: int) -> bool:
    return await world.pool.fetchval(
        "SELECT count(*) = $1 FROM deliveries WHERE state = 'delivered'", count
    )


async def test_kill_9_mid_queue_loses_nothing(
    world: World, env: dict[str, str], tmp_path: Path, hostile_cwd: Path
) -> None:
    inbox_a, inbox_b = world.inbox(delay=0.1), world.inbox(delay=0.1)
    worker = [sys.executable, "-m", "tests.activitypub.worker_process", world.dsn]
    log = tmp_path / "workers.log"
    async with receiver(inbox_a) as a, receiver(inbox_b) as b:
        activities = [
            await world.enqueue([f"{(a if n % 2 else b).base_url}/inbox"]) for n in range(ROWS)
        ]
        with process(worker, env, hostile_cwd, log) as first:

            async def halfway() -> bool:
                assert first.poll() is None, log.read_text()
                return len(inbox_a.answers) + len(inbox_b.answers) >= ROWS // 4

            await wait_until(halfway, timeout=30, interval=0.02)
            first.send_signal(signal.SIGKILL)
            assert first.wait(timeout=10) == -signal.SIGKILL
        leased_at_kill = await world.pool.fetchval(
            "SELECT count(*) FROM deliveries WHERE state = 'queued' AND locked_until > now()"
        )
        assert await world.pool.fetchval("SELECT count(*) FROM deliveries WHERE state = 'queued'")

        with process(worker, env, hostile_cwd, log) as second:
            await wait_until(lambda: delivered(world, ROWS), timeout=40)
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=20) == 0, log.read_text()

    seen = inbox_a.seen() + inbox_b.seen()
    assert inbox_a.errors == inbox_b.errors == []
    assert set(seen) == set(activities)  # every activity arrived at least once
    duplicates = sum(count - 1 for count in seen.values())
    # Only a POST in flight at the kill can arrive twice; that is at most the rows
    # leased then, and never more than the killed worker's global limit.
    assert duplicates <= leased_at_kill <= CONFIG.global_limit, (duplicates, leased_at_kill)


async def test_imago_fed_worker_delivers_until_sigterm(
    world: World, env: dict[str, str], tmp_path: Path, hostile_cwd: Path
) -> None:
    inbox = world.inbox()
    command = [sys.executable, "-m", "imago_fed.cli", "worker"]
    log = tmp_path / "worker.log"
    async with receiver(inbox) as rx:
        for _ in range(5):
            await world.enqueue([f"{rx.base_url}/inbox"])
        worker_env = {**env, "IMAGO_DATABASE_URL": world.dsn}
        with process(command, worker_env, hostile_cwd, log) as proc:
            await wait_until(lambda: delivered(world, 5), timeout=30)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0, log.read_text()
    assert inbox.errors == [] and len(inbox.accepted()) == 5
    assert "workers stopped: in-flight work finished" in log.read_text()


def test_imago_fed_worker_refuses_an_unmigrated_database(
    empty_db: str, env: dict[str, str], hostile_cwd: Path
) -> None:
    command = [sys.executable, "-m", "imago_fed.cli", "worker"]
    run = {"capture_output": True, "text": True, "timeout": 60, "cwd": hostile_cwd}
    unmigrated = subprocess.run(command, env={**env, "IMAGO_DATABASE_URL": empty_db}, **run)
    assert unmigrated.returncode == 1 and "run imago-fed migrate" in unmigrated.stderr
    # Without a URL it uses the embedded server in the data directory (serve's),
    # which here was never migrated either.
    embedded = subprocess.run(command, env=env, **run)
    assert embedded.returncode == 1 and "run imago-fed migrate" in embedded.stderr

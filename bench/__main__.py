"""Run every benchmark: ``python -m bench [--rounds N]`` (the same as ``python -m bench.all``).

This module holds the ``groups_api`` benchmark; run as ``python -m bench``
it hands over to :mod:`bench.all`, which runs it and the others.

Each benchmark times an operation and a baseline in the same process, on the
same database, and prints the ratio. Absolute timings vary between machines;
ratios drift only when our code changes. The database is found as the tests
find theirs (``tests/pg.py``).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.summary import Row
from imago_fed.app import create_app
from imago_fed.config import load_settings
from imago_fed.store import migrations

TOKEN = "bench-admin-token-0123456789"


async def timed(rounds: int, operation: Callable[[int], Awaitable[object]]) -> float:
    """Median seconds per call over ``rounds`` calls (after one warm-up)."""
    await operation(-1)
    samples = []
    for i in range(rounds):
        start = time.perf_counter()
        await operation(i)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


async def groups_api(dsn: str, rounds: int) -> Row:
    await migrations.upgrade(dsn)
    with tempfile.TemporaryDirectory() as data:
        empty = Path(data) / "empty.toml"
        empty.write_text("")
        settings = load_settings(
            empty, env={"IMAGO_INSTANCE_ADMIN_TOKEN": TOKEN, "IMAGO_INSTANCE_DATA_DIR": data}
        )
        app = create_app(settings, dsn)
        async with app.test_app() as test_app:
            client = test_app.test_client()
            auth = {"Authorization": f"Bearer {TOKEN}"}
            pool = app.extensions["imago_fed"].pool

            async def baseline(_: int) -> object:
                return await pool.fetchval("SELECT 1")

            async def create_and_get(i: int) -> object:
                slug = f"g{i + 1}"
                created = await client.post(
                    "/api/v1/groups", headers=auth, json={"slug": slug, "name": slug}
                )
                assert created.status_code == 201
                return await client.get(f"/api/v1/groups/{slug}", headers=auth)

            base = await timed(rounds, baseline)
            measured = await timed(rounds, create_and_get)
    print(
        f"groups_api: create+get {measured * 1000:.2f} ms, baseline SELECT 1 "
        f"{base * 1000:.3f} ms, ratio {measured / base:.1f}x "
        "(dominated by RSA-2048 key generation)"
    )
    return Row(
        "groups_api create+get",
        measured * 1000,
        "ms",
        None,
        better="lower",
        baseline=base * 1000,
        baseline_name="SELECT 1",
    )


if __name__ == "__main__":
    from bench.all import cli

    cli(prog="python -m bench")  # every benchmark, this one included (see bench/all.py)

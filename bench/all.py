"""Run every benchmark, one after the other: ``python -m bench.all``.

    groups_api  (bench/__main__.py)  admin API create+get vs SELECT 1
    inbox       (bench/inbox.py)     signed Create POSTs/s vs GET /healthz
    fanout      (bench/fanout.py)    10,000 followers on 1,000 hosts vs a raw POST loop
    ballots     (bench/ballots.py)   Belenios archive verification vs belenios-tool
    matching    (bench/matching.py)  suggestions among 100,000 intents vs a full scan

Each prints its own figures (and the machine); a summary of the ratios
comes last. Each is bounded (about a minute, two at most).
"""

from __future__ import annotations

import argparse
import asyncio

from bench import ballots, fanout, inbox, matching
from bench.__main__ import groups_api
from bench._support import machine
from tests.pg import admin_dsn, scratch_database


async def main(rounds: int) -> None:
    print(machine())
    with admin_dsn() as admin:
        async with scratch_database(admin, prefix="imago_bench") as dsn:
            await groups_api(dsn, rounds)
    print()
    inbox_ratio = await inbox.run(inbox.Options())
    print()
    fanout_ratio = await fanout.run(fanout.Options())
    print()
    print()
    ballots.cli([])
    print()
    matching_ratio = await matching.run(100_000, 200, 1000)
    print()
    print(f"summary: inbox/healthz throughput ratio {inbox_ratio:.2f} (higher is better)")
    print(f"summary: fan-out/raw POST time ratio {fanout_ratio:.1f}x (lower is better)")
    print(f"summary: matching/full-scan p95 ratio {matching_ratio:.3f} (lower is better)")


def cli(argv: list[str] | None = None, prog: str = "python -m bench.all") -> None:
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--rounds", type=int, default=30, help="groups_api rounds (30)")
    asyncio.run(main(parser.parse_args(argv).rounds))


if __name__ == "__main__":
    cli()

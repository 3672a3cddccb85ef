"""Run every benchmark, one after the other: ``python -m bench`` (or ``python -m bench.all``).

    groups_api  (bench/__main__.py)  admin API create+get vs SELECT 1
    inbox       (bench/inbox.py)     signed Create POSTs/s vs GET /healthz; server peak RSS
    fanout      (bench/fanout.py)    10,000 followers on 1,000 hosts vs a raw POST loop; RSS
    ballots     (bench/ballots.py)   Belenios archive verification vs belenios-tool; RSS
    matching    (bench/matching.py)  suggestions among 100,000 intents vs a full scan
    graph       (bench/graph.py)     nearest groups + one propagation  (only with --graph)
    booth       (bench/booth.py)     the browser booth's encryption   (only with --booth)

Each prints its own figures (and the machine); one table comes last:
benchmark, our figure, baseline, ratio, target, met or not (bench/summary.py).
Each is bounded (about a minute, two at most). ``--quick`` runs smaller
sizes (for checking the harness, not for the figures: the targets are
stated at the full sizes). ``graph`` loads a million groups (several
minutes) and ``booth`` drives Chromium, so they run only when asked.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable

from bench import ballots, fanout, inbox, matching
from bench.__main__ import groups_api
from bench._support import machine
from bench.summary import Row, format_table
from tests.pg import admin_dsn, scratch_database


async def _groups_api(rounds: int) -> list[Row]:
    with admin_dsn() as admin:
        async with scratch_database(admin, prefix="imago_bench") as dsn:
            return [await groups_api(dsn, rounds)]


async def main(args: argparse.Namespace) -> list[Row]:
    print(machine())
    quick = args.quick
    steps: list[tuple[str, Callable[[], Awaitable[list[Row]]]]] = [
        ("groups_api", lambda: _groups_api(5 if quick else args.rounds)),
        (
            "inbox",
            lambda: inbox.run(inbox.Options(count=300, duration=20) if quick else inbox.Options()),
        ),
        (
            "fanout",
            lambda: fanout.run(
                fanout.Options(followers=1000, hosts=100) if quick else fanout.Options()
            ),
        ),
        (
            "ballots",
            lambda: asyncio.to_thread(
                ballots.main, 50 if quick else 1000, args.jobs, 20 if quick else 1000
            ),
        ),
        (
            "matching",
            lambda: matching.run(10_000 if quick else 100_000, 50 if quick else 200, 1000),
        ),
    ]
    if args.graph:
        from bench import graph

        async def _graph() -> list[Row]:
            p95, base95 = await graph.nearby(100_000 if quick else 1_000_000, 300, 2)
            took = await graph.propagation(200, 50)
            return [graph.nearby_row(p95, base95), graph.propagation_row(took)]

        steps.append(("graph", _graph))
    if args.booth:
        from bench import booth

        async def _booth() -> list[Row]:
            first = await asyncio.to_thread(booth.run, 5)
            return [Row("booth first ballot (browser)", first, "ms", 3000, "lower", "value")]

        steps.append(("booth", _booth))

    rows: list[Row] = []
    for name, step in steps:
        if args.only and name not in args.only:
            continue
        print(f"\n== {name}")
        started = time.perf_counter()
        try:
            rows.extend(await step())
        except (Exception, SystemExit):  # one failing benchmark must not hide the others
            traceback.print_exc()
            rows.append(Row(f"{name} (FAILED, see above)", 0.0, "", 1, on="value"))
        print(f"== {name}: {time.perf_counter() - started:.0f} s")
    print()
    print(format_table(rows))
    return rows


def cli(argv: list[str] | None = None, prog: str = "python -m bench.all") -> None:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="groups_api rounds (30)")
    parser.add_argument("--jobs", type=int, default=ballots.default_jobs(), help="verifier procs")
    parser.add_argument("--quick", action="store_true", help="small sizes (harness check only)")
    parser.add_argument("--graph", action="store_true", help="also the graph benchmark (slow)")
    parser.add_argument("--booth", action="store_true", help="also the browser booth benchmark")
    parser.add_argument("--only", nargs="*", help="run only these (names as listed above)")
    asyncio.run(main(parser.parse_args(argv)))


if __name__ == "__main__":
    cli()

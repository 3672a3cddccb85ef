"""Matching offers with needs: suggestions for one new intent among 100,000.

    python -m bench.matching [--intents 100000] [--queries 200] [--types 1000]

A scratch PostgreSQL database (migrated) gets 100,000 open intents of
remote groups (half offers, half needs; 1,000 Wikidata resource types, and
one in five of the shipped taxonomy's types, whose broader and narrower types
and words a suggestion reads too; one in 500 for "any resource"; actions in
two families; random places over
France, windows over a year, quantities 1..50 in items or kilograms). Then,
for 200 new intents stored the same way, the service's own path is timed:
``Resources.matches(id)`` = read the intent, the candidates query (partial
index on purpose and type), the hard filters and the score in Python.

Baseline, same run, same data: a full scan scoring every intent in memory
(``refusal`` + ``score`` over all 100,000, then the best ten), which is
what matching costs without the index. The in-memory ``MatchIndex`` is
timed too. Target: p95 of the service path under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from bench._support import machine, percentile
from bench.summary import Row, format_table
from imago_fed.domain.clock import SystemClock
from imago_fed.domain.graph.places import Place
from imago_fed.domain.resources.intents import Intent, Quantity, Window
from imago_fed.domain.resources.matching import MatchIndex, refusal, score
from imago_fed.domain.resources.taxonomy import taxonomy
from imago_fed.domain.resources.vocabulary import UNITS, parse_resource_type
from imago_fed.services.resources import Resources
from imago_fed.store import migrations
from imago_fed.store.groups import PgGroupRepository
from imago_fed.store.resources import PgResourceStore
from tests.pg import admin_dsn, scratch_database

NOW = datetime.now(UTC)
ACTIONS = ("transfer", "transfer-all-rights", "use", "transfer-custody")


class _RemoteOnly:
    """Group addresses for groups that all live elsewhere (no graph to walk)."""

    def actor(self, slug: str) -> str:  # pragma: no cover - not called
        return f"https://bench.example/groups/{slug}"

    def local_slug(self, actor: str) -> str | None:
        return None

    async def resolve_group(self, handle_or_url: str) -> str:  # pragma: no cover
        return handle_or_url


SHIPPED = sorted(k.removeprefix("wd:") for k in taxonomy().labels)


def _intent(rng: random.Random, n: int, types: int) -> Intent:
    typed = rng.random() >= 0.002
    qid = rng.choice(SHIPPED) if rng.random() < 0.2 else f"Q{rng.randrange(1, types + 1) * 7 + 11}"
    resource = parse_resource_type(qid) if typed else None
    unit = "one" if rng.random() < 0.7 else "kilogram"
    start = NOW + timedelta(days=rng.randrange(-30, 300))
    return Intent(
        purpose=rng.choice(("offer", "request")), action=rng.choice(ACTIONS),
        group=f"https://g{n % 5000}.example/groups/g", name=f"intent {n}", resource=resource,
        quantity=Quantity(UNITS[unit], Decimal(rng.randrange(1, 51))),
        window=Window(start, start + timedelta(days=rng.randrange(1, 90))),
        place=Place(rng.uniform(43.0, 50.5), rng.uniform(-1.5, 7.5)),
        range_km=rng.choice((25.0, 50.0, 200.0, 1000.0)), ap_id=f"https://bench.example/i/{n}",
    )  # fmt: skip


async def _load(pool: asyncpg.Pool, intents: list[Intent]) -> None:
    rows = []
    for i in intents:
        r, q, p = i.resource, i.quantity, i.place
        assert q is not None and p is not None
        rows.append((
            i.group, i.ap_id, f"{i.ap_id}#primary", i.purpose, i.action, i.type_key,
            r.iri if r else None, "", i.name, q.unit.name, q.value, q.value, i.window.start,
            i.window.end, p.lat, p.lon, i.range_km, "open", NOW, NOW,
        ))  # fmt: skip
    async with pool.acquire() as conn:
        await conn.copy_records_to_table(
            "resource_intents",
            records=rows,
            columns=[
                "actor", "ap_id", "intent_iri", "purpose", "action", "type_key", "conforms_to",
                "type_label", "name", "unit", "quantity", "remaining", "available_from",
                "available_until", "lat", "lon", "range_km", "state", "created_at", "updated_at",
            ],
        )  # fmt: skip
        await conn.execute("ANALYZE resource_intents")


async def _time(label: str, count: int, step: Callable[[int], Awaitable[object]]) -> list[float]:
    samples = []
    for i in range(count):
        started = time.perf_counter()
        await step(i)
        samples.append((time.perf_counter() - started) * 1000)
    p50, p95 = percentile(samples, 50), percentile(samples, 95)
    print(f"  {label:<42} p50 {p50:8.2f} ms   p95 {p95:8.2f} ms   max {max(samples):8.2f} ms")
    return samples


async def run(total: int, queries: int, types: int) -> list[Row]:
    rng = random.Random(837)
    known = [_intent(rng, n, types) for n in range(total)]
    probes = [_intent(rng, total + n, types) for n in range(queries)]
    with admin_dsn() as admin:
        async with scratch_database(admin, prefix="imago_bench_match") as dsn:
            await migrations.upgrade(dsn)
            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
            try:
                version = await pool.fetchval("SHOW server_version")
                print(machine(version))
                started = time.perf_counter()
                await _load(pool, known)
                print(f"matching: {total:,} open intents loaded in "
                      f"{time.perf_counter() - started:.1f} s; {queries} new intents")  # fmt: skip
                store = PgResourceStore(pool)
                ids = []
                for probe in probes:
                    stored = await store.add_intent(
                        probe, group_id=None, intent_iri=f"{probe.ap_id}#primary", now=NOW
                    )
                    ids.append(stored.id)
                service = Resources(
                    store,
                    _RemoteOnly(),
                    None,
                    PgGroupRepository(pool),
                    SystemClock(),  # type: ignore[arg-type]
                )
                found = [0]

                async def service_path(i: int) -> object:
                    matches = await service.matches(ids[i], limit=10)
                    found[0] += len(matches)
                    return matches

                async def full_scan(i: int) -> object:
                    new = probes[i]
                    scored = [score(new, c) for c in known if refusal(new, c, NOW) is None]
                    scored.sort(key=lambda m: -m.score)
                    return scored[:10]

                index = MatchIndex()
                for n, intent in enumerate(known):
                    index.add(Intent(**{**intent.__dict__, "id": n + 1}))

                async def in_memory(i: int) -> object:
                    return index.suggest(probes[i], now=NOW, limit=10)

                print("suggestions for one new intent (best 10):")
                measured = await _time(
                    "service (PostgreSQL index + scoring)", queries, service_path
                )
                scan_count = max(10, queries // 10)
                baseline = await _time(
                    f"baseline: full scan ({scan_count} queries)", scan_count, full_scan
                )
                await _time("in-memory MatchIndex", queries, in_memory)
            finally:
                await pool.close()
    p95, base95 = percentile(measured, 95), percentile(baseline, 95)
    print(f"  {found[0] / queries:.1f} suggestions per new intent on average")
    print(f"matching: p95 {p95:.2f} ms (target < 50 ms: {'met' if p95 < 50 else 'MISSED'}), "
          f"full scan p95 {base95:.0f} ms, ratio {p95 / base95:.3f} (lower is better)")  # fmt: skip
    return [
        Row(
            f"matching p95 ({total:,} intents)",
            p95,
            "ms",
            50,
            better="lower",
            on="value",
            baseline=base95,
            baseline_name="full scan",
        )
    ]


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.matching")
    parser.add_argument("--intents", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--types", type=int, default=1000)
    args = parser.parse_args(argv)
    print(format_table(asyncio.run(run(args.intents, args.queries, args.types))))


if __name__ == "__main__":
    cli()

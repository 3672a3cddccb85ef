"""The graph of groups: the nearest 50 among 1,000,000 groups, and one propagation.

    python -m bench.graph [--groups 1000000] [--queries 300] [--concurrency 2]
                          [--recipients 200] [--hosts 50] [--skip-nearby] [--skip-propagation]

Part 1, nearby. A scratch database (migrated) gets 1,000,000 groups of other
servers (``graph_nodes`` rows, as if read from their actors): a place near one
of the gazetteer's 2,000 most populous places (weighted towards the big ones,
a few km of jitter) and 1 to 4 themes among the shipped ones (skewed: a few
themes are very common); theme rows as the store writes them (one per theme,
one for the whole set). 100 groups of ours get a place and themes the same
way, and a few accepted relations. Measured: the service's own path,
``Proximity.nearby(slug, k=50)``: read the group, then one statement
(``PgGraphNodes.nearest``, store/graph_nodes.py) reads its node, walks its
relations and gathers the candidates (GiST nearest by place, GiST nearest per
theme, related groups), scoring the unrelated ones so that only the best 50
come back; then the exact score of each in Python and the best 50 with their
``why``. ``--queries`` of them, ``--concurrency`` at once (2: one per core of
the target machine), p50/p95, and where the CPU went meanwhile. Target: p95
under 20 ms.

Baseline, same run, same data, same query and scoring: the planner barred
from indexes (``enable_indexscan``, ``enable_bitmapscan`` off), i.e. the
candidates found by sequential scans; both must give the same best 50.

Then, not timed, each baseline query's answer is compared with ``rank`` over
every group in the database (a full scan in Python): the candidates are a
heuristic (the nearest by place, the nearest sharing each theme, the related
ones), and this says how often a group none of them reaches belongs in the
best 50, and how far down.

Part 2, propagation. A real ``imago-fed serve`` (workers inside) and a
receiver process on 50 loopback hosts; 200 groups of those hosts (4 a host,
each with its own inbox) are written into the instance's database with
places around the origin's. The origin announced a note; the clock runs from
``POST /api/v1/groups/{slug}/propagations`` (k = 200, a do-ocracy decision
adopted at once) until every delivery row is 'delivered'; the receivers'
count of POSTs is checked (each group's inbox exactly once).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from bench._support import CpuMeter, machine, percentile
from bench.fanout import deliveries_state, receivers
from bench.summary import Row, format_table
from imago_fed.domain.clock import SystemClock
from imago_fed.domain.graph.gazetteer import gazetteer
from imago_fed.domain.graph.places import Place
from imago_fed.domain.graph.proximity import GroupNode, hops_from, rank
from imago_fed.domain.graph.relations import Relation
from imago_fed.domain.ports.graph import NodeProfile
from imago_fed.services.proximity import Proximity
from imago_fed.store import migrations
from imago_fed.store.graph_nodes import PgGraphNodes, theme_set_key
from imago_fed.store.graph_relations import PgRelationStore
from imago_fed.store.groups import PgGroupRepository
from tests.interop.instance import running_instance
from tests.pg import admin_dsn, scratch_database
from tests.store.helpers import STORED_KEYS

NOW = datetime.now(UTC)
LOCAL = "https://bench.test/groups/"
K = 50
BASELINE_QUERIES = 10


class _Addresses:
    """Our groups live at bench.test; everything else is remote."""

    def actor(self, slug: str) -> str:
        return LOCAL + slug

    def local_slug(self, actor: str) -> str | None:
        return actor[len(LOCAL) :] if actor.startswith(LOCAL) else None

    async def resolve_group(self, handle_or_url: str) -> str:  # pragma: no cover
        return handle_or_url


def _centres() -> tuple[list[tuple[float, float]], list[int]]:
    places = [
        p
        for p in gazetteer().places()
        if p.population and p.kind != "country" and p.lat is not None and p.lon is not None
        and math.isfinite(p.lat) and math.isfinite(p.lon) and abs(p.lat) < 85
    ]  # fmt: skip
    places.sort(key=lambda p: -(p.population or 0))
    top = places[:2000]
    return [(p.lat or 0.0, p.lon or 0.0) for p in top], [p.population or 1 for p in top]


def _themes() -> list[int]:
    return [int(t.qid[1:]) for t in gazetteer().themes()]


class World:
    """Draws places and theme sets the way the benchmark's groups have them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.centres, weights = _centres()
        total = sum(w**0.5 for w in weights)
        self.cumulative, acc = [], 0.0
        for w in weights:
            acc += w**0.5 / total
            self.cumulative.append(acc)
        self.themes = _themes()

    def place(self) -> tuple[float, float]:
        from bisect import bisect_left

        lat, lon = self.centres[min(len(self.centres) - 1,
                                    bisect_left(self.cumulative, self.rng.random()))]  # fmt: skip
        lat = max(-89.9, min(89.9, lat + self.rng.gauss(0, 0.08)))
        lon = ((lon + self.rng.gauss(0, 0.1) + 180) % 360) - 180
        return round(lat, 5), round(lon, 5)

    def theme_set(self) -> list[int]:
        count = self.rng.choice((1, 2, 2, 3, 3, 4))
        picked = {self.themes[int(len(self.themes) * self.rng.random() ** 3)] for _ in range(count)}
        return sorted(picked)


async def _load(pool: asyncpg.Pool, world: World, total: int) -> None:
    """COPY the remote nodes and their theme rows, with the indexes built afterwards."""
    async with pool.acquire() as conn:
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE indexname IN ('graph_nodes_place', 'graph_node_themes_near')"
        )
        for row in indexes:
            await conn.execute(f"DROP INDEX {row['indexname']}")
        batch = 100_000
        for start in range(0, total, batch):
            nodes, themes = [], []
            for n in range(start, min(total, start + batch)):
                lat, lon = world.place()
                picked = world.theme_set()
                nodes.append((n + 1, f"https://h{n % 5000}.example/groups/g{n}",
                              f"@g{n}@h{n % 5000}.example", (lon, lat), picked, NOW))  # fmt: skip
                whole = theme_set_key(picked)
                themes += [(n + 1, t, asyncpg.Range(t, t + 1), (lon, lat))
                           for t in [*picked, *([whole] if whole else [])]]  # fmt: skip
            await conn.copy_records_to_table(
                "graph_nodes", records=nodes,
                columns=["id", "actor", "handle", "place", "themes", "updated_at"],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "graph_node_themes", records=themes, columns=["node", "theme", "slot", "place"]
            )
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('graph_nodes', 'id'), $1)", total + 1
        )
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for row in indexes:
            await conn.execute(row["indexdef"])
        await conn.execute("VACUUM ANALYZE graph_nodes")
        await conn.execute("VACUUM ANALYZE graph_node_themes")


async def _anchors(pool: asyncpg.Pool, world: World, count: int) -> list[str]:
    """Groups of ours with a place and themes, a few related to each other."""
    from imago_fed.domain.groups import Group

    repo, nodes, relations = PgGroupRepository(pool), PgGraphNodes(pool), PgRelationStore(pool)
    slugs, ids = [], []
    for n in range(count):
        slug = f"anchor{n}"
        stored = await repo.add(Group(slug, slug, "", NOW, STORED_KEYS))
        assert stored.id is not None
        lat, lon = world.place()
        themes = tuple(f"Q{t}" for t in world.theme_set())
        await nodes.save_profile(stored.id, LOCAL + slug, f"@{slug}@bench.test",
                                 NodeProfile(Place(lat, lon), themes), NOW)  # fmt: skip
        slugs.append(slug)
        ids.append(stored.id)
    for n in range(count - 1):  # a chain: anchor0 - anchor1 - ... (hops up to 3 count)
        relation = Relation(LOCAL + slugs[n], LOCAL + slugs[n + 1], "partner", "proposed")
        for group_id, peer in ((ids[n], relation.target), (ids[n + 1], relation.source)):
            row = await relations.add(group_id, relation, peer, f"offer{n}", NOW)
            await relations.move(row.id, "accepted", NOW)
    return slugs


async def _timed(
    label: str, count: int, concurrency: int, step: Callable[[int], Awaitable[object]]
) -> list[float]:
    samples: list[float] = []
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            started = time.perf_counter()
            await step(i)
            samples.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    p50, p95 = percentile(samples, 50), percentile(samples, 95)
    print(f"  {label:<48} p50 {p50:8.2f} ms   p95 {p95:8.2f} ms   max {max(samples):8.2f} ms"
          f"   ({len(samples) / elapsed:.0f}/s)")  # fmt: skip
    return samples


async def nearby(groups: int, queries: int, concurrency: int) -> tuple[float, float]:
    """Part 1; returns the p95 of the service path and of the baseline, in ms."""
    world = World(1337)
    with admin_dsn() as admin:
        async with scratch_database(admin, prefix="imago_bench_graph") as dsn:
            await migrations.upgrade(dsn)
            pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency + 1)
            try:
                print(machine(await pool.fetchval("SHOW server_version")))
                started = time.perf_counter()
                await _load(pool, world, groups)
                slugs = await _anchors(pool, world, 100)
                themed = await pool.fetchval("SELECT count(*) FROM graph_node_themes")
                took = time.perf_counter() - started
                print(f"graph: {groups:,} remote groups ({themed:,} theme rows) and 100 of"
                      f" ours loaded and indexed in {took:.0f} s (not timed)")  # fmt: skip
                service = Proximity(
                    PgGraphNodes(pool), _Addresses(), PgGroupRepository(pool), SystemClock(),
                    "bench.test",
                )  # fmt: skip
                service.labels(["Q1"])  # load the gazetteer before the clock starts
                sizes: list[int] = []

                async def service_path(i: int) -> object:
                    found = await service.nearby(slugs[i % len(slugs)], K)
                    sizes.append(len(found))
                    return found

                for i in range(20):  # warm the caches and the prepared statements
                    await service_path(i)
                sizes.clear()
                print(f"graph: nearest {K} with full scoring (geo, themes, hops), {queries}"
                      f" queries, {concurrency} at once:")  # fmt: skip
                async with pool.acquire() as probe, CpuMeter(None, probe) as cpu:
                    indexed = await _timed("indexes (the service as it runs)", queries,
                                           concurrency, service_path)  # fmt: skip
                print(f"  {cpu.summary()}")
                assert min(sizes) == K, f"fewer than {K} results: {min(sizes)}"

                same = 0
                answers: dict[str, list[str]] = {}
                async with pool.acquire() as conn:
                    await conn.execute("SET enable_indexscan = off; SET enable_bitmapscan = off")
                    scan = Proximity(
                        _OneConnection(conn), _Addresses(), PgGroupRepository(pool),  # type: ignore[arg-type]
                        SystemClock(), "bench.test",
                    )  # fmt: skip

                    async def baseline(i: int) -> object:
                        nonlocal same
                        slug = slugs[(i * 7) % len(slugs)]
                        found = await scan.nearby(slug, K)
                        fast = await service.nearby(slug, K)
                        answers[slug] = [s.score.group for s in fast]
                        same += [s.score.group for s in found] == answers[slug]
                        return found

                    slow = await _timed("baseline: the same query by sequential scans",
                                        BASELINE_QUERIES, 1, baseline)  # fmt: skip
                p95 = percentile(indexed, 95)
                print(f"graph: nearby p95 {p95:.2f} ms (target < 20 ms); baseline p95 "
                      f"{percentile(slow, 95):.0f} ms, {percentile(slow, 95) / p95:.0f}x slower;"
                      f" same top {K} in {same}/{BASELINE_QUERIES} baseline queries")  # fmt: skip
                await _against_full_scan(pool, service, answers)
                return p95, percentile(slow, 95)
            finally:
                await pool.close()


async def _against_full_scan(
    pool: asyncpg.Pool, service: Proximity, answers: dict[str, list[str]]
) -> None:
    """Compare each answer with ``rank`` over every group there is (not timed).

    The candidates the store fetches (nearest by place, nearest per theme,
    related) are a heuristic: a group far away that shares every theme can
    belong in the best k and be fetched by none of them. This says how often
    that happens, and how far down.
    """
    started = time.perf_counter()
    everyone = [
        GroupNode.stored(r["actor"], None if r["place"] is None else
                         Place.stored(r["place"][1], r["place"][0], "", None),
                         frozenset(f"Q{t}" for t in r["themes"]))
        for r in await pool.fetch(
            "SELECT n.actor, n.place, n.themes FROM graph_nodes n"
            " WHERE n.group_id IS NULL OR EXISTS"
            " (SELECT 1 FROM groups g WHERE g.id = n.group_id AND g.deleted_at IS NULL)"
        )
    ]  # fmt: skip
    known = {c.id for c in everyone}
    same, differences = 0, []
    for slug, answer in answers.items():
        group = await service._group(slug)
        hood = await service.neighbourhood(group, K)
        paths = hops_from(hood.anchor.id, hood.relations, 3)
        eligible = [
            c for c in everyone
            if (c.place is not None and hood.anchor.place is not None)
            or c.themes & hood.anchor.themes or c.id in paths
        ] + [c for c in hood.candidates if c.id not in known]  # fmt: skip
        full = [s.group for s in rank(hood.anchor, eligible, hood.weights, K, paths=paths)]
        if full == answer:
            same += 1
            continue
        missed = [g for g in full if g not in answer]
        first = next(i for i, (a, b) in enumerate(zip(full, answer, strict=True)) if a != b)
        differences.append(f"{slug}: {len(missed)} of the full scan's {K} missing, first"
                           f" difference at rank {first + 1}")  # fmt: skip
    print(f"graph: against rank() over all {len(everyone):,} groups (a full scan in Python,"
          f" {time.perf_counter() - started:.0f} s): same top {K} in {same}/{len(answers)}")
    for line in differences:
        print(f"  {line}")


class _OneConnection:
    """PgGraphNodes over one connection (the baseline's session settings hold there)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._nodes = PgGraphNodes(conn)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self._nodes, name)


async def propagation(recipients: int, hosts: int) -> float:
    """Part 2; returns the seconds from the request to the last delivery."""
    with admin_dsn() as admin, tempfile.TemporaryDirectory(prefix="imago-bench-") as work:
        async with (
            receivers(hosts) as rx,
            running_instance("bench_graph", Path(work), admin, IMAGO_LOG_LEVEL="warning") as inst,
        ):
            conn = await asyncpg.connect(inst.dsn)
            try:
                await inst.create_group("origin")
                paris = {"place": {"lat": 48.8567, "lon": 2.351}}
                patched = await inst.api("PATCH", "/groups/origin", json=paris)
                assert patched.status_code == 200, patched.text
                group_id = await conn.fetchval("SELECT id FROM groups WHERE slug = 'origin'")
                rng = random.Random(7)
                actors, nodes = [], []
                for n in range(recipients):
                    host = rx.hosts[n % len(rx.hosts)]
                    uri = f"http://{host}:{rx.port}/groups/g{n}"
                    actors.append((uri, host, "Group", f"g{n}", None, f"{uri}/inbox",
                                   rx.shared_inbox(host), None, None, "{}", NOW))  # fmt: skip
                    point = (2.351 + rng.uniform(-0.5, 0.5), 48.8567 + rng.uniform(-0.3, 0.3))
                    nodes.append((uri, f"@g{n}@{host}", point, NOW))
                await conn.copy_records_to_table(
                    "remote_actors", records=actors,
                    columns=["uri", "host", "type", "preferred_username", "name", "inbox",
                             "shared_inbox", "key_id", "public_key_pem", "document",
                             "fetched_at"],
                )  # fmt: skip
                await conn.copy_records_to_table(
                    "graph_nodes", records=nodes, columns=["actor", "handle", "place", "updated_at"]
                )
                note = "https://elsewhere.example/notes/1"
                await conn.execute(
                    "INSERT INTO outbox (group_id, activity_id, type, object_id, body, public,"
                    " published_at) VALUES ($1, $2, 'Announce', $3, $4::jsonb, true, now())",
                    group_id, f"{inst.actor('origin')}/announces/1", note,
                    json.dumps({"type": "Announce", "object": note}),
                )  # fmt: skip
                t0 = time.time()
                wanted = {"object": note, "criteria": {"k": recipients}}
                answer = await inst.api("POST", "/groups/origin/propagations", json=wanted)
                assert answer.status_code == 202, answer.text
                executed = answer.json()["result"]["executed"]
                state = None
                while time.time() - t0 < 120:
                    state = await deliveries_state(conn)
                    if state["total"] and state["delivered"] == state["total"]:
                        break
                    await asyncio.sleep(0.05)
                assert state is not None
                took = (state["last_delivered"] or time.time()) - t0
                stats = await rx.ask("stats")
                print(f"graph: propagation: {executed.split(':')[0]}; {state['delivered']}/"
                      f"{state['total']} deliveries to {state['inboxes']} inboxes on "
                      f"{stats['distinct_hosts']} hosts; receivers got {stats['posts']} POSTs;"
                      f" {took:.2f} s from the request to the last delivery")  # fmt: skip
                return took
            finally:
                await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groups", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--recipients", type=int, default=200)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--skip-nearby", action="store_true")
    parser.add_argument("--skip-propagation", action="store_true")
    args = parser.parse_args()
    rows = []
    if not args.skip_nearby:
        p95, base95 = asyncio.run(nearby(args.groups, args.queries, args.concurrency))
        rows.append(nearby_row(p95, base95))
    if not args.skip_propagation:
        rows.append(propagation_row(asyncio.run(propagation(args.recipients, args.hosts))))
    print(format_table(rows))


def nearby_row(p95: float, base95: float) -> Row:
    """The summary table's row for part 1 (target: p95 under 20 ms)."""
    return Row("graph nearby p95", p95, "ms", 20, better="lower", on="value", baseline=base95,
               baseline_name="sequential scans")  # fmt: skip


def propagation_row(took: float) -> Row:
    """The summary table's row for part 2 (no target)."""
    return Row("graph propagation (200 on 50 hosts)", took, "s", None)


if __name__ == "__main__":
    main()

"""Places and themes of groups (store/graph_nodes.py) in PostgreSQL: profiles round
trip, remote actors never overwrite ours, and the neighbourhood brings the nearest
by place, the nearest sharing each theme and the related groups, deleted ones left out."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from imago_fed.domain.graph.places import Place
from imago_fed.domain.graph.proximity import ProximityWeights
from imago_fed.domain.graph.relations import Relation
from imago_fed.domain.ports.graph import NodeProfile
from imago_fed.store.graph_nodes import PgGraphNodes, theme_set_key
from imago_fed.store.graph_relations import PgRelationStore
from imago_fed.store.groups import PgGroupRepository
from tests.store.helpers import AddGroup

NOW = datetime(2026, 5, 1, tzinfo=UTC)
BASE = "https://groups.test/groups/"
PARIS = Place(48.8567, 2.351, "Paris", "Q90")


def actor(slug: str) -> str:
    return BASE + slug


async def test_a_profile_round_trips_and_its_themes_are_indexed(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, nodes = await add_group("garden"), PgGraphNodes(pool)
    assert await nodes.profile(garden) is None
    profile = NodeProfile(PARIS, ("Q124946", "Q11451"), ProximityWeights(geo=2, scale_km=20))
    await nodes.save_profile(garden, actor("garden"), "@garden@groups.test", profile, NOW)
    assert await nodes.profile(garden) == profile
    themes = await pool.fetch("SELECT theme, slot::text, place::text FROM graph_node_themes")
    whole = theme_set_key([124946, 11451])
    assert whole is not None and whole < 0 and whole == theme_set_key([11451, 124946, 11451])
    assert sorted((r["theme"], r["slot"], r["place"]) for r in themes) == [
        (whole, f"[{whole},{whole + 1})", "(2.351,48.8567)"),
        (11451, "[11451,11452)", "(2.351,48.8567)"), (124946, "[124946,124947)", "(2.351,48.8567)"),
    ]  # fmt: skip
    await nodes.save_profile(garden, actor("garden"), "@garden@groups.test", NodeProfile(), NOW)
    assert await nodes.profile(garden) == NodeProfile()
    assert await pool.fetchval("SELECT count(*) FROM graph_node_themes") == 0


async def test_a_remote_actor_is_a_node_but_never_overwrites_ours(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, nodes = await add_group("garden"), PgGraphNodes(pool)
    await nodes.save_profile(garden, actor("garden"), "@garden@groups.test",
                             NodeProfile(PARIS), NOW)  # fmt: skip
    await nodes.save_remote(actor("garden"), "@evil@x", Place(0, 0), ("Q1",), NOW)
    assert (await nodes.profile(garden)) == NodeProfile(PARIS)
    assert await pool.fetchval("SELECT count(*) FROM graph_node_themes") == 0

    remote = "https://other.example/groups/jardins"
    await nodes.save_remote(remote, "@jardins@other.example", Place(48.86, 2.44), ("Q1",), NOW)
    await nodes.save_remote(remote, "@jardins@other.example", None, ("Q2",), NOW)
    row = await pool.fetchrow("SELECT place, themes, group_id FROM graph_nodes WHERE actor = $1",
                              remote)  # fmt: skip
    assert (row["place"], row["themes"], row["group_id"]) == (None, [2], None)


async def test_the_neighbourhood_gathers_near_themed_and_related_groups(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    nodes, relations = PgGraphNodes(pool), PgRelationStore(pool)
    ids = {slug: await add_group(slug) for slug in ("a", "near", "far", "themed", "gone", "b")}

    async def place(slug: str, lat: float, lon: float, *themes: str) -> None:
        await nodes.save_profile(ids[slug], actor(slug), f"@{slug}@groups.test",
                                 NodeProfile(Place(lat, lon), themes), NOW)  # fmt: skip

    await place("a", 48.85, 2.35, "Q5")
    await place("near", 48.80, 2.12)
    await place("far", -33.9, 151.2)
    await place("themed", 35.7, 139.7, "Q5")
    await place("gone", 48.86, 2.36, "Q5")
    await PgGroupRepository(pool).mark_deleted("gone", NOW)
    # a -partner- b -partner- remote: b has no place, the remote no node at all.
    remote = "https://other.example/groups/r"
    first = await relations.add(ids["a"], Relation(actor("a"), actor("b"), "partner"),
                                actor("b"), "o1", NOW)  # fmt: skip
    await relations.move(first.id, "accepted", NOW)
    second = await relations.add(ids["b"], Relation(actor("b"), remote, "partner"), remote,
                                 "o2", NOW)  # fmt: skip
    await relations.move(second.id, "accepted", NOW)

    hood = await nodes.neighbourhood(ids["a"], actor("a"), nearest=1, per_theme=5, hops=2)
    assert hood.anchor.place == Place(48.85, 2.35) and hood.anchor.themes == {"Q5"}
    found = {c.id for c in hood.candidates}
    # nearest 1 by place: "near" ("gone" is nearer but deleted); "themed" shares Q5;
    # "b" and the remote are within two accepted relations; "far" is none of these.
    assert found == {actor("near"), actor("themed"), actor("b"), remote}
    assert {(r.source, r.target) for r in hood.relations} == {
        (actor("a"), actor("b")), (actor("b"), remote)
    }  # fmt: skip
    assert hood.handles[actor("near")] == "@near@groups.test"

    one_hop = await nodes.neighbourhood(ids["a"], actor("a"), nearest=1, per_theme=5, hops=1)
    assert {c.id for c in one_hop.candidates} == {actor("near"), actor("themed"), actor("b")}
    nothing = await nodes.neighbourhood(ids["far"], actor("far"), nearest=0, per_theme=5, hops=0)
    assert nothing.candidates == [] and nothing.relations == []


async def test_nearest_folds_the_reads_into_one_statement_and_keeps_the_best_k(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    """``nearest`` gives what ``neighbourhood`` gives (anchor, weights, relations) and,
    of its candidates, a subset over which ``rank`` finds the same best k: every
    related group, and the unrelated ones the store's own scoring keeps."""
    import random

    from imago_fed.domain.graph.proximity import hops_from, rank

    rng = random.Random(5)
    nodes, relations = PgGraphNodes(pool), PgRelationStore(pool)
    ids = {slug: await add_group(slug) for slug in ("a", "b", "c", "gone")}
    weights = ProximityWeights(geo=0.7, theme=2.5, graph=0.4, scale_km=30, decay=0.3)
    await nodes.save_profile(ids["a"], actor("a"), "@a@groups.test",
                             NodeProfile(PARIS, ("Q1", "Q2", "Q3"), weights), NOW)  # fmt: skip
    await nodes.save_profile(ids["b"], actor("b"), "@b@groups.test",
                             NodeProfile(Place(48.7, 2.2), ("Q2",)), NOW)  # fmt: skip
    await nodes.save_profile(ids["gone"], actor("gone"), "@gone@groups.test",
                             NodeProfile(PARIS, ("Q1", "Q2", "Q3")), NOW)  # fmt: skip
    await PgGroupRepository(pool).mark_deleted("gone", NOW)
    for n in range(300):  # remote groups around Paris, some far, some without a place
        place = None if n % 17 == 0 else Place(48.85 + rng.gauss(0, 0.5 if n % 5 else 8),
                                                2.35 + rng.gauss(0, 0.5 if n % 5 else 8))
        themes = tuple(sorted({f"Q{rng.randint(1, 6)}" for _ in range(rng.randint(0, 3))}))
        await nodes.save_remote(f"https://r{n}.example/g", f"@g@r{n}.example", place, themes, NOW)
    # a -partner- b -partner- c (c has no node), and a remote far away related to a.
    far = "https://r5.example/g"
    for owner, peer in (("a", actor("b")), ("b", actor("c")), ("a", far)):
        row = await relations.add(ids[owner], Relation(actor(owner), peer, "partner"), peer,
                                  f"offer-{owner}-{peer}", NOW)  # fmt: skip
        await relations.move(row.id, "accepted", NOW)

    for k, near, per_theme in ((1, 5, 2), (10, 40, 10), (50, 200, 50), (300, 1000, 300)):
        full = await nodes.neighbourhood(ids["a"], actor("a"), nearest=near, per_theme=per_theme,
                                         hops=3)  # fmt: skip
        cut = await nodes.nearest(ids["a"], actor("a"), k=k, hops=3, nearest=near,
                                  per_theme=per_theme)  # fmt: skip
        assert (cut.anchor, cut.weights) == (full.anchor, full.weights)
        assert cut.weights == weights
        assert sorted(cut.relations, key=repr) == sorted(full.relations, key=repr)
        assert cut.handles.items() <= full.handles.items()
        kept = {c.id for c in cut.candidates}
        assert kept <= {c.id for c in full.candidates}
        assert {actor("b"), actor("c"), far} <= kept and actor("gone") not in kept
        assert actor("a") not in kept
        paths = hops_from(actor("a"), full.relations, 3)
        best = rank(full.anchor, full.candidates, full.weights, k, paths=paths)
        assert rank(cut.anchor, cut.candidates, cut.weights, k, paths=paths) == best
        if k < 300:
            assert len(kept) < len(full.candidates)

    # c never said where it is or what it cares about: nothing is near it.
    alone = await nodes.nearest(ids["c"], actor("c"), k=5, hops=0, nearest=5, per_theme=5)
    assert alone.candidates == [] and alone.relations == [] and alone.anchor.place is None


async def test_the_nearest_groups_with_exactly_the_same_themes_are_candidates_however_far(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    """A group in Tokyo with exactly Paris's themes (theme closeness 1) is fetched even
    when the nearest groups sharing its themes, all near Paris, fill the per-theme scans."""
    nodes = PgGraphNodes(pool)
    paris = await add_group("paris")
    await nodes.save_profile(paris, actor("paris"), "@paris@groups.test",
                             NodeProfile(PARIS, ("Q5", "Q7")), NOW)  # fmt: skip
    for n in range(6):  # near, sharing both themes and having another
        near = Place(48.85 + n / 100, 2.35)
        await nodes.save_remote(f"https://near{n}.example/g", None, near,
                                ("Q5", "Q7", f"Q{100 + n}"), NOW)  # fmt: skip
    twin = "https://tokyo.example/g"
    await nodes.save_remote(twin, None, Place(35.68, 139.69), ("Q7", "Q5", "Q7"), NOW)
    for fetch in (nodes.nearest(paris, actor("paris"), k=3, hops=0, nearest=2, per_theme=2),
                  nodes.neighbourhood(paris, actor("paris"), nearest=2, per_theme=2, hops=0)):
        found = [c.id for c in (await fetch).candidates]
        assert twin in found
    # Without its set row (written before sets were indexed) the twin is out of reach.
    await pool.execute("DELETE FROM graph_node_themes WHERE theme < 0 AND node ="
                       " (SELECT id FROM graph_nodes WHERE actor = $1)", twin)  # fmt: skip
    hood = await nodes.neighbourhood(paris, actor("paris"), nearest=2, per_theme=2, hops=0)
    assert twin not in [c.id for c in hood.candidates]

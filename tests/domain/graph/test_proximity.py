"""Proximity: explainable scores, ranking properties, and the graph walk."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.graph.places import Place
from imago_fed.domain.graph.proximity import (
    GraphPath,
    GroupNode,
    ProximityWeights,
    hops_from,
    rank,
    score,
)
from imago_fed.domain.graph.relations import Relation

from .test_places import destination

PARIS = Place(48.8566, 2.3522, "Paris", "Q90")
weights = st.builds(
    ProximityWeights,
    geo=st.floats(min_value=0.01, max_value=10),
    theme=st.floats(min_value=0.01, max_value=10),
    graph=st.floats(min_value=0.01, max_value=10),
    scale_km=st.floats(min_value=0.5, max_value=5000),
    decay=st.floats(min_value=0.01, max_value=1),
)
any_weights = (
    st.tuples(st.floats(0, 10), st.floats(0, 10), st.floats(0, 10))
    .filter(lambda t: sum(t) > 0)
    .map(lambda t: ProximityWeights(geo=t[0], theme=t[1], graph=t[2]))
) | weights
theme_sets = st.frozensets(st.integers(1, 40).map(lambda n: f"Q{n}"), max_size=8)
opt_places = st.none() | st.builds(
    Place, st.floats(-90, 90, allow_nan=False), st.floats(-180, 180, allow_nan=False)
)
opt_paths = st.none() | st.integers(1, 6).map(lambda h: GraphPath(h, ("partner",) * h, ()))


def node(name: str, place: Place | None = None, themes: frozenset[str] = frozenset()) -> GroupNode:
    return GroupNode(f"https://x.example/g/{name}", place, themes)


def position(scores: list, group: GroupNode) -> int:  # type: ignore[type-arg]
    return [s.group for s in scores].index(group.id)


# --- the score and its explanation -----------------------------------------------------------


def test_a_score_explains_itself() -> None:
    anchor = node("a", PARIS, frozenset({"Q1", "Q2", "Q3"}))
    near = node("b", destination(PARIS, 90, 12), frozenset({"Q2", "Q1", "Q9"}))
    result = score(anchor, near, path=GraphPath(1, ("partner",), (near.id,)))
    assert result.distance_km == pytest.approx(12, abs=0.01)
    assert result.shared_themes == ("Q1", "Q2")
    assert result.hops == 1
    assert result.why == "12 km away, shares 2 themes (Q1, Q2), 1 hop (partner)"
    assert result.to_dict() == {
        "score": result.score,
        "distance_km": result.distance_km,
        "shared_themes": ["Q1", "Q2"],
        "hops": 1,
        "why": result.why,
    }
    w = ProximityWeights()
    assert result.distance_km is not None
    expected = (math.exp(-result.distance_km / w.scale_km) + 2 / 4 + 1.0) / 3
    assert result.score == pytest.approx(expected)


@pytest.mark.parametrize(
    ("km", "text"), [(0.2, "less than 1 km away"), (3.44, "3.4 km away"), (250.4, "250 km away")]
)
def test_distances_read_naturally(km: float, text: str) -> None:
    anchor = node("a", PARIS)
    assert score(anchor, node("b", destination(PARIS, 0, km))).why.startswith(text + ",")


def test_what_is_unknown_is_said() -> None:
    result = score(node("a"), node("b"))
    assert result.why == "place unknown, no shared themes, not connected"
    assert (result.score, result.distance_km, result.hops) == (0.0, None, None)


def test_long_theme_lists_are_cut_and_labels_used() -> None:
    themes = frozenset(f"Q{n}" for n in range(1, 9))
    result = score(node("a", themes=themes), node("b", themes=themes), labels={"Q1": "gardening"})
    assert "shares 8 themes (Q1 gardening, Q2, Q3, Q4, Q5, …)" in result.why
    one = score(node("a", themes=frozenset({"Q7"})), node("b", themes=frozenset({"Q7"})))
    assert "shares 1 theme (Q7)" in one.why
    two_hops = score(node("a"), node("b"), path=GraphPath(2, ("partner", "subgroup"), ()))
    assert two_hops.why.endswith("2 hops (partner, subgroup)")


def test_rare_themes_can_count_more() -> None:
    anchor = node("a", themes=frozenset({"Q1", "Q2"}))
    rare = node("b", themes=frozenset({"Q1"}))
    common = node("c", themes=frozenset({"Q2"}))
    idf = {"Q1": 5.0, "Q2": 0.5}
    assert (
        score(anchor, rare, theme_weights=idf).score
        > score(anchor, common, theme_weights=idf).score
    )
    with pytest.raises(InvalidInput):
        score(anchor, rare, theme_weights={"Q1": -1.0})


@pytest.mark.parametrize(
    "bad",
    [
        {"geo": -1},
        {"geo": 0, "theme": 0, "graph": 0},
        {"scale_km": 0},
        {"scale_km": math.inf},
        {"decay": 0},
        {"decay": 1.5},
        {"theme": math.nan},
        {"graph": "1"},
    ],
)
def test_weights_are_validated(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        ProximityWeights(**bad)  # type: ignore[arg-type]


def test_weights_dict_round_trip() -> None:
    w = ProximityWeights(geo=2, theme=0, graph=1, scale_km=10, decay=0.8)
    assert ProximityWeights.from_dict(w.to_dict()) == w
    assert ProximityWeights.from_dict({}) == ProximityWeights()
    with pytest.raises(InvalidInput):
        ProximityWeights.from_dict({"gravity": 1})


@given(any_weights, opt_places, opt_places, theme_sets, theme_sets, opt_paths)
def test_scores_stay_in_the_unit_interval(
    w: ProximityWeights,
    pa: Place | None,
    pb: Place | None,
    ta: frozenset[str],
    tb: frozenset[str],
    path: GraphPath | None,
) -> None:
    result = score(node("a", pa, ta), node("b", pb, tb), w, path=path)
    assert 0.0 <= result.score <= 1.0
    assert all(0.0 <= part <= 1.0 for part in result.parts.values())


# --- ranking properties ----------------------------------------------------------------------


@given(
    weights,
    st.floats(0, 10_000),
    st.floats(0, 10_000),
    st.floats(0, 360),
    st.floats(0, 360),
    theme_sets,
    theme_sets,
    opt_paths,
)
def test_closer_never_ranks_below_farther(
    w: ProximityWeights,
    d1: float,
    d2: float,
    bearing1: float,
    bearing2: float,
    anchor_themes: frozenset[str],
    themes: frozenset[str],
    path: GraphPath | None,
) -> None:
    anchor = node("anchor", PARIS, anchor_themes)
    one = node("one", destination(PARIS, bearing1, d1), themes)
    two = node("two", destination(PARIS, bearing2, d2), themes)
    paths = {one.id: path, two.id: path} if path else {}
    ranked = rank(anchor, [two, one], w, k=2, paths=paths)
    closer, farther = sorted((one, two), key=lambda g: (ranked_distance(ranked, g), g.id))
    assert position(ranked, closer) < position(ranked, farther)


def ranked_distance(ranked: list, group: GroupNode) -> float:  # type: ignore[type-arg]
    return next(s.distance_km for s in ranked if s.group == group.id)


@given(
    weights,
    opt_places,
    st.frozensets(st.integers(1, 20).map(lambda n: f"Q{n}"), min_size=1, max_size=8),
    st.data(),
)
def test_more_shared_themes_never_rank_below_fewer(
    w: ProximityWeights, place: Place | None, anchor_themes: frozenset[str], data: st.DataObject
) -> None:
    ordered = sorted(anchor_themes)
    few = frozenset(data.draw(st.lists(st.sampled_from(ordered), unique=True)))
    more = frozenset(data.draw(st.lists(st.sampled_from(ordered), unique=True)))
    assume(len(more) > len(few))
    extra = data.draw(st.integers(0, 5))
    # The same number of themes outside the anchor's, so "all else" is equal.
    pad_few = frozenset(f"Q{100 + i}" for i in range(extra))
    pad_more = frozenset(f"Q{200 + i}" for i in range(extra))
    anchor = node("anchor", PARIS, anchor_themes)
    a = node("a", place, more | pad_more)
    b = node("b", place, few | pad_few)
    ranked = rank(anchor, [b, a], w, k=2)
    assert position(ranked, a) < position(ranked, b)


@given(
    weights,
    st.frozensets(st.integers(1, 40).map(lambda n: f"Q{n}"), min_size=1, max_size=8),
    theme_sets,
    st.dictionaries(st.integers(1, 40).map(lambda n: f"Q{n}"), st.floats(0.01, 100), max_size=10),
    st.data(),
)
def test_a_superset_of_shared_themes_never_ranks_below(
    w: ProximityWeights,
    anchor_themes: frozenset[str],
    base: frozenset[str],
    theme_weights: dict[str, float],
    data: st.DataObject,
) -> None:
    # With any theme weights: adding themes the anchor has never lowers a candidate.
    # The added themes are drawn from those the anchor has and the base lacks
    # (drawn, not filtered: a filter rejected most examples).
    base = base - {data.draw(st.sampled_from(sorted(anchor_themes)))}
    added = frozenset(
        data.draw(st.lists(st.sampled_from(sorted(anchor_themes - base)), min_size=1, unique=True))
    )
    anchor = node("anchor", PARIS, anchor_themes)
    b = node("b", PARIS, base)
    a = node("a", PARIS, base | added)
    ranked = rank(anchor, [b, a], w, k=2, theme_weights=theme_weights)
    assert position(ranked, a) < position(ranked, b)


@given(weights, opt_places, theme_sets, st.integers(1, 6), st.integers(1, 6), st.booleans())
def test_fewer_hops_never_rank_below_more(
    w: ProximityWeights,
    place: Place | None,
    themes: frozenset[str],
    h1: int,
    h2: int,
    unreachable: bool,
) -> None:
    assume(h1 < h2)
    anchor = node("anchor", PARIS, frozenset({"Q1"}))
    near, far = node("near", place, themes), node("far", place, themes)
    paths = {near.id: GraphPath(h1, ("partner",) * h1, ())}
    if not unreachable:
        paths[far.id] = GraphPath(h2, ("partner",) * h2, ())
    ranked = rank(anchor, [far, near], w, k=2, paths=paths)
    assert position(ranked, near) < position(ranked, far)


@given(weights, opt_places, opt_places, theme_sets, theme_sets, theme_sets, opt_paths, opt_paths)
def test_a_candidate_closer_on_every_part_never_ranks_below(
    w: ProximityWeights,
    pa: Place | None,
    pb: Place | None,
    anchor_themes: frozenset[str],
    ta: frozenset[str],
    tb: frozenset[str],
    path_a: GraphPath | None,
    path_b: GraphPath | None,
) -> None:
    anchor = node("anchor", PARIS, anchor_themes)
    a, b = node("a", pa, ta), node("b", pb, tb)
    paths = {g.id: p for g, p in ((a, path_a), (b, path_b)) if p}
    sa = score(anchor, a, w, path=path_a)
    sb = score(anchor, b, w, path=path_b)
    if all(sa.parts[p] >= sb.parts[p] for p in ("geo", "theme", "graph")):
        assert sa.score >= sb.score
    ranked = rank(anchor, [a, b], w, k=2, paths=paths)
    assert ranked[0].score >= ranked[1].score


@given(
    weights,
    st.sampled_from(["geo", "theme", "graph"]),
    st.floats(0, 50),
    opt_places,
    theme_sets,
    opt_paths,
)
def test_raising_a_weight_pulls_the_score_toward_that_part(
    w: ProximityWeights,
    part: str,
    more: float,
    place: Place | None,
    themes: frozenset[str],
    path: GraphPath | None,
) -> None:
    anchor = node("anchor", PARIS, frozenset({"Q1", "Q2"}))
    candidate = node("c", place, themes)
    before = score(anchor, candidate, w, path=path)
    raised = ProximityWeights(**{**w.to_dict(), part: getattr(w, part) + more})
    after = score(anchor, candidate, raised, path=path)
    target = before.parts[part]
    low, high = sorted((before.score, target))
    assert low - 1e-9 <= after.score <= high + 1e-9


@given(
    weights,
    st.lists(st.tuples(opt_places, theme_sets, opt_paths), min_size=1, max_size=12),
    st.integers(1, 12),
    st.randoms(),
)
def test_rank_is_deterministic_and_bounded(
    w: ProximityWeights,
    specs: list[tuple[Place | None, frozenset[str], GraphPath | None]],
    k: int,
    rnd: random.Random,
) -> None:
    anchor = node("anchor", PARIS, frozenset({"Q1", "Q2", "Q3"}))
    groups = [node(str(i), p, t) for i, (p, t, _) in enumerate(specs)]
    paths = {g.id: path for g, (_, _, path) in zip(groups, specs, strict=True) if path}
    first = rank(anchor, groups, w, k, paths=paths)
    shuffled = list(groups)
    rnd.shuffle(shuffled)
    assert rank(anchor, shuffled, w, k, paths=paths) == first
    assert len(first) == min(k, len(groups))
    assert [s.score for s in first] == sorted((s.score for s in first), reverse=True)
    everything = rank(anchor, groups, w, len(groups), paths=paths)
    assert everything[: len(first)] == first


def test_rank_skips_the_anchor_and_repeats_and_checks_k() -> None:
    anchor = node("a", PARIS)
    b = node("b", PARIS)
    assert [s.group for s in rank(anchor, [anchor, b, b], k=10)] == [b.id]
    for bad in (0, -1, 1001, True, 2.0):
        with pytest.raises(InvalidInput):
            rank(anchor, [b], k=bad)  # type: ignore[arg-type]


# --- hops over accepted relations ------------------------------------------------------------

A, B, C, D, E = (f"https://x.example/g/{n}" for n in "abcde")


def accepted(source: str, target: str, kind: str = "partner") -> Relation:
    return Relation(source, target, kind, "accepted")


def test_hops_follow_accepted_relations_both_ways_up_to_the_bound() -> None:
    relations = [
        accepted(A, B),
        accepted(C, B, "subgroup"),  # C is a subgroup of B
        accepted(C, D),
        Relation(D, E, "partner", "proposed"),  # not (yet) an edge
    ]
    paths = hops_from(A, relations, max_hops=5)
    assert paths[B] == GraphPath(1, ("partner",), (B,))
    assert paths[C] == GraphPath(2, ("partner", "subgroup"), (B, C))
    assert paths[D].hops == 3
    assert E not in paths and A not in paths
    assert set(hops_from(A, relations, max_hops=2)) == {B, C}
    assert hops_from(A, relations, max_hops=0) == {}
    # Walking up from C, B is its parent.
    assert hops_from(C, relations, 1)[B].kinds == ("parent",)


def test_hops_can_be_restricted_to_kinds() -> None:
    relations = [accepted(A, B), accepted(B, C, "same_place"), accepted(A, D, "same_theme")]
    assert set(hops_from(A, relations, 3, only_kinds={"partner", "same_place"})) == {B, C}
    assert set(hops_from(A, relations, 3, only_kinds={"parent"})) == set()


def test_hops_take_the_shortest_path_even_on_cycles() -> None:
    relations = [accepted(A, B), accepted(B, C), accepted(C, D), accepted(D, A)]
    paths = hops_from(A, relations, 10)
    assert {g: p.hops for g, p in paths.items()} == {B: 1, D: 1, C: 2}


def test_equal_paths_are_chosen_the_same_way_whatever_the_input_order() -> None:
    relations = [accepted(A, B), accepted(A, C, "same_place"), accepted(B, D), accepted(C, D)]
    first = hops_from(A, relations, 3)
    assert hops_from(A, list(reversed(relations)), 3) == first
    assert first[D].via == (B, D)  # "partner" sorts before "same_place"


def test_hops_bound_is_checked() -> None:
    for bad in (-1, 11, True, 1.5):
        with pytest.raises(InvalidInput):
            hops_from(A, [], bad)  # type: ignore[arg-type]


@given(
    st.lists(
        st.tuples(st.sampled_from([A, B, C, D, E]), st.sampled_from([A, B, C, D, E])), max_size=12
    ),
    st.integers(0, 5),
)
def test_hops_match_a_brute_force_shortest_path(pairs: list[tuple[str, str]], bound: int) -> None:
    relations = [accepted(s, t) for s, t in pairs if s != t]
    adjacency: dict[str, set[str]] = {}
    for r in relations:
        adjacency.setdefault(r.source, set()).add(r.target)
        adjacency.setdefault(r.target, set()).add(r.source)
    expected: dict[str, int] = {}
    frontier, depth, seen = {A}, 0, {A}
    while frontier and depth < bound:
        depth += 1
        frontier = {n for f in frontier for n in adjacency.get(f, ()) if n not in seen}
        seen |= frontier
        expected.update(dict.fromkeys(frontier, depth))
    assert {g: p.hops for g, p in hops_from(A, relations, bound).items()} == expected

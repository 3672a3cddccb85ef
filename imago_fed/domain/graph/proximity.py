"""Proximity: how close a candidate group is to an anchor group, and why.

Three closenesses, each in [0, 1], blended by weights the anchor group chooses:

    geo    = exp(-distance_km / scale_km)        0 when either place is unknown
    theme  = weighted Jaccard of theme QIDs      0 when neither has themes
    graph  = decay ** (hops - 1)                 0 when not connected (hops over
                                                 accepted relations, both ways)

    score  = (w_geo·geo + w_theme·theme + w_graph·graph) / (w_geo + w_theme + w_graph)

Unknown parts count as 0 rather than being left out of the mean: a group that
says nothing about its place must not outrank one that is 3 km away.

Because the score is a weighted mean, its properties are easy to state (and the
tests check them): it stays in [0, 1]; a candidate at least as close on every
part never ranks below another; and raising one weight pulls every score toward
that part's closeness, so it never lowers a candidate that is perfect on that
part nor raises one that scores 0 on it.

Every :class:`Score` carries the figures it came from and a sentence a person
can read ("12 km away, shares 2 themes (Q1, Q2), 1 hop (partner)"): ranking
that cannot be explained cannot be trusted, or corrected.

The store does the heavy lifting (nearest by GiST on ``point``, nearest per
theme by GiST on (theme, place), hops by a recursive CTE) and hands the
candidates here for the exact, explained re-rank (for ``nearby`` it pre-scores
them the same way and hands over only those that can be among the best k).
:func:`hops_from` is the same walk in Python, for tests and small graphs.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.graph.places import EARTH_RADIUS_KM, Place, distance_km
from imago_fed.domain.graph.relations import DEFAULT_KINDS, Relation, RelationKinds
from imago_fed.domain.graph.wikidata import parse_qids

__all__ = [
    "MAX_K",
    "GraphPath",
    "GroupNode",
    "ProximityWeights",
    "Score",
    "hops_from",
    "rank",
    "score",
]

MAX_K = 1000
MAX_HOPS = 10
# How many theme ids a `why` sentence names before it says "…".
_THEMES_SHOWN = 5


@dataclass(frozen=True)
class GroupNode:
    """What proximity needs to know about a group, local or remote."""

    id: str
    place: Place | None = None
    themes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "themes", frozenset(parse_qids(self.themes, limit=1000)))

    @classmethod
    def stored(cls, id: str, place: Place | None, themes: frozenset[str]) -> GroupNode:
        """A node read back from our own store (its themes were checked when written)."""
        node = object.__new__(cls)
        for name, value in (("id", id), ("place", place), ("themes", themes)):
            object.__setattr__(node, name, value)
        return node


@dataclass(frozen=True)
class GraphPath:
    """The shortest walk from the anchor: its length, and what each step was.

    ``kinds[i]`` says what ``via[i]`` is to the group before it (``partner``,
    ``subgroup``...), so ``why`` can say "2 hops (partner, subgroup)".
    """

    hops: int
    kinds: tuple[str, ...]
    via: tuple[str, ...]


def _weight(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{field} must be a number", field=field)
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise InvalidInput(f"{field} must be a finite number >= 0", field=field)
    return number


@dataclass(frozen=True)
class ProximityWeights:
    """How a group weighs geography, themes and the graph, and how fast each fades.

    ``scale_km``: distance at which geographic closeness falls to 1/e (about 0.37).
    ``decay``: how much each hop beyond the first costs (0.5 halves it per hop).
    """

    geo: float = 1.0
    theme: float = 1.0
    graph: float = 1.0
    scale_km: float = 50.0
    decay: float = 0.5

    def __post_init__(self) -> None:
        for name in ("geo", "theme", "graph"):
            object.__setattr__(self, name, _weight(getattr(self, name), name))
        if self.geo + self.theme + self.graph <= 0:
            raise InvalidInput("at least one of geo, theme, graph must be above 0", field="geo")
        scale = _weight(self.scale_km, "scale_km")
        if not 0 < scale <= 20_000:
            raise InvalidInput("scale_km must be above 0 and at most 20000", field="scale_km")
        decay = _weight(self.decay, "decay")
        if not 0 < decay <= 1:
            raise InvalidInput("decay must be above 0 and at most 1", field="decay")
        object.__setattr__(self, "scale_km", scale)
        object.__setattr__(self, "decay", decay)

    def to_dict(self) -> dict[str, float]:
        """A JSON-able shape, for a group's settings."""
        return {
            "geo": self.geo,
            "theme": self.theme,
            "graph": self.graph,
            "scale_km": self.scale_km,
            "decay": self.decay,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProximityWeights:
        """Missing keys take the defaults; unknown keys are refused."""
        if not isinstance(data, Mapping):
            raise InvalidInput("weights must be an object", field="weights")
        unknown = set(data) - set(cls().to_dict())
        if unknown:
            raise InvalidInput(f"unknown weights: {', '.join(sorted(unknown))}", field="weights")
        return cls(**data)


@dataclass(frozen=True)
class Score:
    """A candidate's closeness to the anchor, with the figures behind it."""

    group: str
    score: float
    distance_km: float | None
    shared_themes: tuple[str, ...]
    hops: int | None
    why: str
    parts: Mapping[str, float] = field(default_factory=dict)  # geo, theme, graph

    def to_dict(self) -> dict[str, Any]:
        """The ``nearby`` item shape, minus ``actor``/``handle`` which the adapter adds."""
        return {
            "score": self.score,
            "distance_km": self.distance_km,
            "shared_themes": list(self.shared_themes),
            "hops": self.hops,
            "why": self.why,
        }


def _checked_theme_weights(weights: Mapping[str, float] | None) -> Mapping[str, float]:
    for qid, w in (weights or {}).items():
        _weight(w, f"theme weight of {qid}")
    return weights or {}


def _weighted_jaccard(a: frozenset[str], b: frozenset[str], weights: Mapping[str, float]) -> float:
    union = a | b
    if not union:
        return 0.0
    if not weights:  # plain Jaccard: the common case, and the hot loop of `rank`
        return len(a & b) / len(union)
    total = sum(weights.get(t, 1.0) for t in union)
    if total <= 0:
        return 0.0
    return sum(weights.get(t, 1.0) for t in a & b) / total


def score(
    anchor: GroupNode,
    candidate: GroupNode,
    weights: ProximityWeights | None = None,
    *,
    path: GraphPath | None = None,
    theme_weights: Mapping[str, float] | None = None,
    labels: Mapping[str, str] | None = None,
) -> Score:
    """Score one candidate. ``path`` comes from :func:`hops_from` (or the store's CTE).

    ``theme_weights`` lets rare themes count more than common ones (missing ids
    weigh 1); ``labels`` lets ``why`` name themes ("Q90 Paris") instead of ids.
    """
    return _score(
        anchor,
        candidate,
        weights or ProximityWeights(),
        path,
        _checked_theme_weights(theme_weights),
        labels or {},
    )


def _score(
    anchor: GroupNode,
    candidate: GroupNode,
    weights: ProximityWeights,
    path: GraphPath | None,
    theme_weights: Mapping[str, float],
    labels: Mapping[str, str] | None,
) -> Score:
    """The figures; the sentence only when ``labels`` is given (rank explains its top k)."""
    distance = None
    geo = 0.0
    if anchor.place is not None and candidate.place is not None:
        distance = distance_km(anchor.place, candidate.place)
        geo = math.exp(-distance / weights.scale_km)
    shared = tuple(sorted(anchor.themes & candidate.themes, key=_qid_order))
    theme = _weighted_jaccard(anchor.themes, candidate.themes, theme_weights)
    hops = path.hops if path is not None and path.hops >= 1 else None
    graph = weights.decay ** (hops - 1) if hops is not None else 0.0
    total = weights.geo + weights.theme + weights.graph
    blended = (weights.geo * geo + weights.theme * theme + weights.graph * graph) / total
    return Score(
        group=candidate.id,
        score=min(1.0, max(0.0, blended)),
        distance_km=distance,
        shared_themes=shared,
        hops=hops,
        why="" if labels is None else _explain(distance, shared, path, labels),
        parts={"geo": geo, "theme": theme, "graph": graph},
    )


def rank(
    anchor: GroupNode,
    candidates: Iterable[GroupNode],
    weights: ProximityWeights | None = None,
    k: int = 50,
    *,
    paths: Mapping[str, GraphPath] | None = None,
    theme_weights: Mapping[str, float] | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[Score]:
    """The best ``k`` candidates, best first; the anchor itself and repeats are skipped.

    Ties are broken by distance (nearer first, unknown last), then hops (fewer
    first, none last), then shared themes (more first), then group id, so the
    order never depends on the order candidates came in.
    """
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be a whole number from 1 to {MAX_K}", field="k")
    paths = paths or {}
    weights = weights or ProximityWeights()
    theme_weights = _checked_theme_weights(theme_weights)
    labels = labels or {}
    # The hot loop: a few hundred candidates per query. Only arithmetic here, in
    # a tuple that sorts by score (best first), then distance, hops, shared themes
    # and id; Score objects and sentences only for the k kept.
    total = weights.geo + weights.theme + weights.graph
    w_geo, w_theme, w_graph = weights.geo, weights.theme, weights.graph
    here = anchor.place
    if here is not None:
        lat1 = math.radians(here.lat)
        cos1, lon1 = math.cos(lat1), here.lon
    mine = anchor.themes
    seen: set[str] = {anchor.id}
    rows: list[tuple[float, float, float, int, str, GroupNode]] = []
    for candidate in candidates:
        if candidate.id in seen:
            continue
        seen.add(candidate.id)
        distance = math.inf
        geo = 0.0
        there = candidate.place
        if here is not None and there is not None:
            lat2 = math.radians(there.lat)
            h = (
                math.sin((lat2 - lat1) / 2) ** 2
                + cos1 * math.cos(lat2) * math.sin(math.radians(there.lon - lon1) / 2) ** 2
            )
            distance = 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, max(0.0, h))))
            geo = math.exp(-distance / weights.scale_km)
        theirs = candidate.themes
        shared = len(mine & theirs) if theirs and mine else 0
        theme = _weighted_jaccard(mine, theirs, theme_weights) if shared else 0.0
        path = paths.get(candidate.id)
        hops = path.hops if path is not None and path.hops >= 1 else 0
        graph = weights.decay ** (hops - 1) if hops else 0.0
        # The same arithmetic as _score, so the order agrees with the scores shown.
        blended = min(1.0, max(0.0, (w_geo * geo + w_theme * theme + w_graph * graph) / total))
        rows.append((-blended, distance, hops or math.inf, -shared, candidate.id, candidate))
    kept = heapq.nsmallest(k, rows, key=lambda r: r[:5])
    return [
        _score(anchor, row[5], weights, paths.get(row[4]), theme_weights, labels) for row in kept
    ]


def hops_from(
    anchor: str,
    relations: Iterable[Relation],
    max_hops: int = 3,
    *,
    only_kinds: Collection[str] | None = None,
    kinds: RelationKinds = DEFAULT_KINDS,
) -> dict[str, GraphPath]:
    """Breadth-first walk over accepted relations, both directions, at most ``max_hops``.

    Returns the shortest path to every group reached (not the anchor). Among
    paths of equal length the one chosen is fixed (neighbours are visited in
    order of kind, then id), so ``why`` is stable between calls.
    ``only_kinds`` restricts the walk to edges of those kinds (as seen by the
    walker: following a ``subgroup`` edge upward is a ``parent`` step).
    """
    if isinstance(max_hops, bool) or not isinstance(max_hops, int) or not 0 <= max_hops <= MAX_HOPS:
        raise InvalidInput(
            f"max_hops must be a whole number from 0 to {MAX_HOPS}", field="max_hops"
        )
    allowed = frozenset(only_kinds) if only_kinds is not None else None
    neighbours: dict[str, list[tuple[str, str]]] = {}
    for relation in relations:
        if not relation.active:
            continue
        for here in (relation.source, relation.target):
            step = (relation.kind_from(here, kinds), relation.other(here))
            if allowed is None or step[0] in allowed:
                neighbours.setdefault(here, []).append(step)
    for steps in neighbours.values():
        steps.sort()
    found: dict[str, GraphPath] = {}
    queue: deque[tuple[str, GraphPath]] = deque([(anchor, GraphPath(0, (), ()))])
    while queue:
        here, path = queue.popleft()
        if path.hops >= max_hops:
            continue
        for kind, there in neighbours.get(here, ()):
            if there == anchor or there in found:
                continue
            found[there] = GraphPath(path.hops + 1, (*path.kinds, kind), (*path.via, there))
            queue.append((there, found[there]))
    return found


def _qid_order(qid: str) -> tuple[int, str]:
    digits = qid[1:]
    return (int(digits), qid) if digits.isdigit() else (0, qid)


def _explain(
    distance: float | None,
    shared: Sequence[str],
    path: GraphPath | None,
    labels: Mapping[str, str],
) -> str:
    if path is not None and path.hops < 1:
        path = None
    if distance is None:
        where = "place unknown"
    elif distance < 1:
        where = "less than 1 km away"
    elif distance < 10:
        where = f"{distance:.1f} km away"
    else:
        where = f"{distance:.0f} km away"
    if shared:
        named = [f"{q} {labels[q]}" if labels.get(q) else q for q in shared[:_THEMES_SHOWN]]
        if len(shared) > _THEMES_SHOWN:
            named.append("…")
        noun = "theme" if len(shared) == 1 else "themes"
        themes = f"shares {len(shared)} {noun} ({', '.join(named)})"
    else:
        themes = "no shared themes"
    if path is None:
        graph = "not connected"
    else:
        noun = "hop" if path.hops == 1 else "hops"
        graph = f"{path.hops} {noun} ({', '.join(path.kinds)})"
    return f"{where}, {themes}, {graph}"

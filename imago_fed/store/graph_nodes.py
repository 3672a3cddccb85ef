"""Places and themes of groups (``graph_nodes``), and the candidates around one.

Implements ``ports.graph.GraphNodes``.

A row per group we know, ours (``group_id`` set) or a remote one (read from its
actor document). The neighbourhood of a group is fetched by index, never by a
scan, whatever the number of groups::

    near     ORDER BY place <-> anchor LIMIT n          GiST (place): nearest first
    themed   per anchor theme t:                         GiST (slot, place):
             WHERE slot @> t ORDER BY place <-> anchor   the nearest sharing t
             LIMIT m
    same set WHERE slot @> key(anchor's themes) ...      the nearest with exactly
             LIMIT m                                     the same themes
    related  the actors of the accepted relations within reach (a recursive walk
             over group_relations, through our own groups only: a remote group's
             edges are its server's to publish)

and handed to the domain, which scores every candidate exactly (great-circle
distance, weighted theme overlap, hops) and keeps the best k. The ``<->`` order
is planar in degrees, not great-circle: it only has to bring the right groups
into the candidate set, which is several times larger than k.

Why "same set": a group anywhere with exactly the anchor's themes has a theme
closeness of 1 and often belongs in the best k (with equal weights it beats a
group 20 km away sharing nothing), but the nearest groups sharing a popular
theme are mostly groups with other themes as well. So besides one
``graph_node_themes`` row per theme, each node has one row for its whole theme
set: ``theme`` is then :func:`theme_set_key`, a negative number (QIDs are
positive), and the same GiST index finds the nearest groups with exactly that
set. Rows written before this existed gain theirs when the node is next saved.
This is still a candidate set, not a proof: a group that none of the scans
reaches can belong in the best k (bench/README.md measures how often).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from imago_fed.domain.graph.places import EARTH_RADIUS_KM, Place
from imago_fed.domain.graph.proximity import GroupNode, ProximityWeights
from imago_fed.domain.graph.relations import Relation
from imago_fed.domain.graph.wikidata import qid_number
from imago_fed.domain.ports.graph import Neighbourhood, NodeProfile

__all__ = ["NEAREST_SQL", "NEIGHBOURHOOD_SQL", "PgGraphNodes", "theme_set_key"]

# The candidates around an anchor: $1 anchor place (or NULL), $2 its theme
# numbers and the key of its theme set, $3 how many nearest by place, $4 how many nearest per theme,
# $5 actors of related groups, $6 and $7 the anchor's actor and node id (never
# its own neighbour).
# One round trip; each part is an index scan.
NEIGHBOURHOOD_SQL = """
WITH near AS (
    SELECT id FROM graph_nodes
     WHERE $1::point IS NOT NULL AND place IS NOT NULL AND actor <> $6
     ORDER BY place <-> $1::point LIMIT $3
), themed AS (
    SELECT t.node AS id
      FROM unnest($2::integer[]) AS wanted(theme)
     CROSS JOIN LATERAL (
        SELECT node FROM graph_node_themes
         WHERE slot @> wanted.theme AND node <> COALESCE($7, 0)
         ORDER BY place <-> COALESCE($1::point, point(0, 0)) LIMIT $4
     ) AS t
), related AS (
    SELECT id FROM graph_nodes WHERE actor = ANY($5::text[])
)
SELECT n.actor, n.handle, n.place, n.place_label, n.place_qid, n.themes
  FROM graph_nodes n
 WHERE n.id IN (SELECT id FROM near UNION SELECT id FROM themed UNION SELECT id FROM related)
   AND (n.group_id IS NULL
        OR EXISTS (SELECT 1 FROM groups g WHERE g.id = n.group_id AND g.deleted_at IS NULL))
"""

# Accepted edges within reach: the anchor's, then those of our groups it reaches.
_WALK_SQL = """
WITH RECURSIVE walk(group_id, depth) AS (
    SELECT $1::bigint, 0
  UNION
    SELECT n.group_id, w.depth + 1
      FROM walk w
      JOIN group_relations r ON r.group_id = w.group_id AND r.state = 'accepted'
      JOIN graph_nodes n ON n.actor = r.peer AND n.group_id IS NOT NULL
     WHERE w.depth + 1 < $2
)
SELECT DISTINCT r.source, r.target, r.kind
  FROM group_relations r
 WHERE r.state = 'accepted' AND r.group_id IN (SELECT group_id FROM walk)
"""


# ``nearest``: NEIGHBOURHOOD_SQL's candidates, the anchor's node and the walk
# over relations (_WALK_SQL) in one statement: $1 the group id; {hops}, {k},
# {nearest} (how many nearest by place) and {per_theme} (how many nearest per
# theme) are whole numbers written into the text, so that PostgreSQL can keep
# one plan per shape instead of planning every call (with them as parameters
# the generic plan does not know the LIMITs and scans). The rows are tagged:
# 'a' the anchor's node, 'e' an accepted edge, 'c' a candidate. The nearest by
# place come with their columns from the index scan; only the others are read
# by id. The themes scanned are the anchor's rows in graph_node_themes: each of
# its themes and its whole set.
# Unrelated candidates are scored here as ``proximity.rank`` scores them
# (haversine km, plain Jaccard, the group's weights; hops are 0) and only the
# best $3 come back, with any within 1e-9 of the $3-th (SQL and Python round
# differently in the last bits): the best k of all candidates are among them,
# so Python scores a few dozen rows instead of a few hundred. Related ones all
# come back: their hops are counted in Python.
_DEFAULTS = ProximityWeights()
NEAREST_SQL = f"""
WITH RECURSIVE anchor AS MATERIALIZED (
    SELECT id, actor, place, place_label, place_qid, themes, weights,
           COALESCE((weights->>'geo')::float8, {_DEFAULTS.geo}) AS w_geo,
           COALESCE((weights->>'theme')::float8, {_DEFAULTS.theme}) AS w_theme,
           COALESCE((weights->>'graph')::float8, {_DEFAULTS.graph}) AS w_graph,
           COALESCE((weights->>'scale_km')::float8, {_DEFAULTS.scale_km}) AS w_scale,
           (SELECT count(DISTINCT x) FROM unnest(themes) x) AS m
      FROM graph_nodes WHERE group_id = $1
), walk(group_id, depth) AS (
    SELECT $1::bigint, 0 WHERE {{hops}} > 0
  UNION
    SELECT n.group_id, w.depth + 1
      FROM walk w
      JOIN group_relations r ON r.group_id = w.group_id AND r.state = 'accepted'
      JOIN graph_nodes n ON n.actor = r.peer AND n.group_id IS NOT NULL
     WHERE w.depth + 1 < {{hops}}
), edges AS MATERIALIZED (
    SELECT DISTINCT r.source, r.target, r.kind
      FROM group_relations r
     WHERE r.state = 'accepted' AND r.source <> r.target
       AND r.group_id IN (SELECT group_id FROM walk)
), related AS MATERIALIZED (
    SELECT id FROM graph_nodes
     WHERE actor IN (SELECT source FROM edges UNION SELECT target FROM edges)
), near AS MATERIALIZED (
    SELECT g.* FROM anchor a CROSS JOIN LATERAL (
        SELECT id, actor, handle, place, place_label, place_qid, themes, group_id
          FROM graph_nodes
         WHERE place IS NOT NULL AND a.place IS NOT NULL AND id <> a.id
         ORDER BY place <-> a.place LIMIT {{nearest}}
    ) g
), themed AS MATERIALIZED (
    SELECT t.id
      FROM anchor a
     CROSS JOIN LATERAL (SELECT theme FROM graph_node_themes WHERE node = a.id) w
     CROSS JOIN LATERAL (
        SELECT node AS id FROM graph_node_themes
         WHERE slot @> w.theme AND node <> a.id
         ORDER BY place <-> COALESCE(a.place, point(0, 0)) LIMIT {{per_theme}}
    ) t
), cand AS MATERIALIZED (
    SELECT f.id, f.actor, f.handle, f.place, f.place_label, f.place_qid, f.themes,
           f.id IN (SELECT id FROM related) AS related
      FROM (
        SELECT * FROM near
         UNION ALL
        SELECT n.id, n.actor, n.handle, n.place, n.place_label, n.place_qid, n.themes, n.group_id
          FROM graph_nodes n
         WHERE n.id IN (SELECT id FROM themed UNION SELECT id FROM related)
           AND n.id NOT IN (SELECT id FROM near)
           AND NOT EXISTS (SELECT 1 FROM anchor a WHERE a.id = n.id)
      ) f
     WHERE f.group_id IS NULL
        OR EXISTS (SELECT 1 FROM groups g WHERE g.id = f.group_id AND g.deleted_at IS NULL)
), scored AS MATERIALIZED (
    SELECT c.*, CASE WHEN c.related THEN NULL ELSE (
             COALESCE(a.w_geo, 0) * CASE WHEN a.place IS NULL OR c.place IS NULL THEN 0 ELSE
               exp(greatest(-700, -2 * {EARTH_RADIUS_KM!r} * asin(sqrt(least(1, greatest(0,
                   sin((radians(c.place[1]) - radians(a.place[1])) / 2) ^ 2
                   + cos(radians(a.place[1])) * cos(radians(c.place[1]))
                     * sin(radians(c.place[0] - a.place[0]) / 2) ^ 2)))) / a.w_scale)) END
           + COALESCE(a.w_theme, 0) * CASE WHEN j.shared = 0 THEN 0
               ELSE j.shared::float8 / (a.m + j.own - j.shared) END
           ) / COALESCE(a.w_geo + a.w_theme + a.w_graph, 1) END AS score
      FROM cand c
      LEFT JOIN anchor a ON true
     CROSS JOIN LATERAL (
        SELECT count(DISTINCT x) AS own,
               count(DISTINCT x) FILTER (WHERE x = ANY (a.themes)) AS shared
          FROM unnest(c.themes) x
     ) j
), cutoff AS (
    SELECT score FROM scored WHERE NOT related ORDER BY score DESC OFFSET {{k}} - 1 LIMIT 1
)
SELECT 'a' AS kind, actor, NULL::text AS handle, place[0] AS lon, place[1] AS lat,
       place_label AS label, place_qid AS qid, themes, weights::text AS extra
  FROM anchor
UNION ALL
SELECT 'e', source, target, NULL, NULL, NULL, NULL, NULL, kind FROM edges
UNION ALL
SELECT 'c', actor, handle, place[0], place[1], place_label, place_qid, themes, NULL
  FROM scored
 WHERE related OR NOT EXISTS (SELECT 1 FROM cutoff)
    OR score >= (SELECT score FROM cutoff) - 1e-9
"""


@functools.lru_cache(maxsize=64)
def _nearest_sql(k: int, hops: int, nearest: int, per_theme: int) -> str:
    """NEAREST_SQL for these sizes (checked to be whole numbers before they go in the text)."""
    sizes = {"k": k, "hops": hops, "nearest": nearest, "per_theme": per_theme}
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < (name == "k"):
            raise ValueError(f"{name} must be a whole number (k at least 1), not {value!r}")
    return NEAREST_SQL.format(**sizes)


def theme_set_key(numbers: Iterable[int]) -> int | None:
    """The ``graph_node_themes.theme`` of a node's whole theme set (None: no themes).

    Negative, so it never equals a theme's QID number; the same for the same set
    whatever the order or repeats. Different sets may share a key (about one
    chance in two thousand million): that only adds candidates, which are scored
    exactly anyway.
    """
    distinct = set(numbers)
    if not distinct:
        return None
    total = sum((n * 2654435761) % 4294967296 for n in distinct)  # Knuth's multiplicative hash
    return -1 - total % 2147483646


def _point(place: Place | None) -> tuple[float, float] | None:
    return (place.lon, place.lat) if place is not None else None


def _place(row: asyncpg.Record) -> Place | None:
    point = row["place"]
    if point is None:
        return None
    return Place.stored(point[1], point[0], row["place_label"] or "", row["place_qid"])


def _themes(numbers: Sequence[int]) -> frozenset[str]:
    return frozenset(f"Q{n}" for n in numbers)


class PgGraphNodes:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def profile(self, group_id: int) -> NodeProfile | None:
        found = await self._anchor(group_id)
        return found[1] if found else None

    async def _anchor(self, group_id: int) -> tuple[int, NodeProfile] | None:
        row = await self._pool.fetchrow(
            "SELECT id, place, place_label, place_qid, themes, weights FROM graph_nodes"
            " WHERE group_id = $1",
            group_id,
        )
        if row is None:
            return None
        weights = json.loads(row["weights"]) if row["weights"] else {}
        return row["id"], NodeProfile(
            place=_place(row),
            themes=tuple(f"Q{n}" for n in row["themes"]),
            weights=ProximityWeights.from_dict(weights),
        )

    async def save_profile(
        self, group_id: int, actor: str, handle: str, profile: NodeProfile, now: datetime
    ) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            node = await conn.fetchval(
                """
                INSERT INTO graph_nodes (actor, group_id, handle, place, place_label, place_qid,
                                         themes, weights, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)
                ON CONFLICT (group_id) DO UPDATE SET
                    actor = EXCLUDED.actor, handle = EXCLUDED.handle, place = EXCLUDED.place,
                    place_label = EXCLUDED.place_label, place_qid = EXCLUDED.place_qid,
                    themes = EXCLUDED.themes, weights = EXCLUDED.weights,
                    updated_at = EXCLUDED.updated_at
                RETURNING id
                """,
                actor, group_id, handle, _point(profile.place),
                profile.place.label if profile.place else "",
                profile.place.qid if profile.place else None,
                [qid_number(q) for q in profile.themes],
                json.dumps(profile.weights.to_dict()), now,
            )  # fmt: skip
            await _index_themes(conn, node, profile.place, profile.themes)

    async def save_remote(
        self, actor: str, handle: str | None, place: Place | None, themes: Sequence[str],
        now: datetime,
    ) -> None:  # fmt: skip
        async with self._pool.acquire() as conn, conn.transaction():
            node = await conn.fetchval(
                """
                INSERT INTO graph_nodes (actor, handle, place, place_label, place_qid, themes,
                                         updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (actor) DO UPDATE SET
                    handle = EXCLUDED.handle, place = EXCLUDED.place,
                    place_label = EXCLUDED.place_label, place_qid = EXCLUDED.place_qid,
                    themes = EXCLUDED.themes, updated_at = EXCLUDED.updated_at
                 WHERE graph_nodes.group_id IS NULL
                RETURNING id
                """,
                actor, handle, _point(place), place.label if place else "",
                place.qid if place else None, [qid_number(q) for q in themes], now,
            )  # fmt: skip
            if node is not None:  # None: the actor is one of our own groups
                await _index_themes(conn, node, place, themes)

    async def neighbourhood(
        self, group_id: int, actor: str, *, nearest: int, per_theme: int, hops: int
    ) -> Neighbourhood:
        node, profile = await self._anchor(group_id) or (None, NodeProfile())
        anchor = GroupNode(actor, profile.place, frozenset(profile.themes))
        relations: list[Relation] = []
        if hops > 0:
            for row in await self._pool.fetch(_WALK_SQL, group_id, hops):
                if row["source"] != row["target"]:
                    relations.append(Relation(row["source"], row["target"], row["kind"],
                                              "accepted"))  # fmt: skip
        related = sorted({g for r in relations for g in (r.source, r.target)} - {actor})
        numbers = [qid_number(q) for q in profile.themes]
        whole = theme_set_key(numbers)
        rows = await self._pool.fetch(
            NEIGHBOURHOOD_SQL, _point(profile.place), numbers + ([whole] if whole else []),
            nearest, per_theme, related, actor, node,
        )  # fmt: skip
        candidates: dict[str, GroupNode] = {}
        handles: dict[str, str] = {}
        for row in rows:
            candidates[row["actor"]] = GroupNode.stored(
                row["actor"], _place(row), _themes(row["themes"])
            )
            if row["handle"]:
                handles[row["actor"]] = row["handle"]
        for other in related:  # related groups we know nothing else about still count
            candidates.setdefault(other, GroupNode(other))
        candidates.pop(actor, None)
        return Neighbourhood(anchor, profile.weights, list(candidates.values()), relations,
                             handles)  # fmt: skip

    async def nearest(
        self, group_id: int, actor: str, *, k: int, hops: int, nearest: int, per_theme: int
    ) -> Neighbourhood:
        rows = await self._pool.fetch(_nearest_sql(k, hops, nearest, per_theme), group_id)
        return _hood(rows, actor)


def _hood(rows: Sequence[asyncpg.Record], actor: str) -> Neighbourhood:
    """Sort ``nearest``'s tagged rows into the anchor, its relations and the candidates."""
    profile, relations = NodeProfile(), []
    candidates: dict[str, GroupNode] = {}
    handles: dict[str, str] = {}
    for row in rows:
        kind = row["kind"]
        if kind == "c":
            candidates[row["actor"]] = GroupNode.stored(row["actor"], _tagged_place(row),
                                                        _themes(row["themes"]))  # fmt: skip
            if row["handle"]:
                handles[row["actor"]] = row["handle"]
        elif kind == "e":
            relations.append(Relation(row["actor"], row["handle"], row["extra"], "accepted"))
        elif kind == "a":
            profile = NodeProfile(
                place=_tagged_place(row),
                themes=tuple(f"Q{n}" for n in row["themes"]),
                weights=ProximityWeights.from_dict(json.loads(row["extra"] or "{}")),
            )
    anchor = GroupNode(actor, profile.place, frozenset(profile.themes))
    related = {g for r in relations for g in (r.source, r.target)} - {actor}
    for other in sorted(related):  # related groups we know nothing else about still count
        candidates.setdefault(other, GroupNode(other))
    candidates.pop(actor, None)
    return Neighbourhood(anchor, profile.weights, list(candidates.values()), relations,
                         handles)  # fmt: skip


def _tagged_place(row: asyncpg.Record) -> Place | None:
    lat = row["lat"]
    return None if lat is None else Place.stored(lat, row["lon"], row["label"] or "", row["qid"])


async def _index_themes(conn: Any, node: int, place: Place | None, themes: Sequence[str]) -> None:
    """Keep ``graph_node_themes`` (each theme and the whole set, with the place) in step
    with the node's row."""
    await conn.execute("DELETE FROM graph_node_themes WHERE node = $1", node)
    numbers = sorted({qid_number(q) for q in themes})
    whole = theme_set_key(numbers)
    await conn.executemany(
        "INSERT INTO graph_node_themes (node, theme, slot, place)"
        " VALUES ($1, $2, int4range($2, $2, '[]'), $3)",
        [(node, n, _point(place)) for n in numbers + ([whole] if whole else [])],
    )

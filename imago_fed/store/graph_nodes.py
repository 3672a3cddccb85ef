"""Places and themes of groups (``graph_nodes``), and the candidates around one.

Implements ``ports.graph.GraphNodes``.

A row per group we know, ours (``group_id`` set) or a remote one (read from its
actor document). The neighbourhood of a group is fetched by index, never by a
scan, whatever the number of groups::

    near     ORDER BY place <-> anchor LIMIT n          GiST (place): nearest first
    themed   per anchor theme t:                         GiST (slot, place):
             WHERE slot @> t ORDER BY place <-> anchor   the nearest sharing t
             LIMIT m
    related  the actors of the accepted relations within reach (a recursive walk
             over group_relations, through our own groups only: a remote group's
             edges are its server's to publish)

and handed to the domain, which scores every candidate exactly (great-circle
distance, weighted theme overlap, hops) and keeps the best k. The ``<->`` order
is planar in degrees, not great-circle: it only has to bring the right groups
into the candidate set, which is several times larger than k.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from imago_fed.domain.graph.places import Place
from imago_fed.domain.graph.proximity import GroupNode, ProximityWeights
from imago_fed.domain.graph.relations import Relation
from imago_fed.domain.graph.wikidata import qid_number
from imago_fed.domain.ports.graph import Neighbourhood, NodeProfile

__all__ = ["NEIGHBOURHOOD_SQL", "PgGraphNodes"]

# The candidates around an anchor: $1 anchor place (or NULL), $2 its theme
# numbers, $3 how many nearest by place, $4 how many nearest per theme,
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
        rows = await self._pool.fetch(
            NEIGHBOURHOOD_SQL, _point(profile.place),
            [qid_number(q) for q in profile.themes], nearest, per_theme, related, actor, node,
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


async def _index_themes(conn: Any, node: int, place: Place | None, themes: Sequence[str]) -> None:
    """Keep ``graph_node_themes`` (theme, place) in step with the node's row."""
    await conn.execute("DELETE FROM graph_node_themes WHERE node = $1", node)
    await conn.executemany(
        "INSERT INTO graph_node_themes (node, theme, slot, place)"
        " VALUES ($1, $2, int4range($2, $2, '[]'), $3)",
        [(node, qid_number(q), _point(place)) for q in themes],
    )

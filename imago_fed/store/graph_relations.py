"""Relations between groups (``group_relations``).

Implements ``ports.relations.RelationStore``.

A row is one local group's view of one edge. Its lifecycle is the domain's
(:data:`RELATION_TRANSITIONS`), checked by :meth:`Relation.move` before the
UPDATE, which also names the state it expects, so two concurrent answers
cannot both win:

    proposed ──> accepted ──> removed
        ├──────> rejected
        └──────> withdrawn

Who is near (places, themes and these relations together) is
store/graph_nodes.py's question.
"""

from __future__ import annotations

import builtins
from datetime import datetime

import asyncpg

from imago_fed.domain.errors import Conflict, NotFound
from imago_fed.domain.graph.relations import Relation
from imago_fed.domain.ports.relations import StoredRelation

__all__ = ["PgRelationStore"]

_COLUMNS = "id, group_id, source, target, kind, peer, state, offer_id, answer_id, updated_at"


def _stored(row: asyncpg.Record) -> StoredRelation:
    return StoredRelation(
        id=row["id"],
        group_id=row["group_id"],
        relation=Relation(row["source"], row["target"], row["kind"], row["state"]),
        peer=row["peer"],
        offer_id=row["offer_id"],
        answer_id=row["answer_id"],
        updated_at=row["updated_at"],
    )


class PgRelationStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add(
        self, group_id: int, relation: Relation, peer: str, offer_id: str, now: datetime
    ) -> StoredRelation:
        try:
            row = await self._pool.fetchrow(
                f"""
                INSERT INTO group_relations
                    (group_id, source, target, kind, peer, state, offer_id, created_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
                RETURNING {_COLUMNS}
                """,
                group_id, relation.source, relation.target, relation.kind, peer,
                relation.state, offer_id, now,
            )  # fmt: skip
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(
                f"{relation.source} and {relation.target} already have a live "
                f"{relation.kind} relation (proposed or accepted)"
            ) from exc
        assert row is not None
        # The group gets its graph node (if it has none), so the walk over
        # relations can step from its actor id to it (store/graph_nodes.py).
        mine = relation.source if peer == relation.target else relation.target
        await self._pool.execute(
            "INSERT INTO graph_nodes (actor, group_id, updated_at) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            mine, group_id, now,
        )  # fmt: skip
        return _stored(row)

    async def get(self, relation_id: int) -> StoredRelation | None:
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM group_relations WHERE id = $1", relation_id
        )
        return _stored(row) if row else None

    async def by_offer(self, offer_id: str) -> builtins.list[StoredRelation]:
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM group_relations WHERE offer_id = $1 ORDER BY id", offer_id
        )
        return [_stored(r) for r in rows]

    async def move(
        self, relation_id: int, state: str, now: datetime, answer_id: str | None = None
    ) -> StoredRelation:
        current = await self.get(relation_id)
        if current is None:
            raise NotFound(f"no relation {relation_id}")
        moved = current.relation.move(state)  # Conflict on an undeclared move
        row = await self._pool.fetchrow(
            f"""
            UPDATE group_relations
               SET state = $2, updated_at = $3, answer_id = COALESCE($4, answer_id)
             WHERE id = $1 AND state = $5
            RETURNING {_COLUMNS}
            """,
            relation_id, moved.state, now, answer_id, current.relation.state,
        )  # fmt: skip
        if row is None:
            raise Conflict(f"relation {relation_id} changed meanwhile; try again")
        return _stored(row)

    async def list(
        self, group_id: int, states: frozenset[str] | None = None
    ) -> builtins.list[StoredRelation]:
        rows = await self._pool.fetch(
            f"""
            SELECT {_COLUMNS} FROM group_relations
             WHERE group_id = $1 AND ($2::text[] IS NULL OR state = ANY($2::text[]))
             ORDER BY id DESC LIMIT 1000
            """,
            group_id, sorted(states) if states is not None else None,
        )  # fmt: skip
        return [_stored(r) for r in rows]

    async def accepted(self, peer: str | None = None) -> builtins.list[StoredRelation]:
        rows = await self._pool.fetch(
            f"""
            SELECT {_COLUMNS} FROM group_relations
             WHERE state = 'accepted' AND ($1::text IS NULL OR peer = $1)
             ORDER BY id
            """,
            peer,
        )
        return [_stored(r) for r in rows]

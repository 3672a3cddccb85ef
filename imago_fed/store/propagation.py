"""Propagation records: feed rules, items per group, rate buckets.

Implements ``ports.propagation.PropagationStore``.

``propagated_items`` is unique on (group, object): whatever path an object
takes, and however many relays send it, a group records it once. The insert
is the de-duplication (``ON CONFLICT DO NOTHING``), so two copies arriving at
the same moment cannot both be accepted. ``verdict`` says what the group did:

    sent      the group originated or relayed it
    accept    received and re-announced at once to its followers
    hold      received and waiting for its moderators
    released  held, then re-announced by a moderator

``propagation_buckets`` keeps one token bucket per (group, origin); a bucket
that has refilled is deleted (the domain prunes it), so the table only holds
origins active within one rate window.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType

import asyncpg

from imago_fed.domain.graph.feeds import Bucket, FeedRules, RateState
from imago_fed.domain.graph.propagation import Item
from imago_fed.domain.ports.propagation import PropagatedItem

__all__ = ["PgPropagationStore"]

_COLUMNS = "id, group_id, envelope, verdict, reason, received_at"


def _item(row: asyncpg.Record) -> PropagatedItem:
    return PropagatedItem(
        id=row["id"],
        group_id=row["group_id"],
        item=Item.from_dict(json.loads(row["envelope"])),
        verdict=row["verdict"],
        reason=row["reason"],
        received_at=row["received_at"],
    )


class PgPropagationStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    # --------------------------------------------------------- feed rules
    async def feed_rules(self, group_id: int) -> FeedRules | None:
        rules = await self._pool.fetchval(
            "SELECT rules FROM feed_rules WHERE group_id = $1", group_id
        )
        return FeedRules.from_dict(json.loads(rules)) if rules else None

    async def save_feed_rules(self, group_id: int, rules: FeedRules, now: datetime) -> None:
        await self._pool.execute(
            """
            INSERT INTO feed_rules (group_id, rules, updated_at) VALUES ($1, $2::jsonb, $3)
            ON CONFLICT (group_id) DO UPDATE SET rules = EXCLUDED.rules,
                                                 updated_at = EXCLUDED.updated_at
            """,
            group_id, json.dumps(rules.to_dict()), now,
        )  # fmt: skip

    # -------------------------------------------------------------- items
    async def seen(self, group_id: int, object_id: str) -> bool:
        found = await self._pool.fetchval(
            "SELECT 1 FROM propagated_items WHERE group_id = $1 AND object_id = $2",
            group_id, object_id,
        )  # fmt: skip
        return found is not None

    async def record(
        self, group_id: int, item: Item, verdict: str, reason: str, now: datetime
    ) -> PropagatedItem | None:
        row = await self._pool.fetchrow(
            f"""
            INSERT INTO propagated_items
                (group_id, object_id, origin, path, hops, hop_limit, verdict, reason,
                 envelope, received_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10)
            ON CONFLICT (group_id, object_id) DO NOTHING
            RETURNING {_COLUMNS}
            """,
            group_id, item.object_id, item.origin, list(item.path), item.hops, item.hop_limit,
            verdict, reason, json.dumps(item.to_dict()), now,
        )  # fmt: skip
        return _item(row) if row else None

    async def get(self, item_id: int) -> PropagatedItem | None:
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM propagated_items WHERE id = $1", item_id
        )
        return _item(row) if row else None

    async def set_verdict(self, item_id: int, verdict: str) -> None:
        await self._pool.execute(
            "UPDATE propagated_items SET verdict = $2 WHERE id = $1", item_id, verdict
        )

    async def items(self, group_id: int, limit: int = 100) -> list[PropagatedItem]:
        rows = await self._pool.fetch(
            f"""
            SELECT {_COLUMNS} FROM propagated_items WHERE group_id = $1
             ORDER BY id DESC LIMIT $2
            """,
            group_id, limit,
        )  # fmt: skip
        return [_item(r) for r in rows]

    async def announced(self, group_id: int, object_id: str) -> bool:
        found = await self._pool.fetchval(
            "SELECT 1 FROM outbox WHERE group_id = $1 AND object_id = $2 AND type = 'Announce'"
            " LIMIT 1",
            group_id, object_id,
        )  # fmt: skip
        return found is not None

    # -------------------------------------------------------- rate limits
    async def rate_state(self, group_id: int) -> RateState:
        rows = await self._pool.fetch(
            "SELECT origin, tokens, at FROM propagation_buckets WHERE group_id = $1", group_id
        )
        buckets: Mapping[str, Bucket] = {r["origin"]: Bucket(r["tokens"], r["at"]) for r in rows}
        return RateState(MappingProxyType(dict(buckets)))

    async def save_rate_state(self, group_id: int, state: RateState) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM propagation_buckets WHERE group_id = $1 AND NOT origin = ANY($2)",
                group_id, list(state.buckets),
            )  # fmt: skip
            await conn.executemany(
                """
                INSERT INTO propagation_buckets (group_id, origin, tokens, at)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (group_id, origin) DO UPDATE SET tokens = EXCLUDED.tokens,
                                                             at = EXCLUDED.at
                """,
                [(group_id, o, b.tokens, b.at) for o, b in state.buckets.items()],
            )

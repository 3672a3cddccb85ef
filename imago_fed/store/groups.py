"""Groups in PostgreSQL (implements ``domain.ports.GroupRepository``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from imago_fed.domain.errors import Conflict
from imago_fed.domain.groups import Group, KeyPair

__all__ = ["PgGroupRepository"]

_COLUMNS = (
    "id, slug, name, summary, created_at, public_key_pem, private_key_sealed,"
    " manually_approves_followers, discoverable, posting_policy"
)


def _to_group(row: asyncpg.Record) -> Group:
    return Group(
        id=row["id"],
        manually_approves_followers=row["manually_approves_followers"],
        discoverable=row["discoverable"],
        posting_policy=row["posting_policy"],
        slug=row["slug"],
        name=row["name"],
        summary=row["summary"],
        created_at=row["created_at"],
        keys=KeyPair(public_pem=row["public_key_pem"], sealed_private=row["private_key_sealed"]),
    )


class PgGroupRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add(self, group: Group) -> Group:
        try:
            row = await self._pool.fetchrow(
                f"""
                INSERT INTO groups (slug, name, summary, created_at, public_key_pem,
                    private_key_sealed, manually_approves_followers, discoverable, posting_policy)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                RETURNING {_COLUMNS}
                """,
                group.slug,
                group.name,
                group.summary,
                group.created_at,
                group.keys.public_pem,
                group.keys.sealed_private,
                group.manually_approves_followers,
                group.discoverable,
                group.posting_policy,
            )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(
                f"the slug {group.slug!r} is taken (slugs of deleted groups are not reused)",
                field="slug",
            ) from exc
        return _to_group(row)

    async def get(self, slug: str) -> Group | None:
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM groups WHERE slug = $1 AND deleted_at IS NULL", slug
        )
        return _to_group(row) if row else None

    async def get_by_id(self, group_id: int) -> Group | None:
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM groups WHERE id = $1 AND deleted_at IS NULL", group_id
        )
        return _to_group(row) if row else None

    async def list(self, *, limit: int, after: str | None) -> Sequence[Group]:
        rows = await self._pool.fetch(
            f"""
            SELECT {_COLUMNS} FROM groups
            WHERE deleted_at IS NULL AND ($1::text IS NULL OR slug > $1)
            ORDER BY slug LIMIT $2
            """,
            after,
            limit,
        )
        return [_to_group(row) for row in rows]

    async def count(self) -> int:
        return await self._pool.fetchval("SELECT count(*) FROM groups WHERE deleted_at IS NULL")

    async def update_profile(self, group: Group) -> None:
        await self._pool.execute(
            "UPDATE groups SET name = $2, summary = $3 WHERE slug = $1 AND deleted_at IS NULL",
            group.slug,
            group.name,
            group.summary,
        )

    async def mark_deleted(self, slug: str, when: datetime) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                "UPDATE groups SET deleted_at = $2 WHERE slug = $1 AND deleted_at IS NULL",
                slug, when,
            )  # fmt: skip
            # A deleted group is close to no one: its place and themes go with it.
            await conn.execute(
                "DELETE FROM graph_nodes WHERE group_id = (SELECT id FROM groups WHERE slug = $1)",
                slug,
            )
        return status.endswith(" 1")

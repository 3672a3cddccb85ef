"""Blocks (ours and those placed on us) and reports (Flags)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from imago_fed.store.database import Db

__all__ = [
    "PgFederationModeration",
    "PgGroupBlocks",
    "add_block",
    "add_report",
    "is_blocked",
    "is_moderator",
    "list_blocks",
    "list_reports",
    "moderators",
    "remove_block",
    "set_blocked_by",
    "set_moderator",
]


async def is_blocked(conn: Db, group_id: int | None, actor_uri: str, host: str) -> bool:
    """Blocked by the instance, or by the group, as an actor or by domain (incl. subdomains)."""
    return bool(
        await conn.fetchval(
            """
            SELECT 1 FROM blocks
            WHERE (group_id IS NULL OR group_id = $1)
              AND ((kind = 'actor' AND value = $2)
                   OR (kind = 'domain' AND ($3 = value OR $3 LIKE '%.' || value)))
            LIMIT 1
            """,
            group_id,
            actor_uri,
            host,
        )
    )


async def add_block(
    conn: Db, *, group_id: int | None, kind: str, value: str, reason: str, now: datetime
) -> int:
    return await conn.fetchval(
        """
        INSERT INTO blocks (group_id, kind, value, reason, created_at)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (group_id, kind, value) DO UPDATE SET reason = EXCLUDED.reason
        RETURNING id
        """,
        group_id, kind, value, reason, now,
    )  # fmt: skip


async def remove_block(conn: Db, block_id: int) -> bool:
    return (await conn.execute("DELETE FROM blocks WHERE id = $1", block_id)).endswith(" 1")


async def list_blocks(conn: Db) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """
        SELECT b.id, g.slug AS "group", b.kind, b.value, b.reason, b.created_at
        FROM blocks b LEFT JOIN groups g ON g.id = b.group_id ORDER BY b.id
        """
    )
    return [{**dict(r), "created_at": r["created_at"].isoformat()} for r in rows]


async def set_blocked_by(
    conn: Db, group_id: int, actor_uri: str, blocked: bool, now: datetime
) -> None:
    if blocked:
        await conn.execute(
            """
            INSERT INTO blocked_by (group_id, actor_uri, created_at) VALUES ($1, $2, $3)
            ON CONFLICT DO NOTHING
            """,
            group_id,
            actor_uri,
            now,
        )
    else:
        await conn.execute(
            "DELETE FROM blocked_by WHERE group_id = $1 AND actor_uri = $2", group_id, actor_uri
        )


async def add_report(
    conn: Db,
    *,
    group_id: int | None,
    reporter: str,
    activity: dict[str, Any],
    content: str,
    objects: list[str],
    now: datetime,
) -> None:
    await conn.execute(
        """
        INSERT INTO reports (group_id, reporter, activity_id, content, objects, body, created_at)
        VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) ON CONFLICT (activity_id) DO NOTHING
        """,
        group_id, reporter, activity["id"], content, objects, json.dumps(activity), now,
    )  # fmt: skip


async def list_reports(conn: Db, *, limit: int = 100) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """
        SELECT r.id, g.slug AS "group", r.reporter, r.content, r.objects, r.created_at
        FROM reports r LEFT JOIN groups g ON g.id = r.group_id ORDER BY r.id DESC LIMIT $1
        """,
        limit,
    )
    return [{**dict(r), "created_at": r["created_at"].isoformat()} for r in rows]


async def set_moderator(
    conn: Db, group_id: int, actor_uri: str, present: bool, now: datetime
) -> bool:
    """Add or remove a moderator; False when nothing changed."""
    if present:
        status = await conn.execute(
            """
            INSERT INTO group_moderators (group_id, actor_uri, added_at) VALUES ($1, $2, $3)
            ON CONFLICT DO NOTHING
            """,
            group_id,
            actor_uri,
            now,
        )
    else:
        status = await conn.execute(
            "DELETE FROM group_moderators WHERE group_id = $1 AND actor_uri = $2",
            group_id,
            actor_uri,
        )
    return status.endswith(" 1")


async def moderators(conn: Db, group_id: int) -> list[str]:
    rows = await conn.fetch(
        "SELECT actor_uri FROM group_moderators WHERE group_id = $1 ORDER BY added_at", group_id
    )
    return [row["actor_uri"] for row in rows]


async def is_moderator(conn: Db, group_id: int, actor_uri: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM group_moderators WHERE group_id = $1 AND actor_uri = $2",
            group_id,
            actor_uri,
        )
    )


class PgGroupBlocks:
    """A group's own blocks by kind and value (implements ``ports.governance.GroupBlocks``).

    What a moderation decision places, and lifts again when a challenged
    do-ocracy act is not upheld.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add(
        self, group_id: int, kind: str, value: str, *, reason: str, now: datetime
    ) -> None:
        await add_block(
            self._pool, group_id=group_id, kind=kind, value=value, reason=reason, now=now
        )

    async def remove(self, group_id: int, kind: str, value: str) -> bool:
        status = await self._pool.execute(
            "DELETE FROM blocks WHERE group_id = $1 AND kind = $2 AND value = $3",
            group_id, kind, value,
        )  # fmt: skip
        return status.endswith(" 1")


class PgFederationModeration:
    """Implements :class:`imago_fed.domain.ports.federation.FederationModeration`."""

    def __init__(self, db: Db) -> None:
        self._db = db

    async def is_blocked(self, group_id: int | None, actor_uri: str, host: str) -> bool:
        return await is_blocked(self._db, group_id, actor_uri, host)

    async def set_blocked_by(
        self, group_id: int, actor_uri: str, blocked: bool, now: datetime
    ) -> None:
        await set_blocked_by(self._db, group_id, actor_uri, blocked, now)

    async def add_report(
        self,
        *,
        group_id: int | None,
        reporter: str,
        activity: dict[str, Any],
        content: str,
        objects: list[str],
        now: datetime,
    ) -> None:
        await add_report(
            self._db, group_id=group_id, reporter=reporter, activity=activity, content=content,
            objects=objects, now=now,
        )  # fmt: skip

    async def set_moderator(
        self, group_id: int, actor_uri: str, present: bool, now: datetime
    ) -> bool:
        return await set_moderator(self._db, group_id, actor_uri, present, now)

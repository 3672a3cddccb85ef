"""Who follows our groups, and whom our groups follow.

Both rows have a lifecycle (``FOLLOWER`` and ``FOLLOWING`` in
:mod:`imago_fed.domain.lifecycle`); a change of ``state`` here is guarded by
the states the graph allows it from, and a state it does not know raises.
"""

from __future__ import annotations

from datetime import datetime

from imago_fed.domain.lifecycle import FOLLOWER, FOLLOWING
from imago_fed.store.database import Db

__all__ = [
    "PgFollows",
    "accept_follower",
    "add_follower",
    "count_followers",
    "follower_delivery_inboxes",
    "followers",
    "following",
    "is_followed",
    "is_follower",
    "remove_follower",
    "remove_follower_everywhere",
    "remove_following",
    "set_following",
    "set_following_state",
    "standing",
]


async def add_follower(
    conn: Db, group_id: int, actor_uri: str, follow_id: str, state: str, now: datetime
) -> None:
    """Record a Follow; a repeated Follow refreshes the id (Mastodon re-sends them)."""
    FOLLOWER.check_entry(state)
    await conn.execute(
        """
        INSERT INTO group_followers (group_id, actor_uri, follow_id, state, created_at)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (group_id, actor_uri) DO UPDATE SET follow_id = EXCLUDED.follow_id,
            state = CASE WHEN group_followers.state = 'accepted' THEN 'accepted'
                         ELSE EXCLUDED.state END
        """,
        group_id, actor_uri, follow_id, state, now,
    )  # fmt: skip


async def accept_follower(conn: Db, group_id: int, actor_uri: str) -> str | None:
    """Mark a pending follower accepted; the Follow's id, or None if not pending."""
    return await conn.fetchval(
        """
        UPDATE group_followers SET state = 'accepted'
        WHERE group_id = $1 AND actor_uri = $2 AND state = ANY($3::text[]) RETURNING follow_id
        """,
        group_id,
        actor_uri,
        FOLLOWER.sources("accepted"),
    )


async def remove_follower(conn: Db, group_id: int, actor_uri: str) -> str | None:
    return await conn.fetchval(
        "DELETE FROM group_followers WHERE group_id = $1 AND actor_uri = $2 RETURNING follow_id",
        group_id,
        actor_uri,
    )


async def remove_follower_everywhere(conn: Db, actor_uri: str) -> None:
    await conn.execute("DELETE FROM group_followers WHERE actor_uri = $1", actor_uri)


async def is_follower(conn: Db, group_id: int, actor_uri: str) -> bool:
    return bool(
        await conn.fetchval(
            """
            SELECT 1 FROM group_followers
            WHERE group_id = $1 AND actor_uri = $2 AND state = 'accepted'
            """,
            group_id,
            actor_uri,
        )
    )


async def standing(conn: Db, group_id: int, actor_uri: str, host: str) -> tuple[bool, bool]:
    """(an accepted follower of the group, blocked by the instance or the group),
    in one read: what deciding to re-share a post asks of the database, which
    took two (``is_follower``, ``moderation.is_blocked``, whose test this is)."""
    row = await conn.fetchrow(
        """
        SELECT EXISTS (SELECT 1 FROM group_followers
                       WHERE group_id = $1 AND actor_uri = $2 AND state = 'accepted'),
               EXISTS (SELECT 1 FROM blocks
                       WHERE (group_id IS NULL OR group_id = $1)
                         AND ((kind = 'actor' AND value = $2)
                              OR (kind = 'domain' AND ($3 = value OR $3 LIKE '%.' || value))))
        """,
        group_id, actor_uri, host,
    )  # fmt: skip
    assert row is not None
    return bool(row[0]), bool(row[1])


async def count_followers(conn: Db, group_id: int) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM group_followers WHERE group_id = $1 AND state = 'accepted'",
        group_id,
    )


async def followers(
    conn: Db, group_id: int, *, state: str = "accepted", limit: int = 100, offset: int = 0
) -> list[str]:
    rows = await conn.fetch(
        """
        SELECT actor_uri FROM group_followers WHERE group_id = $1 AND state = $2
        ORDER BY created_at, actor_uri LIMIT $3 OFFSET $4
        """,
        group_id, state, limit, offset,
    )  # fmt: skip
    return [row["actor_uri"] for row in rows]


async def follower_delivery_inboxes(conn: Db, group_id: int, *, exclude: str | None) -> list[str]:
    """One inbox per follower, the shared one when known, minus those who blocked us."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT coalesce(a.shared_inbox, a.inbox) AS inbox
        FROM group_followers f JOIN remote_actors a ON a.uri = f.actor_uri
        WHERE f.group_id = $1 AND f.state = 'accepted'
          AND ($2::text IS NULL OR f.actor_uri <> $2)
          AND NOT EXISTS (SELECT 1 FROM blocked_by b
                          WHERE b.group_id = f.group_id AND b.actor_uri = f.actor_uri)
        """,
        group_id,
        exclude,
    )
    return [row["inbox"] for row in rows]


async def set_following(
    conn: Db, group_id: int, target_uri: str, follow_id: str, now: datetime
) -> None:
    await conn.execute(
        """
        INSERT INTO group_following (group_id, target_uri, follow_id, state, created_at)
        VALUES ($1, $2, $3, 'requested', $4)
        ON CONFLICT (group_id, target_uri) DO UPDATE
            SET follow_id = EXCLUDED.follow_id, state = 'requested'
        """,
        group_id, target_uri, follow_id, now,
    )  # fmt: skip


async def set_following_state(conn: Db, follow_id: str, actor_uri: str, state: str) -> bool:
    """Apply an Accept/Reject to our Follow; only the followed actor may answer it."""
    allowed = FOLLOWING.sources(state)  # raises before any SQL
    status = await conn.execute(
        """
        UPDATE group_following SET state = $3
        WHERE follow_id = $1 AND target_uri = $2 AND state = ANY($4::text[])
        """,
        follow_id, actor_uri, state, allowed,
    )  # fmt: skip
    return status.endswith(" 1")


async def following(conn: Db, group_id: int) -> list[tuple[str, str, str]]:
    """(target, state, follow id) of everyone the group follows or asked to."""
    rows = await conn.fetch(
        """
        SELECT target_uri, state, follow_id FROM group_following
        WHERE group_id = $1 ORDER BY created_at
        """,
        group_id,
    )
    return [(r["target_uri"], r["state"], r["follow_id"]) for r in rows]


async def remove_following(conn: Db, group_id: int, target_uri: str) -> str | None:
    return await conn.fetchval(
        "DELETE FROM group_following WHERE group_id = $1 AND target_uri = $2 RETURNING follow_id",
        group_id,
        target_uri,
    )


async def is_followed(conn: Db, target_uri: str) -> bool:
    """Does any of our groups follow this actor (accepted)?"""
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM group_following WHERE target_uri = $1 AND state = 'accepted' LIMIT 1",
            target_uri,
        )
    )


class PgFollows:
    """Implements :class:`imago_fed.domain.ports.federation.Follows`."""

    def __init__(self, db: Db) -> None:
        self._db = db

    async def add_follower(
        self, group_id: int, actor_uri: str, follow_id: str, state: str, now: datetime
    ) -> None:
        await add_follower(self._db, group_id, actor_uri, follow_id, state, now)

    async def accept_follower(self, group_id: int, actor_uri: str) -> str | None:
        return await accept_follower(self._db, group_id, actor_uri)

    async def remove_follower(self, group_id: int, actor_uri: str) -> str | None:
        return await remove_follower(self._db, group_id, actor_uri)

    async def remove_follower_everywhere(self, actor_uri: str) -> None:
        await remove_follower_everywhere(self._db, actor_uri)

    async def is_follower(self, group_id: int, actor_uri: str) -> bool:
        return await is_follower(self._db, group_id, actor_uri)

    async def follower_delivery_inboxes(self, group_id: int, *, exclude: str | None) -> list[str]:
        return await follower_delivery_inboxes(self._db, group_id, exclude=exclude)

    async def set_following(
        self, group_id: int, target_uri: str, follow_id: str, now: datetime
    ) -> None:
        await set_following(self._db, group_id, target_uri, follow_id, now)

    async def set_following_state(self, follow_id: str, actor_uri: str, state: str) -> bool:
        return await set_following_state(self._db, follow_id, actor_uri, state)

    async def remove_following(self, group_id: int, target_uri: str) -> str | None:
        return await remove_following(self._db, group_id, target_uri)

    async def is_followed(self, target_uri: str) -> bool:
        return await is_followed(self._db, target_uri)

"""Matrix bridge state in PostgreSQL: transactions, events, rooms, users, mappings.

An appservice transaction is stored whole, and each of its events as a row,
in one database transaction before the homeserver gets its 200; a replayed
transaction inserts nothing (events are unique by event id). Events are then processed per room in
arrival order (``MATRIX_EVENT`` in :mod:`imago_fed.domain.lifecycle`, which
every change of ``state`` here goes through):

    queued ──claim (oldest of its room, lease)──> done | ignored
       └── failure: retried with backoff, 'failed' after MAX_ATTEMPTS

The functions take a pool or a connection (the fediverse side records a
bridged message inside its own transaction); ``PgBridgeInbox`` and
``PgBridgeStore`` are the bridge's ports (``domain/ports/bridge.py``) over
the pool.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from imago_fed.domain.lifecycle import MATRIX_EVENT
from imago_fed.domain.ports.bridge import PollOfProposal, QueuedEvent, RoomOfGroup
from imago_fed.store.database import Db

__all__ = [
    "CHANNEL", "MatrixEventRow", "PgBridgeInbox", "PgBridgeStore", "PgBridgedMessages",
    "store_transaction",
]  # fmt: skip

log = logging.getLogger(__name__)
CHANNEL = "imago_matrix_events"
MAX_ATTEMPTS = 8


# ----------------------------------------------------------- transactions
async def store_transaction(
    pool: asyncpg.Pool, txn_id: str, body: dict[str, Any], now: datetime
) -> bool:
    """Persist a transaction's events; False when it brought nothing new (a replay).

    Events are deduplicated by event id, not by transaction id: a homeserver
    resends a transaction with the same id after an error (nothing new is
    stored), but Synapse on SQLite also starts its transaction ids again at
    1 after a restart when none was pending, so a known id can carry new
    events, which must not be dropped as a replay.
    """
    events = [e for e in body.get("events", []) if isinstance(e, dict)]
    rows = [
        (e["event_id"], e["room_id"], json.dumps(e), now)
        for e in events
        if isinstance(e.get("event_id"), str) and isinstance(e.get("room_id"), str)
    ]
    async with pool.acquire() as conn, conn.transaction():
        status = await conn.execute(
            """
            INSERT INTO matrix_transactions (txn_id, body, received_at)
            VALUES ($1, $2::jsonb, $3) ON CONFLICT (txn_id) DO NOTHING
            """,
            txn_id, json.dumps(body), now,
        )  # fmt: skip
        new_txn = status.endswith(" 1")
        added = 0
        if rows:
            added = await conn.fetchval(
                """
                WITH added AS (
                    INSERT INTO matrix_events (event_id, room_id, body, received_at)
                    SELECT e, r, b, t
                    FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::timestamptz[])
                         WITH ORDINALITY AS x(e, r, b, t, n)
                    ORDER BY n  -- ids in the transaction's order: rooms are processed in it
                    ON CONFLICT (event_id) DO NOTHING RETURNING 1
                )
                SELECT count(*) FROM added
                """,
                [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                [r[3] for r in rows],
            )  # fmt: skip
            if added:
                await conn.execute(f"NOTIFY {CHANNEL}")
        if added and not new_txn:
            log.info("transaction id reused with new events", extra={"txn": txn_id})
    return new_txn or bool(added)


MatrixEventRow = QueuedEvent


async def claim_events(
    db: Db, *, limit: int, lease: timedelta, now: datetime
) -> list[MatrixEventRow]:
    """The oldest due event of each room not being worked on (per-room order)."""
    rows = await db.fetch(
        """
        UPDATE matrix_events SET locked_until = $2, attempts = attempts + 1
        WHERE id IN (
            SELECT e.id FROM matrix_events e
            WHERE e.state = 'queued' AND e.next_attempt <= $1
              AND (e.locked_until IS NULL OR e.locked_until < $1)
              AND e.id = (SELECT min(f.id) FROM matrix_events f
                          WHERE f.room_id = e.room_id AND f.state = 'queued')
            ORDER BY e.id LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING id, room_id, body, attempts
        """,
        now, now + lease, limit,
    )  # fmt: skip
    return sorted(
        (MatrixEventRow(r["id"], r["room_id"], json.loads(r["body"]), r["attempts"]) for r in rows),
        key=lambda row: row.id,
    )


async def finish_event(db: Db, row_id: int, state: str, error: str | None = None) -> None:
    """End a claimed event's work in ``state`` (done, ignored, failed: the graph says)."""
    allowed = MATRIX_EVENT.sources(state)  # raises before any SQL
    await db.execute(
        """
        UPDATE matrix_events SET state = $2, error = $3, locked_until = NULL
        WHERE id = $1 AND state = ANY($4::text[])
        """,
        row_id, state, error, allowed,
    )  # fmt: skip


async def retry_event(db: Db, row: MatrixEventRow, error: str, now: datetime) -> None:
    if row.attempts >= MAX_ATTEMPTS:
        await finish_event(db, row.id, "failed", error)
        return
    await db.execute(
        """
        UPDATE matrix_events SET next_attempt = $2, error = $3, locked_until = NULL
        WHERE id = $1
        """,
        row.id, now + timedelta(seconds=min(600, 2 * 2 ** row.attempts)), error,
    )  # fmt: skip


# ------------------------------------------------------------------ rooms
async def rooms_of(db: Db, group_id: int) -> dict[str, str]:
    rows = await db.fetch("SELECT kind, room_id FROM matrix_rooms WHERE group_id = $1", group_id)
    return {r["kind"]: r["room_id"] for r in rows}


async def save_room(
    db: Db, group_id: int, kind: str, room_id: str, alias: str, now: datetime
) -> None:
    await db.execute(
        """
        INSERT INTO matrix_rooms (group_id, kind, room_id, alias, created_at)
        VALUES ($1, $2, $3, $4, $5) ON CONFLICT (group_id, kind) DO NOTHING
        """,
        group_id, kind, room_id, alias, now,
    )  # fmt: skip


async def room(db: Db, room_id: str) -> tuple[int, str, bool] | None:
    """(group id, kind, encrypted) of one of our rooms."""
    row = await db.fetchrow(
        "SELECT group_id, kind, encrypted FROM matrix_rooms WHERE room_id = $1", room_id
    )
    return (row["group_id"], row["kind"], row["encrypted"]) if row else None


async def mark_encrypted(db: Db, room_id: str) -> bool:
    status = await db.execute(
        "UPDATE matrix_rooms SET encrypted = true WHERE room_id = $1 AND NOT encrypted", room_id
    )
    return status.endswith(" 1")


# ---------------------------------------------------------------- members
async def set_member(
    db: Db, group_id: int, user_id: str, joined: bool, now: datetime, *, state: str = "joined"
) -> bool:
    """Record a membership (``state``: joined, knocked, invited) or its end."""
    if joined:
        status = await db.execute(
            """
            INSERT INTO matrix_members (group_id, user_id, joined_at, state) VALUES ($1, $2, $3, $4)
            ON CONFLICT (group_id, user_id) DO UPDATE SET state = EXCLUDED.state
                WHERE matrix_members.state <> EXCLUDED.state
            """,
            group_id, user_id, now, state,
        )  # fmt: skip
    else:
        status = await db.execute(
            "DELETE FROM matrix_members WHERE group_id = $1 AND user_id = $2", group_id, user_id
        )
    return status.endswith(" 1")


async def members(db: Db, group_id: int, state: str = "joined") -> list[str]:
    rows = await db.fetch(
        """
        SELECT user_id FROM matrix_members WHERE group_id = $1 AND state = $2
        ORDER BY joined_at
        """,
        group_id,
        state,
    )
    return [r["user_id"] for r in rows]


# ---------------------------------------------------------------- puppets
async def puppet_registered(db: Db, user_id: str) -> bool:
    return bool(await db.fetchval("SELECT 1 FROM matrix_puppets WHERE user_id = $1", user_id))


async def save_puppet(
    db: Db, user_id: str, actor_uri: str, display_name: str, now: datetime
) -> None:
    await db.execute(
        """
        INSERT INTO matrix_puppets (user_id, actor_uri, display_name, registered_at)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (user_id) DO UPDATE SET display_name = EXCLUDED.display_name
        """,
        user_id, actor_uri, display_name, now,
    )  # fmt: skip


# ----------------------------------------------------- bridged messages
async def bridge(
    db: Db, *, event_id: str, room_id: str, object_id: str, group_id: int, origin: str,
    now: datetime,
) -> bool:  # fmt: skip
    status = await db.execute(
        """
        INSERT INTO bridged_messages (event_id, room_id, object_id, group_id, origin, created_at)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING
        """,
        event_id, room_id, object_id, group_id, origin, now,
    )  # fmt: skip
    return status.endswith(" 1")


async def event_for_object(db: Db, object_id: str, room_id: str) -> str | None:
    return await db.fetchval(
        "SELECT event_id FROM bridged_messages WHERE object_id = $1 AND room_id = $2",
        object_id, room_id,
    )  # fmt: skip


async def object_for_event(db: Db, event_id: str) -> tuple[str, str] | None:
    """(object id, origin) of a bridged Matrix event."""
    row = await db.fetchrow(
        "SELECT object_id, origin FROM bridged_messages WHERE event_id = $1", event_id
    )
    return (row["object_id"], row["origin"]) if row else None


# ------------------------------------------------------------------ polls
async def save_poll(db: Db, proposal_id: int, room_id: str, event_id: str) -> None:
    await db.execute(
        """
        INSERT INTO matrix_polls (proposal_id, room_id, event_id) VALUES ($1, $2, $3)
        ON CONFLICT DO NOTHING
        """,
        proposal_id, room_id, event_id,
    )  # fmt: skip


async def poll_of_proposal(db: Db, proposal_id: int) -> tuple[str, str, bool] | None:
    row = await db.fetchrow(
        "SELECT room_id, event_id, ended FROM matrix_polls WHERE proposal_id = $1", proposal_id
    )
    return (row["room_id"], row["event_id"], row["ended"]) if row else None


async def proposal_of_poll(db: Db, event_id: str) -> int | None:
    return await db.fetchval("SELECT proposal_id FROM matrix_polls WHERE event_id = $1", event_id)


async def end_poll(db: Db, proposal_id: int) -> bool:
    status = await db.execute(
        "UPDATE matrix_polls SET ended = true WHERE proposal_id = $1 AND NOT ended", proposal_id
    )
    return status.endswith(" 1")


# ------------------------------------------------------------ the ports
class PgBridgeInbox:
    """Implements :class:`imago_fed.domain.ports.bridge.BridgeInbox` over the pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def store_transaction(self, txn_id: str, body: dict[str, Any], now: datetime) -> bool:
        return await store_transaction(self._pool, txn_id, body, now)

    async def claim(self, *, limit: int, lease: timedelta, now: datetime) -> list[QueuedEvent]:
        return await claim_events(self._pool, limit=limit, lease=lease, now=now)

    async def finish(self, queued_id: int, state: str, error: str | None = None) -> None:
        await finish_event(self._pool, queued_id, state, error)

    async def retry(self, queued: QueuedEvent, error: str, now: datetime) -> None:
        await retry_event(self._pool, queued, error, now)


class PgBridgeStore:
    """Implements :class:`imago_fed.domain.ports.bridge.BridgeStore` over the pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def rooms_of(self, group_id: int) -> dict[str, str]:
        return await rooms_of(self._pool, group_id)

    async def save_room(
        self, group_id: int, kind: str, room_id: str, alias: str, now: datetime
    ) -> None:
        await save_room(self._pool, group_id, kind, room_id, alias, now)

    async def room(self, room_id: str) -> RoomOfGroup | None:
        found = await room(self._pool, room_id)
        return RoomOfGroup(*found) if found else None

    async def mark_encrypted(self, room_id: str) -> bool:
        return await mark_encrypted(self._pool, room_id)

    async def set_member(
        self, group_id: int, user_id: str, joined: bool, now: datetime, *, state: str = "joined"
    ) -> bool:
        return await set_member(self._pool, group_id, user_id, joined, now, state=state)

    async def members(self, group_id: int, state: str = "joined") -> list[str]:
        return await members(self._pool, group_id, state)

    async def puppet_registered(self, user_id: str) -> bool:
        return await puppet_registered(self._pool, user_id)

    async def save_puppet(
        self, user_id: str, actor_uri: str, display_name: str, now: datetime
    ) -> None:
        await save_puppet(self._pool, user_id, actor_uri, display_name, now)

    async def bridge(
        self, *, event_id: str, room_id: str, object_id: str, group_id: int, origin: str,
        now: datetime,
    ) -> bool:  # fmt: skip
        return await bridge(
            self._pool, event_id=event_id, room_id=room_id, object_id=object_id,
            group_id=group_id, origin=origin, now=now,
        )  # fmt: skip

    async def event_for_object(self, object_id: str, room_id: str) -> str | None:
        return await event_for_object(self._pool, object_id, room_id)

    async def object_for_event(self, event_id: str) -> tuple[str, str] | None:
        return await object_for_event(self._pool, event_id)

    async def save_poll(self, proposal_id: int, room_id: str, event_id: str) -> None:
        await save_poll(self._pool, proposal_id, room_id, event_id)

    async def poll_of_proposal(self, proposal_id: int) -> PollOfProposal | None:
        found = await poll_of_proposal(self._pool, proposal_id)
        return PollOfProposal(*found) if found else None

    async def proposal_of_poll(self, event_id: str) -> int | None:
        return await proposal_of_poll(self._pool, event_id)

    async def end_poll(self, proposal_id: int) -> bool:
        return await end_poll(self._pool, proposal_id)


class PgBridgedMessages:
    """Implements :class:`imago_fed.domain.ports.federation.BridgedMessages`.

    Takes a pool or one connection, so the federation bundle can bind it to
    the transaction an activity is stored in.
    """

    def __init__(self, db: Db) -> None:
        self._db = db

    async def bridge(
        self, *, event_id: str, room_id: str, object_id: str, group_id: int, origin: str,
        now: datetime,
    ) -> bool:  # fmt: skip
        return await bridge(
            self._db, event_id=event_id, room_id=room_id, object_id=object_id,
            group_id=group_id, origin=origin, now=now,
        )  # fmt: skip

    async def object_for_event(self, event_id: str) -> tuple[str, str] | None:
        return await object_for_event(self._db, event_id)

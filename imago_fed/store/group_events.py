"""The group event log and its readers' cursors (see domain/events/).

Rows keep the kind's name and the payload as JSON; ``read_after`` turns them
back into typed events, and a row it cannot read (a kind this version does
not know, a payload that lost a field) is logged and passed over: the cursor
moves on, so one bad row never stops a reader.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime
from typing import Any

import asyncpg

from imago_fed.domain.errors import Unavailable
from imago_fed.domain.events import GroupEvent, UndecodableEvent, decode
from imago_fed.domain.events.dispatch import EventHandlers
from imago_fed.store.database import Db

__all__ = ["CHANNEL", "GroupEventReader", "PgGroupEventLog", "advance", "read_after", "record"]

log = logging.getLogger(__name__)

CHANNEL = "imago_group_events"


async def record(conn: Db, event: GroupEvent[Any], now: datetime) -> bool:
    """Append an event (in the caller's transaction); False if already recorded."""
    status = await conn.execute(
        """
        INSERT INTO group_events (group_id, kind, source, dedupe_key, payload, created_at)
        VALUES ($1, $2, $3, $4, $5::jsonb, $6) ON CONFLICT (dedupe_key) DO NOTHING
        """,
        event.group_id, event.kind, event.source, event.dedupe_key,
        json.dumps(event.data.to_payload()), now,
    )  # fmt: skip
    inserted = status.endswith(" 1")
    if inserted:
        await conn.execute(f"NOTIFY {CHANNEL}")
    return inserted


async def read_after(
    conn: Db, consumer: str, *, limit: int, kinds: Collection[str] | None = None
) -> list[tuple[int, GroupEvent[Any] | None]]:
    """(log id, event) after the consumer's cursor, oldest first (its own
    included: it skips those, and advances past them like past any other);
    the event is None when the row cannot be read (logged here), or when
    ``kinds`` is given and the row is of another kind: such a row's payload
    is neither sent nor decoded (a reader passes over most of the log: the
    fediverse side's reader over every re-shared post)."""
    rows = await conn.fetch(
        """
        SELECT id, group_id, kind, source, dedupe_key,
               CASE WHEN $3::text[] IS NULL OR kind = ANY($3::text[]) THEN payload END AS payload
        FROM group_events
        WHERE id > coalesce((SELECT last_id FROM event_cursors WHERE consumer = $1), 0)
        ORDER BY id LIMIT $2
        """,
        consumer,
        limit,
        None if kinds is None else sorted(str(kind) for kind in kinds),
    )
    return [(r["id"], _event(r) if r["payload"] is not None else None) for r in rows]


def _event(row: asyncpg.Record) -> GroupEvent[Any] | None:
    try:
        data = decode(row["kind"], json.loads(row["payload"]))
    except (UndecodableEvent, ValueError) as exc:
        log.error(
            "unreadable group event skipped",
            extra={"event": row["id"], "kind": row["kind"], "error": str(exc)},
        )
        return None
    return GroupEvent(row["group_id"], row["source"], row["dedupe_key"], data, id=row["id"])


async def advance(conn: Db, consumer: str, last_id: int) -> None:
    await conn.execute(
        """
        INSERT INTO event_cursors (consumer, last_id) VALUES ($1, $2)
        ON CONFLICT (consumer) DO UPDATE SET last_id = greatest(event_cursors.last_id, $2)
        """,
        consumer,
        last_id,
    )


class PgGroupEventLog:
    """The ``GroupEventLog`` port over the pool (each record its own transaction),
    or over the connection of a transaction the record belongs to."""

    def __init__(self, pool: Db, clock: Callable[[], datetime]) -> None:
        self._pool, self._now = pool, clock

    async def record(self, event: GroupEvent[Any]) -> None:
        await record(self._pool, event, self._now())


Handler = Callable[[GroupEvent[Any]], Awaitable[None]]


class GroupEventReader:
    """Reads the log for one consumer and hands each event to ``handler``, in order.

    The cursor advances only after the handler returns, so a crash means the
    event is handled again: handlers are idempotent (derived ids, mapping
    tables). ``run_once`` is the step of a background worker (woken by a
    NOTIFY on ``CHANNEL``); a handler that fails makes the step raise, so the
    worker retries it with its capped backoff; after ``max_attempts`` the
    event is skipped with an error in the log, so one poisoned event cannot
    stop a group's bridge for good. A handler raising ``Unavailable`` (the
    homeserver is down) is retried without counting: however long the other
    side is away, what was to be sent is sent when it is back.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        consumer: str,
        source: str,
        handler: Handler,
        *,
        max_attempts: int = 8,
    ) -> None:
        self._pool, self._consumer, self._source, self._handler = pool, consumer, source, handler
        #: A table of handlers says which kinds it takes: the others are passed
        #: over unread (``read_after``).
        self._kinds = handler.kinds if isinstance(handler, EventHandlers) else None
        self._max_attempts = max_attempts
        self._failures = 0

    @property
    def consumer(self) -> str:
        return self._consumer

    async def run_once(self, limit: int = 200) -> bool:
        """Handle the next events; True if the cursor moved (raises if a handler failed).

        One reader per consumer at a time, across processes (an advisory
        lock), or two workers would both handle the same events.
        """
        async with self._pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", self._consumer):
                return False
            try:
                return await self._handle_next(limit)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", self._consumer)

    async def _handle_next(self, limit: int) -> bool:
        """The cursor moves once for the events handled, not once an event (a
        statement each, as many as the processor's own for a re-shared post):
        past all of them at the end, or, when one fails, past those before it.
        A crash in between hands the batch's events again, as it would have
        the one under way."""
        events = await read_after(self._pool, self._consumer, limit=limit, kinds=self._kinds)
        handled: int | None = None  # the last event handled (or passed over)
        try:
            for event_id, event in events:
                if event is not None and event.source != self._source:
                    try:
                        await self._handler(event)
                    except Unavailable:
                        raise  # the other side is away: not the event's fault; wait, then again
                    except Exception as exc:
                        self._failures += 1
                        if self._failures < self._max_attempts:
                            raise RuntimeError(
                                f"{self._consumer}: handling event {event_id} failed; will retry"
                            ) from exc
                        log.error(
                            "event handling failed for good; skipped",
                            exc_info=True,
                            extra={"consumer": self._consumer, "event": event_id},
                        )
                self._failures = 0
                handled = event_id
        finally:
            if handled is not None:
                await advance(self._pool, self._consumer, handled)
        return handled is not None

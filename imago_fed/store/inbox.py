"""Verified inbound activities, queued for processing.

The inbox handler stores an activity and answers 202; a worker processes the
rows later. A row's life (``INBOUND_ACTIVITY`` in :mod:`imago_fed.domain.lifecycle`,
which every change of ``state`` here goes through):

    queued ──claim (lease)──> done | ignored
       ^                 └──> queued again with backoff ──> failed (after MAX_ATTEMPTS)
       └── lease expired (worker killed), or released (worker stopped): claimable again
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from imago_fed.domain.lifecycle import INBOUND_ACTIVITY
from imago_fed.domain.ports.federation import Admission, InboxRow
from imago_fed.store.database import Db, unreachable

__all__ = ["CHANNEL", "MAX_ATTEMPTS", "Admission", "InboxRow", "PgInbox", "received"]

MAX_ATTEMPTS = 8
CHANNEL = "imago_inbox"
ADMIT_BATCH = 256  # activities at most in one admitting statement
#: Lease the oldest due rows ($1 now, $2 lease end, $3 how many), in a
#: transaction that first sets ``CLAIM_PLANNING``: see ``PgInbox.claim``.
CLAIM_PLANNING = "SET LOCAL enable_bitmapscan = off"
CLAIM = """
    UPDATE inbox_activities SET locked_until = $2, attempts = attempts + 1
    WHERE id IN (
        SELECT id FROM inbox_activities
        WHERE state = 'queued' AND next_attempt <= $1
          AND (locked_until IS NULL OR locked_until < $1)
        ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
    RETURNING id, body, actor_uri, group_id, attempts
"""


async def received(conn: Db, group_id: int, *, limit: int = 50) -> list[dict[str, Any]]:
    """Recent activities for a group, newest first (admin view): those posted to
    its own inbox, and those from actors it follows (they arrive at the shared inbox)."""
    rows = await conn.fetch(
        """
        SELECT activity_id, actor_uri, type, state, error, received_at, body
        FROM inbox_activities
        WHERE group_id = $1
           OR actor_uri IN (SELECT target_uri FROM group_following WHERE group_id = $1)
        ORDER BY id DESC LIMIT $2
        """,
        group_id,
        limit,
    )
    return [
        {
            "id": r["activity_id"],
            "actor": r["actor_uri"],
            "type": r["type"],
            "state": r["state"],
            "error": r["error"],
            "received_at": r["received_at"].isoformat(),
            "activity": json.loads(r["body"]),
        }
        for r in rows
    ]


class PgInbox:
    """Implements :class:`imago_fed.domain.ports.federation.InboxQueue`."""

    def __init__(self, db: Db) -> None:
        self._db = db
        self._waiting: list[tuple[asyncio.Future[Admission], tuple[Any, ...]]] = []
        self._admitting: asyncio.Task[None] | None = None

    async def store(
        self,
        *,
        activity: dict[str, Any],
        actor_uri: str,
        group_id: int | None,
        now: datetime,
        state: str = "queued",
    ) -> bool:
        """Queue a verified activity; False when its id was seen before (a redelivery)."""
        INBOUND_ACTIVITY.check_entry(state)
        # One round trip: the insert, and the wake-up only when a row was added.
        inserted = await self._db.fetchval(
            f"""
            WITH added AS (
                INSERT INTO inbox_activities (activity_id, actor_uri, group_id, type, body, state,
                                              received_at)
                VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7) ON CONFLICT (activity_id) DO NOTHING
                RETURNING state
            )
            SELECT count(*) FROM (
                SELECT CASE WHEN state = 'queued' THEN pg_notify('{CHANNEL}', '') END FROM added
            ) AS told
            """,
            activity["id"], actor_uri, group_id, str(activity.get("type")), json.dumps(activity),
            state, now,
        )  # fmt: skip
        return bool(inserted)

    async def admit(
        self,
        *,
        activity: dict[str, Any],
        actor_uri: str,
        host: str,
        group_id: int | None,
        now: datetime,
    ) -> Admission:
        """Queue a verified activity unless the instance blocks its sender or the
        group it was posted to is gone; all in the one statement the inbox sends.

        The inbox's checks before this one read caches (the group by slug, the
        sender's key); this statement is what makes them exact: a block placed
        or a group deleted since the cache was filled is seen here, at no
        round trip of its own. The same predicate as ``moderation.is_blocked``
        with no group: instance blocks of the actor or its domain (subdomains
        included).

        Activities admitted while an earlier statement is on its way go
        together in the next one (a group commit, with no waiting when the
        inbox is quiet): under load one statement, one transaction and one
        WAL flush store many activities, and each caller is answered only
        once its row is committed. A batch that fails for another reason than
        the database being away is tried again one activity at a time, so one
        activity's error is never another's.
        """
        waiter: asyncio.Future[Admission] = asyncio.get_running_loop().create_future()
        self._waiting.append(
            (waiter, (activity["id"], actor_uri, group_id, str(activity.get("type")),
                      json.dumps(activity), host, now))
        )  # fmt: skip
        if self._admitting is None:
            self._admitting = asyncio.create_task(self._admit_waiting())
        return await waiter

    async def _admit_waiting(self) -> None:
        batch: list[tuple[asyncio.Future[Admission], tuple[Any, ...]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:ADMIT_BATCH], self._waiting[ADMIT_BATCH:]
                try:
                    outcomes = await self._admit_batch([values for _, values in batch])
                except Exception as exc:
                    if len(batch) == 1 or unreachable(exc):
                        for waiter, _ in batch:
                            if not waiter.done():
                                waiter.set_exception(exc)
                        continue
                    alone: list[Admission | Exception] = []
                    for _, values in batch:  # alone: only the faulty one fails
                        try:
                            alone.append((await self._admit_batch([values]))[0])
                        except Exception as error:
                            alone.append(error)
                    for (waiter, _), outcome in zip(batch, alone, strict=True):
                        if waiter.done():
                            continue
                        if isinstance(outcome, Exception):
                            waiter.set_exception(outcome)
                        else:
                            waiter.set_result(outcome)
                    continue
                for (waiter, _), admission in zip(batch, outcomes, strict=True):
                    if not waiter.done():  # (a caller that gave up: its row stays stored)
                        waiter.set_result(admission)
        except asyncio.CancelledError:  # the loop is closing: nobody is left waiting
            for waiter, _ in [*batch, *self._waiting]:
                waiter.cancel()
            self._waiting = []
            raise
        finally:
            self._admitting = None

    async def _admit_batch(self, batch: list[tuple[Any, ...]]) -> list[Admission]:
        """One statement for the activities of ``batch``, in order: each one's outcome."""
        columns = list(zip(*batch, strict=True))
        rows = await self._db.fetch(
            f"""
            WITH given AS (
                SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[],
                                     $5::text[], $6::text[], $7::timestamptz[])
                    WITH ORDINALITY AS v(activity_id, actor_uri, group_id, type, body, host,
                                         received_at, n)
            ), checked AS (
                SELECT given.*,
                       EXISTS (
                           SELECT 1 FROM blocks
                           WHERE group_id IS NULL
                             AND ((kind = 'actor' AND value = given.actor_uri)
                                  OR (kind = 'domain' AND (given.host = value
                                                           OR given.host LIKE '%.' || value)))
                       ) AS blocked,
                       given.group_id IS NULL OR EXISTS (
                           SELECT 1 FROM groups WHERE id = given.group_id AND deleted_at IS NULL
                       ) AS present
                FROM given
            ), added AS (
                INSERT INTO inbox_activities (activity_id, actor_uri, group_id, type, body, state,
                                              received_at)
                SELECT activity_id, actor_uri, group_id, type, body::jsonb, 'queued', received_at
                FROM checked WHERE NOT blocked AND present ORDER BY n
                ON CONFLICT (activity_id) DO NOTHING
                RETURNING activity_id
            ), told AS (
                SELECT pg_notify('{CHANNEL}', '') WHERE EXISTS (SELECT 1 FROM added)
            )
            SELECT checked.activity_id, blocked, present,
                   checked.activity_id IN (SELECT activity_id FROM added) AS stored,
                   (SELECT count(*) FROM told) AS told
            FROM checked ORDER BY n
            """,
            *columns,
        )  # fmt: skip
        outcomes: list[Admission] = []
        claimed: set[str] = set()  # an id twice in one batch: the first is the one stored
        for row in rows:
            if row["blocked"]:
                outcomes.append("blocked")
            elif not row["present"]:
                outcomes.append("no group")
            elif row["stored"] and row["activity_id"] not in claimed:
                claimed.add(row["activity_id"])
                outcomes.append("stored")
            else:
                outcomes.append("duplicate")
        return outcomes

    async def claim(self, *, limit: int, lease: timedelta, now: datetime) -> list[InboxRow]:
        """Lease the oldest ``limit`` due rows.

        The rows are found by walking the ``inbox_queued`` index in id order,
        reading about as many rows as are taken, however long the queue.
        The planner is told not to use a bitmap scan, because with stale
        statistics (a queue that grew by thousands of rows a second since
        the last ANALYZE) it picked one: every queued row read and sorted,
        119 ms a claim with 56,000 rows queued, so the processor slowed down
        as the backlog grew. ``SET LOCAL`` keeps the setting to this
        transaction; over a connection already in one (a savepoint here), it
        lasts until that outer transaction ends.
        """
        if isinstance(self._db, asyncpg.Pool):
            async with self._db.acquire() as conn:
                return await PgInbox(conn).claim(limit=limit, lease=lease, now=now)
        async with self._db.transaction():
            await self._db.execute(CLAIM_PLANNING)
            rows = await self._db.fetch(CLAIM, now, now + lease, limit)
        return sorted(
            (
                InboxRow(
                    r["id"], json.loads(r["body"]), r["actor_uri"], r["group_id"], r["attempts"]
                )
                for r in rows
            ),
            key=lambda row: row.id,
        )

    async def finish(self, row_id: int, state: str, error: str | None = None) -> None:
        """End a claimed row's work in ``state`` (done, ignored, failed: the graph says)."""
        allowed = INBOUND_ACTIVITY.sources(state)  # raises before any SQL
        await self._db.execute(
            """
            UPDATE inbox_activities SET state = $2, error = $3, locked_until = NULL
            WHERE id = $1 AND state = ANY($4::text[])
            """,
            row_id, state, error, allowed,
        )  # fmt: skip

    async def finish_many(self, outcomes: list[tuple[int, str, str | None]]) -> None:
        """``finish`` for each (row id, state, error): one statement per state
        (a batch's rows mostly end "done" or "ignored"), not one per row."""
        by_state: dict[str, list[tuple[int, str | None]]] = {}
        for row_id, state, error in outcomes:
            INBOUND_ACTIVITY.sources(state)  # raises before any SQL
            by_state.setdefault(state, []).append((row_id, error))
        for state, rows in by_state.items():
            await self._db.execute(
                """
                UPDATE inbox_activities AS a
                SET state = $2, error = v.error, locked_until = NULL
                FROM unnest($1::bigint[], $3::text[]) AS v(id, error)
                WHERE a.id = v.id AND a.state = ANY($4::text[])
                """,
                [row_id for row_id, _ in rows], state, [error for _, error in rows],
                INBOUND_ACTIVITY.sources(state),
            )  # fmt: skip

    async def retry_later(self, row: InboxRow, error: str, now: datetime) -> None:
        if row.attempts >= MAX_ATTEMPTS:
            await self.finish(row.id, "failed", error)
            return
        delay = timedelta(seconds=min(3600, 5 * 2 ** (row.attempts - 1)))
        await self._db.execute(
            """
            UPDATE inbox_activities SET next_attempt = $2, error = $3, locked_until = NULL
            WHERE id = $1
            """,
            row.id,
            now + delay,
            error,
        )

    async def release(self, row_ids: list[int]) -> None:
        """Give leases back now instead of when they expire (the attempt is not counted)."""
        await self._db.execute(
            """
            UPDATE inbox_activities SET locked_until = NULL, attempts = greatest(attempts - 1, 0)
            WHERE id = ANY($1::bigint[]) AND state = 'queued'
            """,
            row_ids,
        )

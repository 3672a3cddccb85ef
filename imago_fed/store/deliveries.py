"""The outbound delivery queue: one row per (activity, destination inbox).

Rows are written in the same transaction that stores the activity (persist
before send), so an activity is never published without its deliveries,
and a crash loses nothing. The worker (:mod:`imago_fed.activitypub.delivery`)
runs each row through this lifecycle (declared as ``DELIVERY`` in
:mod:`imago_fed.domain.lifecycle`; every UPDATE of ``state`` is guarded by
the states the graph allows it from)::

      enqueue ──> queued ──claim: lease (locked_until), attempts+1──> POST
                    ^                                                  │
                    │  5xx, 408, 429, 401, network error:              │
                    └──── next_attempt = now + backoff ────────────────┤
                                                                       │
                  delivered <──── 2xx ─────────────────────────────────┤
                  dead      <──── other 4xx, forbidden URL, or too ────┘
                    │             many attempts (the dead letters)
                    └── admin retry ──> queued (attempts reset)

    claimed but not sent (its host failed on the row before in the chain)
    ──> postponed: next_attempt = now + the host's backoff, the attempt the
    claim counted given back (it must not age toward the dead letters)

    lease expired (worker killed mid-POST) ──> claimable again: delivery is
    at least once, and exactly once under normal operation (receivers
    dedupe by activity id, so a repeat is harmless).

Claiming is fair and bounded in the database, so several worker processes
share the limits: claims are serialised by an advisory lock (they are short);
each host gets at most ``per_host`` rows in flight, counted from live leases
of every worker; a host marked unavailable gets none, except one probe row
every ``probe_interval``; ``FOR UPDATE SKIP LOCKED`` leaves rows another
transaction is finishing alone. The hosts of the oldest due rows are tried
first; when they do not fill the claim, distinct hosts are found with a
loose index scan over ``deliveries_host``, so a host with a large backlog
cannot crowd the others out of a claim (``claim``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import asyncpg

from imago_fed.domain.lifecycle import DELIVERY
from imago_fed.domain.ports.delivery import Claimed
from imago_fed.domain.urls import host_from_url
from imago_fed.store.database import Db

__all__ = [
    "CHANNEL",
    "Claimed",
    "PgDeliveries",
    "claim",
    "dead_letters",
    "delivery_targets",
    "enqueue",
    "mark_dead",
    "mark_delivered",
    "mark_delivered_many",
    "postpone",
    "release",
    "retry",
    "schedule_retry",
    "seconds_until_next_due",
    "stats",
]

log = logging.getLogger(__name__)


#: LISTEN/NOTIFY channel: a NOTIFY sent in the enqueueing transaction reaches
#: the workers of every process when that transaction commits.
CHANNEL = "imago_deliveries"
_CLAIM_LOCK = 0x696D61676F  # pg_advisory_xact_lock key ("imago")


def delivery_targets(inboxes: Iterable[str]) -> dict[str, str]:
    """Each distinct inbox that is an absolute http(s) URL, with its host.

    The others are skipped with a warning, so one bad remote actor cannot
    fail a whole publication (``enqueue``, ``outbox.share``).
    """
    targets: dict[str, str] = {}
    for inbox in inboxes:
        if inbox in targets:
            continue
        try:
            host = host_from_url(inbox)
        except ValueError:
            host = ""
        if not inbox.lower().startswith(("https://", "http://")) or not host:
            log.warning("not queueing delivery to %r: not an http(s) URL", inbox)
            continue
        targets[inbox] = host
    return targets


async def enqueue(
    conn: Db,
    *,
    activity_id: str,
    group_id: int | None,
    body: bytes | str,
    inboxes: Iterable[str],
) -> int:
    """Queue ``body`` for each distinct inbox; return how many rows were new.

    Call it inside the transaction that stores the activity. Repeating it is
    harmless (``ON CONFLICT DO NOTHING`` on ``(activity_id, inbox)``). An
    inbox that is not an absolute http(s) URL is skipped with a warning, so
    one bad remote actor cannot fail a whole publication. The workers are
    woken by a NOTIFY, delivered when the transaction commits.
    """
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    targets = delivery_targets(inboxes)
    if not targets:
        return 0
    inserted = await conn.fetchval(
        """
        WITH added AS (
            INSERT INTO deliveries (activity_id, group_id, inbox, host, body)
            SELECT $1, $2, t.inbox, t.host, $3
            FROM unnest($4::text[], $5::text[]) AS t(inbox, host)
            ON CONFLICT (activity_id, inbox) DO NOTHING
            RETURNING 1
        )
        SELECT count(*) FROM added
        """,
        activity_id, group_id, text, list(targets), list(targets.values()),
    )  # fmt: skip
    if inserted:
        await conn.execute("SELECT pg_notify($1, '')", CHANNEL)
    return int(inserted)


#: Every host with queued rows, by a loose index scan over ``deliveries_host``
#: (one probe a host): what makes a claim fair whatever the backlogs.
_ALL_HOSTS = """
hosts(host) AS (
    (SELECT host FROM deliveries WHERE state = 'queued' ORDER BY host LIMIT 1)
    UNION ALL
    SELECT (SELECT d.host FROM deliveries d
            WHERE d.state = 'queued' AND d.host > hosts.host ORDER BY d.host LIMIT 1)
    FROM hosts WHERE hosts.host IS NOT NULL
)"""

#: The hosts of the first $6 due rows, by ``deliveries_due_order`` in claiming order:
#: the hosts a claim would take first, if enough of them have room.
_DUE_HOSTS = """
due AS (
    SELECT d.host FROM deliveries d
    WHERE d.state = 'queued' AND d.next_attempt <= now()
      AND (d.locked_until IS NULL OR d.locked_until <= now())
    ORDER BY d.next_attempt, d.id
    LIMIT $6
),
hosts(host) AS (SELECT DISTINCT host FROM due)"""

_CLAIM_FROM = """
WITH RECURSIVE {hosts},
open_hosts AS (
    SELECT h.host,
           CASE WHEN p.unavailable THEN 1 ELSE $2 END
           - (SELECT count(*) FROM deliveries b
              WHERE b.host = h.host AND b.state = 'queued' AND b.locked_until > now()) AS free
    FROM hosts h LEFT JOIN peer_hosts p ON p.host = h.host
    WHERE h.host IS NOT NULL
      AND (p.unavailable IS NOT TRUE OR p.last_failure_at IS NULL
           OR p.last_failure_at <= now() - $3::interval)
),
candidates AS (
    SELECT c.id, c.next_attempt, o.host,
           min(c.next_attempt) OVER per_host AS host_due, min(c.id) OVER per_host AS host_first
    FROM open_hosts o
    CROSS JOIN LATERAL (
        SELECT d.id, d.next_attempt FROM deliveries d
        WHERE d.host = o.host AND d.state = 'queued' AND d.next_attempt <= now()
          AND (d.locked_until IS NULL OR d.locked_until <= now())
        ORDER BY d.next_attempt, d.id
        LIMIT greatest(o.free, 0)
    ) c
    WINDOW per_host AS (PARTITION BY o.host)
),
chosen AS (
    SELECT id FROM (
        SELECT *, dense_rank() OVER (ORDER BY host_due, host_first) AS host_rank
        FROM candidates
    ) ranked
    WHERE $5::int IS NULL OR host_rank <= $5
    ORDER BY host_due, host_first, next_attempt, id
    LIMIT $1
),
locked AS (
    SELECT id FROM deliveries WHERE id IN (SELECT id FROM chosen)
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries d
SET locked_until = now() + $4::interval, attempts = d.attempts + 1
FROM locked WHERE d.id = locked.id
RETURNING d.id, d.activity_id, d.group_id, d.inbox, d.host, d.body, d.attempts, d.locked_until
"""
_CLAIM = _CLAIM_FROM.format(hosts=_ALL_HOSTS)
_CLAIM_DUE = _CLAIM_FROM.format(hosts=_DUE_HOSTS)


async def claim(
    db: Db,
    *,
    limit: int,
    per_host: int,
    probe_interval: timedelta,
    lease: timedelta,
    hosts: int | None = None,
) -> list[Claimed]:
    """Lease up to ``limit`` due rows, respecting host limits (see the module docstring).

    A host's rows come together (hosts in the order of their oldest due row),
    so a worker can send them over one connection; ``hosts`` caps how many
    hosts one claim serves. Returned by host, then id.

    Two steps in one transaction. First the hosts of the oldest due rows
    (a window of them, read in claiming order): in a fan-out, where every
    host has a row or two, that is all a claim needs. Walking every host
    with queued rows instead cost each claim one probe a host: 14 ms with
    1,000 hosts, most of the database's CPU in a fan-out. When the window
    gives less than was asked (the queue's end, or one host's backlog
    filling the window while that host has no room), the walk over every
    host takes the rest, so no host is crowded out; the hosts the window
    would have served first are the same the walk would have.
    """
    if limit <= 0 or (hosts is not None and hosts <= 0):
        return []
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            return await claim(
                conn, limit=limit, per_host=per_host, probe_interval=probe_interval, lease=lease,
                hosts=hosts,
            )  # fmt: skip
    window = 2 * (limit if hosts is None else min(hosts, limit)) + 32  # rows, for hosts
    async with db.transaction():
        await db.execute("SELECT pg_advisory_xact_lock($1)", _CLAIM_LOCK)
        rows = await db.fetch(_CLAIM_DUE, limit, per_host, probe_interval, lease, hosts, window)
        served = len({row["host"] for row in rows})
        if len(rows) < limit and (hosts is None or served < hosts):
            rows += await db.fetch(
                _CLAIM, limit - len(rows), per_host, probe_interval, lease,
                None if hosts is None else hosts - served,
            )  # fmt: skip
    claimed = [Claimed(**dict(row)) for row in rows]
    claimed.sort(key=lambda row: (row.host, row.id))
    return claimed


async def seconds_until_next_due(db: Db) -> float | None:
    """Seconds until the next row in backoff comes due (None when there is none)."""
    value = await db.fetchval(
        """
        SELECT extract(epoch FROM min(next_attempt) - now()) FROM deliveries
        WHERE state = 'queued' AND next_attempt > now()
        """
    )
    return None if value is None else max(0.0, float(value))


async def mark_delivered(db: Db, delivery_id: int, status: int | None) -> None:
    # Whoever delivers first wins; a slower duplicate holder changes nothing.
    await db.execute(
        """
        UPDATE deliveries SET state = 'delivered', delivered_at = now(), locked_until = NULL,
            last_status = $2, last_error = NULL
        WHERE id = $1 AND state = ANY($3::text[])
        """,
        delivery_id, status, DELIVERY.sources("delivered"),
    )  # fmt: skip


async def mark_delivered_many(db: Db, delivered: list[tuple[int, int | None]]) -> None:
    """:func:`mark_delivered` for many rows in one statement (the worker batches them)."""
    if not delivered:
        return
    await db.execute(
        """
        UPDATE deliveries d SET state = 'delivered', delivered_at = now(), locked_until = NULL,
            last_status = t.status, last_error = NULL
        FROM unnest($1::bigint[], $2::int[]) AS t(id, status)
        WHERE d.id = t.id AND d.state = ANY($3::text[])
        """,
        [row for row, _ in delivered], [status for _, status in delivered],
        DELIVERY.sources("delivered"),
    )  # fmt: skip


async def schedule_retry(
    db: Db, claimed: Claimed, delay: timedelta, status: int | None, error: str
) -> None:
    # Only the current lease holder reschedules (a stale one must not undo a newer claim).
    await db.execute(
        """
        UPDATE deliveries SET next_attempt = now() + $3::interval, locked_until = NULL,
            last_status = $4, last_error = $5
        WHERE id = $1 AND state = 'queued' AND locked_until = $2
        """,
        claimed.id, claimed.locked_until, delay, status, error[:2000],
    )  # fmt: skip


async def mark_dead(db: Db, claimed: Claimed, status: int | None, error: str) -> None:
    await db.execute(
        """
        UPDATE deliveries SET state = 'dead', locked_until = NULL, last_status = $3,
            last_error = $4
        WHERE id = $1 AND state = ANY($5::text[]) AND locked_until = $2
        """,
        claimed.id, claimed.locked_until, status, error[:2000], DELIVERY.sources("dead"),
    )  # fmt: skip


async def postpone(db: Db, claimed: list[Claimed], delay: timedelta) -> None:
    """Put leased rows that were never sent back to wait ``delay``, their attempt given back.

    The claim counted an attempt for each row it leased; a row its worker did
    not send (its host failed on the row before) was not attempted, so it must
    not age toward the dead letters. Its last status and error stay those of
    its last real attempt. Only the current lease holder postpones (as for
    :func:`schedule_retry`).
    """
    if not claimed:
        return
    await db.execute(
        """
        UPDATE deliveries d SET next_attempt = now() + $3::interval, locked_until = NULL,
            attempts = greatest(d.attempts - 1, 0)
        FROM unnest($1::bigint[], $2::timestamptz[]) AS t(id, locked_until)
        WHERE d.id = t.id AND d.state = 'queued' AND d.locked_until = t.locked_until
        """,
        [row.id for row in claimed], [row.locked_until for row in claimed], delay,
    )  # fmt: skip


async def release(db: Db, delivery_ids: list[int]) -> None:
    """Give leases back at once (a drain that ran out of time) instead of letting them expire."""
    await db.execute(
        """
        UPDATE deliveries SET locked_until = NULL
        WHERE id = ANY($1::bigint[]) AND state = 'queued'
        """,
        delivery_ids,
    )


# ------------------------------------------------------------------ admin
async def stats(db: Db) -> dict[str, Any]:
    """Counts per state, rows in flight, the oldest waiting row."""
    row = await db.fetchrow(
        """
        SELECT count(*) FILTER (WHERE state = 'queued') AS queued,
               count(*) FILTER (WHERE state = 'delivered') AS delivered,
               count(*) FILTER (WHERE state = 'dead') AS dead,
               count(*) FILTER (WHERE state = 'queued' AND locked_until > now()) AS in_flight,
               min(created_at) FILTER (WHERE state = 'queued') AS oldest_queued_at
        FROM deliveries
        """
    )
    return dict(row)


_ADMIN_COLUMNS = """
    d.id, d.activity_id, g.slug AS group_slug, d.inbox, d.host, d.state, d.attempts,
    d.next_attempt, d.last_status, d.last_error, d.created_at, d.delivered_at
"""


async def dead_letters(db: Db, *, limit: int, after: int | None) -> list[dict[str, Any]]:
    rows = await db.fetch(
        f"""
        SELECT {_ADMIN_COLUMNS} FROM deliveries d LEFT JOIN groups g ON g.id = d.group_id
        WHERE d.state = 'dead' AND ($2::bigint IS NULL OR d.id > $2)
        ORDER BY d.id LIMIT $1
        """,
        limit,
        after,
    )
    return [dict(row) for row in rows]


async def retry(db: Db, delivery_id: int) -> dict[str, Any] | None:
    """Queue a dead row again (attempts reset) or bring a queued one forward.

    Returns the row as it is now (a delivered row unchanged), or None if
    there is no such row.
    """
    changed = await db.execute(
        """
        UPDATE deliveries SET state = 'queued', next_attempt = now(),
            attempts = CASE WHEN state = 'dead' THEN 0 ELSE attempts END
        WHERE id = $1 AND state = ANY($2::text[])
        """,
        delivery_id,
        DELIVERY.sources("queued"),
    )
    if changed.endswith(" 1"):
        await db.execute("SELECT pg_notify($1, '')", CHANNEL)
    row = await db.fetchrow(
        f"SELECT {_ADMIN_COLUMNS} FROM deliveries d LEFT JOIN groups g ON g.id = d.group_id"
        " WHERE d.id = $1",
        delivery_id,
    )
    return dict(row) if row else None


class PgDeliveries:
    """Implements :class:`imago_fed.domain.ports.delivery.DeliveryQueue`.

    Over the pool, or bound to the connection of a transaction (publishing
    enqueues inside the transaction that stores the activity).
    """

    def __init__(self, db: Db) -> None:
        self._db = db

    async def enqueue(
        self,
        *,
        activity_id: str,
        group_id: int | None,
        body: bytes | str,
        inboxes: Iterable[str],
    ) -> int:
        return await enqueue(
            self._db, activity_id=activity_id, group_id=group_id, body=body, inboxes=inboxes
        )

    async def claim(
        self,
        *,
        limit: int,
        per_host: int,
        probe_interval: timedelta,
        lease: timedelta,
        hosts: int | None = None,
    ) -> list[Claimed]:
        return await claim(
            self._db, limit=limit, per_host=per_host, probe_interval=probe_interval, lease=lease,
            hosts=hosts,
        )  # fmt: skip

    async def seconds_until_next_due(self) -> float | None:
        return await seconds_until_next_due(self._db)

    async def mark_delivered(self, delivery_id: int, status: int | None) -> None:
        await mark_delivered(self._db, delivery_id, status)

    async def mark_delivered_many(self, delivered: list[tuple[int, int | None]]) -> None:
        await mark_delivered_many(self._db, delivered)

    async def schedule_retry(
        self, claimed: Claimed, delay: timedelta, status: int | None, error: str
    ) -> None:
        await schedule_retry(self._db, claimed, delay, status, error)

    async def mark_dead(self, claimed: Claimed, status: int | None, error: str) -> None:
        await mark_dead(self._db, claimed, status, error)

    async def postpone(self, claimed: list[Claimed], delay: timedelta) -> None:
        await postpone(self._db, claimed, delay)

    async def release(self, delivery_ids: list[int]) -> None:
        await release(self._db, delivery_ids)

"""The status dashboard's database readings (``DeliveryReadings``) over the pool.

The queue depth chart is rebuilt from the rows themselves (created_at,
delivered_at), so there is no sampler to run and no history table to prune:
a row counts as waiting at hour H when it was created before the end of H and
not delivered by then (dead rows count until now: they never were).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from imago_fed.domain.ports.status import QueueReading
from imago_fed.store import deliveries

__all__ = ["DEAD_WINDOW", "PgActivityCounts", "PgDeliveryReadings"]

#: Dead deliveries older than this no longer raise a warning: a peer that went
#: away for good would otherwise keep the dashboard yellow for ever.
DEAD_WINDOW = timedelta(days=7)


class PgDeliveryReadings:
    """Implements :class:`imago_fed.domain.ports.status.DeliveryReadings`."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def queue(self) -> QueueReading:
        stats = await deliveries.stats(self._pool)
        dead = await self._pool.fetchval(
            "SELECT count(*) FROM deliveries"
            " WHERE state = 'dead' AND created_at > now() - $1::interval",
            DEAD_WINDOW,
        )
        rows = await self._pool.fetch(
            """
            SELECT host, first_failure_at FROM peer_hosts
            WHERE unavailable ORDER BY first_failure_at NULLS LAST, host LIMIT 100
            """
        )
        return QueueReading(
            depth=stats["queued"],
            oldest=stats["oldest_queued_at"],
            dead=dead,
            failing_peers=[(row["host"], row["first_failure_at"]) for row in rows],
        )

    async def hourly(self, since: datetime) -> list[tuple[datetime, int, int]]:
        rows = await self._pool.fetch(
            """
            WITH hours AS (
                SELECT generate_series(date_trunc('hour', $1::timestamptz),
                                       date_trunc('hour', now()), interval '1 hour') AS hour
            )
            SELECT h.hour,
                   (SELECT count(*) FROM deliveries d
                     WHERE d.created_at < h.hour + interval '1 hour'
                       AND (d.delivered_at IS NULL OR d.delivered_at >= h.hour + interval '1 hour')
                   ) AS waiting,
                   (SELECT count(*) FROM deliveries d
                     WHERE d.delivered_at >= h.hour AND d.delivered_at < h.hour + interval '1 hour'
                   ) AS delivered
            FROM hours h ORDER BY h.hour
            """,
            since,
        )
        return [(row["hour"], row["waiting"], row["delivered"]) for row in rows]


class PgActivityCounts:
    """Implements :class:`imago_fed.domain.ports.status.ActivityCounts`."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def proposals_by_state(self) -> dict[str, int]:
        rows = await self._pool.fetch("SELECT state, count(*) AS n FROM proposals GROUP BY state")
        return {row["state"]: row["n"] for row in rows}

    async def ballots(self) -> int:
        return await self._pool.fetchval("SELECT count(*) FROM election_ballots")

    async def deliveries_by_state(self) -> dict[str, int]:
        rows = await self._pool.fetch("SELECT state, count(*) AS n FROM deliveries GROUP BY state")
        return {row["state"]: row["n"] for row in rows}

"""What we know about each remote host: its signature scheme and its health.

Health follows Mastodon's ``DeliveryFailureTracker``: a failed delivery
marks the (UTC) day; a host that failed on ``unavailable_after_days``
distinct days since its last success is *unavailable*, and the queue stops
trying it (one probe row every few hours aside). Any answer that says the
host is alive -- a 2xx, or a permanent 4xx -- resets it.

    success ──> failure_days = 0, unavailable = false
    failure ──> failure_days + 1 if it is a new day ──> >= 7 ─> unavailable
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from imago_fed.domain.ports.delivery import UNAVAILABLE_AFTER_DAYS
from imago_fed.store.database import Db
from imago_fed.store.deliveries import CHANNEL

__all__ = [
    "UNAVAILABLE_AFTER_DAYS",
    "PgPeerHosts",
    "list_hosts",
    "record_failure",
    "record_success",
    "reset",
]


# Does a failure at $2 start a new failure day? (Days are UTC; the first
# failure after a success always counts.)
_NEW_DAY = """CASE WHEN peer_hosts.failure_days = 0 OR peer_hosts.last_failure_at IS NULL
    OR (peer_hosts.last_failure_at AT TIME ZONE 'UTC')::date
       < (coalesce($2, now()) AT TIME ZONE 'UTC')::date THEN 1 ELSE 0 END"""


async def record_failure(
    db: Db, host: str, *, at: datetime | None = None, after_days: int = UNAVAILABLE_AFTER_DAYS
) -> bool:
    """Count a failed delivery to ``host``; return whether the host is now unavailable."""
    return await db.fetchval(
        f"""
        INSERT INTO peer_hosts AS peer_hosts
            (host, first_failure_at, last_failure_at, failure_days, unavailable)
        VALUES ($1, coalesce($2, now()), coalesce($2, now()), 1, $3 <= 1)
        ON CONFLICT (host) DO UPDATE SET
            first_failure_at = CASE WHEN peer_hosts.failure_days = 0
                                    THEN EXCLUDED.first_failure_at
                                    ELSE peer_hosts.first_failure_at END,
            last_failure_at = greatest(peer_hosts.last_failure_at, EXCLUDED.last_failure_at),
            failure_days = peer_hosts.failure_days + {_NEW_DAY},
            unavailable = peer_hosts.unavailable
                          OR peer_hosts.failure_days + {_NEW_DAY} >= $3
        RETURNING unavailable
        """,
        host,
        at,
        after_days,
    )


async def record_success(db: Db, host: str) -> None:
    """The host answered: clear its failures. Cheap when there is nothing to clear."""
    await record_successes(db, [host])


async def record_successes(db: Db, hosts: list[str]) -> None:
    """:func:`record_success` for many hosts in one statement (in a stable order,
    so two workers writing overlapping sets cannot deadlock)."""
    if not hosts:
        return
    await db.execute(
        """
        INSERT INTO peer_hosts AS peer_hosts (host, last_success_at)
        SELECT host, now() FROM unnest($1::text[]) AS t(host)
        ON CONFLICT (host) DO UPDATE SET
            last_success_at = now(), failure_days = 0, first_failure_at = NULL,
            unavailable = false
        WHERE peer_hosts.failure_days > 0 OR peer_hosts.unavailable
           OR peer_hosts.last_success_at IS NULL
           OR peer_hosts.last_success_at < now() - interval '1 hour'
        """,
        sorted(set(hosts)),
    )


async def reset(db: Db, host: str) -> bool:
    """Admin: forget a host's failures (it is reachable again); False if unknown."""
    status = await db.execute(
        """
        UPDATE peer_hosts SET failure_days = 0, first_failure_at = NULL, unavailable = false
        WHERE host = $1
        """,
        host,
    )
    if status.endswith(" 1"):
        await db.execute("SELECT pg_notify($1, '')", CHANNEL)
        return True
    return False


async def list_hosts(db: Db, *, limit: int, after: str | None) -> list[dict[str, Any]]:
    """Known hosts by name, with how many deliveries wait for each."""
    rows = await db.fetch(
        """
        SELECT p.host, p.signature_scheme, p.unavailable, p.failure_days, p.first_failure_at,
               p.last_failure_at, p.last_success_at,
               (SELECT count(*) FROM deliveries d
                WHERE d.host = p.host AND d.state = 'queued') AS queued
        FROM peer_hosts p
        WHERE $2::text IS NULL OR p.host > $2
        ORDER BY p.host LIMIT $1
        """,
        limit,
        after,
    )
    return [dict(row) for row in rows]


class PgPeerHosts:
    """The HTTP client's memory of which signature scheme each host accepts, and
    the delivery worker's record of each host's health (``ports.delivery.PeerHealth``).

    Schemes are kept by name (``"cavage"``, ``"rfc9421"``): what they mean is
    the HTTP client's business, not the store's.
    """

    def __init__(self, db: Db) -> None:
        self._db = db

    async def signature_scheme(self, host: str) -> str | None:
        return await self._db.fetchval(
            "SELECT signature_scheme FROM peer_hosts WHERE host = $1", host
        )

    async def signature_schemes(self, hosts: list[str]) -> dict[str, str]:
        """The remembered scheme of each host that has one (one query for many)."""
        rows = await self._db.fetch(
            "SELECT host, signature_scheme FROM peer_hosts"
            " WHERE host = ANY($1::text[]) AND signature_scheme IS NOT NULL",
            hosts,
        )
        return {row["host"]: row["signature_scheme"] for row in rows}

    async def remember_signature_scheme(self, host: str, scheme: str) -> None:
        await self._db.execute(
            """
            INSERT INTO peer_hosts (host, signature_scheme) VALUES ($1, $2)
            ON CONFLICT (host) DO UPDATE SET signature_scheme = EXCLUDED.signature_scheme
            """,
            host,
            str(scheme),
        )

    async def record_failure(self, host: str, *, after_days: int) -> bool:
        return await record_failure(self._db, host, after_days=after_days)

    async def record_success(self, host: str) -> None:
        await record_success(self._db, host)

    async def record_successes(self, hosts: list[str]) -> None:
        await record_successes(self._db, hosts)

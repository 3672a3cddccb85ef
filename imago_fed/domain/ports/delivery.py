"""Ports of the outbound side: the delivery queue and what we know of each peer host.

Publishing writes rows (``enqueue``, inside the transaction that stores the
activity); the delivery worker leases them, POSTs, and records what the
answer meant, together with the host's health, in one transaction (see
:class:`imago_fed.domain.ports.federation.Federation`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

__all__ = ["UNAVAILABLE_AFTER_DAYS", "Claimed", "DeliveryQueue", "PeerHealth"]

#: A host that failed on this many distinct days since its last success is
#: held (Mastodon's ``DeliveryFailureTracker`` rule).
UNAVAILABLE_AFTER_DAYS = 7


@dataclass(frozen=True)
class Claimed:
    """A delivery leased to this worker until ``locked_until``."""

    id: int
    activity_id: str
    group_id: int | None
    inbox: str
    host: str
    body: str
    attempts: int  # including the attempt about to be made
    locked_until: datetime


class DeliveryQueue(Protocol):
    async def enqueue(
        self,
        *,
        activity_id: str,
        group_id: int | None,
        body: bytes | str,
        inboxes: Iterable[str],
    ) -> int:
        """Queue ``body`` once per distinct inbox; how many rows were new."""
        ...

    async def claim(
        self,
        *,
        limit: int,
        per_host: int,
        probe_interval: timedelta,
        lease: timedelta,
        hosts: int | None = None,
    ) -> list[Claimed]:
        """Lease up to ``limit`` due rows, at most ``per_host`` in flight per host,
        from at most ``hosts`` hosts; a host's rows come together."""
        ...

    async def seconds_until_next_due(self) -> float | None:
        """Seconds until the next row in backoff comes due (None when none is)."""
        ...

    async def mark_delivered(self, delivery_id: int, status: int | None) -> None: ...

    async def mark_delivered_many(self, delivered: list[tuple[int, int | None]]) -> None:
        """``mark_delivered`` for many ``(id, status)`` at once (one round trip)."""
        ...

    async def schedule_retry(
        self, claimed: Claimed, delay: timedelta, status: int | None, error: str
    ) -> None: ...

    async def mark_dead(self, claimed: Claimed, status: int | None, error: str) -> None: ...

    async def postpone(self, claimed: list[Claimed], delay: timedelta) -> None:
        """Rows leased but not sent wait ``delay``, the attempt the claim counted given back."""
        ...

    async def release(self, delivery_ids: list[int]) -> None:
        """Give leases back now (a drain that ran out of time)."""
        ...


class PeerHealth(Protocol):
    async def record_failure(self, host: str, *, after_days: int) -> bool:
        """Count a failed delivery; whether the host is now unavailable."""
        ...

    async def record_success(self, host: str) -> None:
        """The host answered: forget its failures."""
        ...

    async def record_successes(self, hosts: list[str]) -> None:
        """``record_success`` for many hosts at once (one round trip)."""
        ...

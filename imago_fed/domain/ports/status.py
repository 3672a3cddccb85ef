"""What the status dashboard reads: the queue, the peers, the history behind the charts.

Each method is one reading; the service (``services/status.py``) turns
readings into checks with ``domain/status.py``. Probes of the world outside
the database (the disk, the certificate, RDAP, the homeserver) are their own
port, :class:`SystemProbes`, so tests can break one and watch the level change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

__all__ = ["ActivityCounts", "DeliveryReadings", "QueueReading", "SystemProbes"]


@dataclass(frozen=True)
class QueueReading:
    depth: int
    oldest: datetime | None
    dead: int  # given up lately (the store says how lately: a week)
    failing_peers: list[tuple[str, datetime | None]]  # host, failing since


class DeliveryReadings(Protocol):
    async def queue(self) -> QueueReading:
        """The outbound queue now: depth, oldest waiting row, dead rows, failing hosts."""
        ...

    async def hourly(self, since: datetime) -> list[tuple[datetime, int, int]]:
        """Per hour since ``since``: (hour, rows waiting at its end, rows delivered in it).

        The depth is rebuilt from each row's created and delivered times (dead
        rows count until now, as they were never delivered), so no sampler is needed.
        """
        ...


class SystemProbes(Protocol):
    async def disk(self) -> tuple[int, int] | None:
        """(free, total) bytes of the data directory's file system."""
        ...

    async def certificate_expiry(self) -> date | None:
        """When the public domain's TLS certificate expires (None: unknown)."""
        ...

    async def domain_expiry(self) -> date | None:
        """When the domain registration expires, from RDAP (None: unknown or off)."""
        ...

    async def homeserver(self) -> str | None:
        """None when the homeserver answers; otherwise why not."""
        ...


class ActivityCounts(Protocol):
    """Totals a metrics scrape reports: how much the instance decides."""

    async def proposals_by_state(self) -> dict[str, int]: ...

    async def ballots(self) -> int:
        """Secret ballots accepted (every cast, revotes included)."""
        ...

    async def deliveries_by_state(self) -> dict[str, int]: ...

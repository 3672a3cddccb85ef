"""What the admin API reads and changes besides groups: moderation, deliveries, readiness.

These are operator views (blocks, reports, the inbox log, the delivery
queue, peer hosts); their rows go out as JSON almost as stored, so most
methods return plain mappings rather than domain objects. The use cases on
top of them (blocking, naming a Matrix moderator) live in
``services/moderation.py``; the reads are called by the handlers directly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

__all__ = [
    "DeliveryAdmin",
    "FederationAdminReads",
    "ModerationRecords",
    "SchemaProbe",
]

Row = dict[str, Any]


class ModerationRecords(Protocol):
    """Blocks, reports and moderators as the admin manages them."""

    async def list_blocks(self) -> list[Row]:
        """Every block: id, group (slug or None), kind, value, reason, created_at (ISO)."""
        ...

    async def add_block(
        self, *, group_id: int | None, kind: str, value: str, reason: str, now: datetime
    ) -> int:
        """Store a block (instance-wide when ``group_id`` is None); its id."""
        ...

    async def remove_block(self, block_id: int) -> bool:
        """Lift a block; False if there was none with this id."""
        ...

    async def list_reports(self, *, limit: int = 100) -> list[Row]:
        """Reports (Flag activities), newest first."""
        ...

    async def set_moderator(self, group_id: int, member: str, present: bool, now: datetime) -> bool:
        """Add or remove a moderator; False when nothing changed."""
        ...


class FederationAdminReads(Protocol):
    """What the admin sees of a group's traffic and of its Matrix side."""

    async def received(self, group_id: int, *, limit: int = 50) -> list[Row]:
        """Recent activities for the group, newest first (its inbox and whom it follows)."""
        ...

    async def matrix_members(self, group_id: int, state: str = "joined") -> list[str]:
        """Matrix user ids in the group's space in a state ("joined", "knocked", ...)."""
        ...


class DeliveryAdmin(Protocol):
    """The outbound queue and the remote hosts, as the operator inspects and nudges them."""

    async def stats(self) -> Row:
        """Rows per state, rows in flight, the oldest queued time."""
        ...

    async def dead_letters(self, *, limit: int, after: int | None) -> list[Row]:
        """Dead deliveries by id, after the ``after`` cursor."""
        ...

    async def retry(self, delivery_id: int) -> Row | None:
        """Queue a dead delivery again (or a queued one now); the row as it is now."""
        ...

    async def peers(self, *, limit: int, after: str | None) -> list[Row]:
        """Known hosts by name, with their health and waiting deliveries."""
        ...

    async def reset_peer(self, host: str) -> bool:
        """Forget a host's failures; False if the host is unknown."""
        ...


class SchemaProbe(Protocol):
    """Readiness: is the database reachable, and at the schema this code expects?"""

    def expected(self) -> str:
        """The schema revision this code was written for."""
        ...

    async def current(self) -> str | None:
        """The revision the database is at (None before the first migration); raises
        whatever the driver raises when the database is unreachable."""
        ...

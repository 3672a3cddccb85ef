"""The group event log port: how one adapter tells the others what happened."""

from __future__ import annotations

from typing import Protocol

from imago_fed.domain.events import GroupEvent

__all__ = ["GroupEventLog"]


class GroupEventLog(Protocol):
    async def record(self, event: GroupEvent) -> None:
        """Append an event for the other adapters to read (idempotent by dedupe key)."""
        ...

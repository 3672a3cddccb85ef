"""Moderation use cases the admin API runs: blocks, reports, Matrix moderators.

Why a service and not the handler: a block's value is normalized the same way
wherever it is added (a domain compares lowercased), lifting an unknown block
is a NotFound, and naming a Matrix moderator is two facts that go together
(the roster changes, and an event tells the bridge to adjust the rooms' power
levels; see ``matrix/bridge.py``). Fediverse moderators go through
``activitypub.following.Following.set_moderator``, which also tells followers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.events import GroupEvent, ModeratorsChanged
from imago_fed.domain.ports import Clock, GroupEventLog
from imago_fed.domain.ports.admin import ModerationRecords

__all__ = ["BLOCK_KINDS", "Block", "Moderation"]

BLOCK_KINDS = ("actor", "domain")


@dataclass(frozen=True)
class Block:
    """A block as just stored."""

    id: int
    kind: str
    value: str


class Moderation:
    def __init__(self, records: ModerationRecords, events: GroupEventLog, clock: Clock) -> None:
        self._records, self._events, self._clock = records, events, clock

    async def blocks(self) -> list[dict[str, Any]]:
        return await self._records.list_blocks()

    async def block(
        self, kind: str, value: str, *, reason: str = "", group_id: int | None = None
    ) -> Block:
        """Block an actor or a domain, instance-wide (no group) or for one group."""
        if kind not in BLOCK_KINDS:
            raise InvalidInput("kind must be actor or domain", field="kind")
        value = value.strip().lower() if kind == "domain" else value.strip()
        block_id = await self._records.add_block(
            group_id=group_id, kind=kind, value=value, reason=reason, now=self._clock.now()
        )
        return Block(block_id, kind, value)

    async def lift(self, block_id: int) -> None:
        if not await self._records.remove_block(block_id):
            raise NotFound(f"no block {block_id}")

    async def reports(self) -> list[dict[str, Any]]:
        return await self._records.list_reports()

    async def set_matrix_moderator(self, group_id: int, user_id: str, *, present: bool) -> None:
        """A Matrix member as moderator (or no longer): the rooms' power levels follow."""
        now = self._clock.now()
        if not await self._records.set_moderator(group_id, user_id, present, now):
            raise Conflict(f"{user_id} is {'already' if present else 'not'} a moderator")
        await self._events.record(
            GroupEvent(
                group_id,
                "directory",
                f"moderators|{group_id}|{user_id}|{present}|{now.isoformat()}",
                ModeratorsChanged(),
            )
        )

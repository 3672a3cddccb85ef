"""What a chat bridge keeps between restarts: its queue of pushed events and its maps.

    chat server ─push (transaction)─> BridgeInbox ─claim, one per room─> the bridge
                                                  <─finish / retry (backoff)─
    the bridge  ─> RoomMap       group <-> its rooms (by kind), encrypted or not
                ─> ChatMembers   who joined, knocked, was invited
                ─> Puppets       virtual users standing for fediverse authors
                ─> MessageMap    chat message <-> fediverse object (so nothing is sent twice)
                ─> PollMap       proposal <-> its poll message

The maps are what make the bridge idempotent: before sending, it looks up
whether the thing was already sent; after sending, it records it. The
bridge adapter holds no SQL: ``store/matrix.py`` implements these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

__all__ = [
    "BridgeInbox",
    "BridgeStore",
    "ChatMembers",
    "MessageMap",
    "PollMap",
    "PollOfProposal",
    "Puppets",
    "QueuedEvent",
    "RoomMap",
    "RoomOfGroup",
]


@dataclass(frozen=True)
class QueuedEvent:
    """One pushed event waiting its turn (events of one room go in arrival order)."""

    id: int
    room_id: str
    event: dict[str, Any]
    attempts: int  # including the claim that returned it


@dataclass(frozen=True)
class RoomOfGroup:
    group_id: int
    kind: str  # space, general, decisions, resources, announcements
    encrypted: bool  # the bridge cannot read it any more


@dataclass(frozen=True)
class PollOfProposal:
    room_id: str
    event_id: str  # the poll's start message
    ended: bool


class BridgeInbox(Protocol):
    """Pushed transactions, persisted before they are acknowledged, then worked off."""

    async def store_transaction(self, txn_id: str, body: dict[str, Any], now: datetime) -> bool:
        """Keep a transaction and queue its events not seen before (by event id);
        False when nothing was new (a replay). A known transaction id with new
        events is not a replay: homeservers reuse ids after a restart."""
        ...

    async def claim(self, *, limit: int, lease: timedelta, now: datetime) -> list[QueuedEvent]:
        """The oldest due event of each room no one is working on, leased to the caller."""
        ...

    async def finish(self, queued_id: int, state: str, error: str | None = None) -> None:
        """End a claimed event's work: ``done``, ``ignored`` (with why) or ``failed``."""
        ...

    async def retry(self, queued: QueuedEvent, error: str, now: datetime) -> None:
        """Try again later (backoff), or give up after the last attempt."""
        ...


class RoomMap(Protocol):
    async def rooms_of(self, group_id: int) -> dict[str, str]:
        """The group's room ids by kind."""
        ...

    async def save_room(
        self, group_id: int, kind: str, room_id: str, alias: str, now: datetime
    ) -> None: ...

    async def room(self, room_id: str) -> RoomOfGroup | None:
        """Which group a room belongs to (None: not one of ours)."""
        ...

    async def mark_encrypted(self, room_id: str) -> bool:
        """True the first time only (so the notice is sent once)."""
        ...


class ChatMembers(Protocol):
    async def set_member(
        self, group_id: int, user_id: str, joined: bool, now: datetime, *, state: str = "joined"
    ) -> bool:
        """Record a membership (``state``: joined, knocked, invited) or its end."""
        ...

    async def members(self, group_id: int, state: str = "joined") -> list[str]: ...


class Puppets(Protocol):
    async def puppet_registered(self, user_id: str) -> bool: ...

    async def save_puppet(
        self, user_id: str, actor_uri: str, display_name: str, now: datetime
    ) -> None: ...


class MessageMap(Protocol):
    async def bridge(
        self, *, event_id: str, room_id: str, object_id: str, group_id: int, origin: str,
        now: datetime,
    ) -> bool:  # fmt: skip
        """Remember that this message and this object are one (False: already known)."""
        ...

    async def event_for_object(self, object_id: str, room_id: str) -> str | None: ...

    async def object_for_event(self, event_id: str) -> tuple[str, str] | None:
        """(object id, origin network) of a bridged message."""
        ...


class PollMap(Protocol):
    async def save_poll(self, proposal_id: int, room_id: str, event_id: str) -> None: ...

    async def poll_of_proposal(self, proposal_id: int) -> PollOfProposal | None: ...

    async def proposal_of_poll(self, event_id: str) -> int | None: ...

    async def end_poll(self, proposal_id: int) -> bool:
        """True the first time only (so the poll is ended once)."""
        ...


class BridgeStore(RoomMap, ChatMembers, Puppets, MessageMap, PollMap, Protocol):
    """Every map the bridge keeps (one store class implements them all)."""

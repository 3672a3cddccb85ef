"""In-memory fakes of the bridge's ports (``domain/ports/bridge.py``).

They keep the same promises as the PostgreSQL classes where the bridge relies
on them: a replayed transaction stores nothing (events are unique by id), a room is marked encrypted
once, a poll is ended once, and events of one room are claimed in order.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from imago_fed.domain.ports.bridge import PollOfProposal, QueuedEvent, RoomOfGroup

__all__ = ["FakeBridgeInbox", "FakeBridgeStore"]


@dataclass
class FakeBridgeInbox:
    """``BridgeInbox``: ``outcomes`` holds each event's final state and reason."""

    transactions: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)  # event ids
    queued: list[QueuedEvent] = field(default_factory=list)
    outcomes: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # event id ->
    retried: list[tuple[str, str]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def store_transaction(self, txn_id: str, body: dict[str, Any], now: datetime) -> bool:
        new_txn = txn_id not in self.transactions
        self.transactions.add(txn_id)
        added = 0
        for event in body.get("events", []):
            if event["event_id"] in self.seen:
                continue
            self.seen.add(event["event_id"])
            self.queued.append(QueuedEvent(next(self._ids), event["room_id"], event, 0))
            added += 1
        return new_txn or added > 0

    async def claim(self, *, limit: int, lease: timedelta, now: datetime) -> list[QueuedEvent]:
        """The oldest queued event of each room (a retried one comes back at once)."""
        claimed: list[QueuedEvent] = []
        rooms: set[str] = set()
        for index, queued in enumerate(self.queued):
            if queued.room_id in rooms or len(claimed) == limit:
                continue
            rooms.add(queued.room_id)
            self.queued[index] = replace(queued, attempts=queued.attempts + 1)
            claimed.append(self.queued[index])
        return claimed

    async def finish(self, queued_id: int, state: str, error: str | None = None) -> None:
        done = next(q for q in self.queued if q.id == queued_id)
        self.queued.remove(done)
        self.outcomes[str(done.event.get("event_id"))] = (state, error)

    async def retry(self, queued: QueuedEvent, error: str, now: datetime) -> None:
        self.retried.append((str(queued.event.get("event_id")), error))


@dataclass
class FakeBridgeStore:
    """``BridgeStore`` over dicts the test can fill in and read."""

    rooms: dict[str, RoomOfGroup] = field(default_factory=dict)  # room id ->
    aliases: dict[str, str] = field(default_factory=dict)  # room id -> alias
    members_of: dict[int, dict[str, str]] = field(default_factory=dict)  # user -> state
    puppets: dict[str, tuple[str, str]] = field(default_factory=dict)  # user -> (actor, name)
    bridged: list[dict[str, Any]] = field(default_factory=list)
    polls: dict[int, PollOfProposal] = field(default_factory=dict)

    def add_room(self, group_id: int, kind: str, room_id: str) -> None:
        self.rooms[room_id] = RoomOfGroup(group_id, kind, encrypted=False)

    async def rooms_of(self, group_id: int) -> dict[str, str]:
        return {r.kind: room_id for room_id, r in self.rooms.items() if r.group_id == group_id}

    async def save_room(
        self, group_id: int, kind: str, room_id: str, alias: str, now: datetime
    ) -> None:
        if kind not in await self.rooms_of(group_id):
            self.add_room(group_id, kind, room_id)
            self.aliases[room_id] = alias

    async def room(self, room_id: str) -> RoomOfGroup | None:
        return self.rooms.get(room_id)

    async def mark_encrypted(self, room_id: str) -> bool:
        found = self.rooms[room_id]
        if found.encrypted:
            return False
        self.rooms[room_id] = replace(found, encrypted=True)
        return True

    async def set_member(
        self, group_id: int, user_id: str, joined: bool, now: datetime, *, state: str = "joined"
    ) -> bool:
        members = self.members_of.setdefault(group_id, {})
        if not joined:
            return members.pop(user_id, None) is not None
        changed = members.get(user_id) != state
        members[user_id] = state
        return changed

    async def members(self, group_id: int, state: str = "joined") -> list[str]:
        return [u for u, s in self.members_of.get(group_id, {}).items() if s == state]

    async def puppet_registered(self, user_id: str) -> bool:
        return user_id in self.puppets

    async def save_puppet(
        self, user_id: str, actor_uri: str, display_name: str, now: datetime
    ) -> None:
        self.puppets[user_id] = (actor_uri, display_name)

    async def bridge(
        self, *, event_id: str, room_id: str, object_id: str, group_id: int, origin: str,
        now: datetime,
    ) -> bool:  # fmt: skip
        if any(b["event_id"] == event_id for b in self.bridged):
            return False
        self.bridged.append({"event_id": event_id, "room_id": room_id, "object_id": object_id,
                             "group_id": group_id, "origin": origin})  # fmt: skip
        return True

    async def event_for_object(self, object_id: str, room_id: str) -> str | None:
        return next((b["event_id"] for b in self.bridged
                     if b["object_id"] == object_id and b["room_id"] == room_id), None)  # fmt: skip

    async def object_for_event(self, event_id: str) -> tuple[str, str] | None:
        return next(((b["object_id"], b["origin"]) for b in self.bridged
                     if b["event_id"] == event_id), None)  # fmt: skip

    async def save_poll(self, proposal_id: int, room_id: str, event_id: str) -> None:
        self.polls.setdefault(proposal_id, PollOfProposal(room_id, event_id, ended=False))

    async def poll_of_proposal(self, proposal_id: int) -> PollOfProposal | None:
        return self.polls.get(proposal_id)

    async def proposal_of_poll(self, event_id: str) -> int | None:
        return next((p for p, poll in self.polls.items() if poll.event_id == event_id), None)

    async def end_poll(self, proposal_id: int) -> bool:
        poll = self.polls.get(proposal_id)
        if poll is None or poll.ended:
            return False
        self.polls[proposal_id] = replace(poll, ended=True)
        return True

"""Ports: what the domain and the services need from outside, as Protocols.

One module per area (groups, governance, elections, federation, bridge, ...);
this package re-exports the common ones.

Adapters (``imago_fed.store``, ``imago_fed.keys``, ...) implement these; the
domain never imports an adapter, and a test checks that it does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from imago_fed.domain.events import GroupEvent
from imago_fed.domain.groups import Group, KeyPair

__all__ = [
    "Clock",
    "DirectMessageFailed",
    "DirectMessenger",
    "GroupEventLog",
    "GroupRepository",
    "KeyPairFactory",
]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class KeyPairFactory(Protocol):
    async def new_keypair(self) -> KeyPair:
        """A fresh signing key pair, its private half already sealed for storage."""
        ...


class GroupRepository(Protocol):
    async def add(self, group: Group) -> Group:
        """Store a new group; raise Conflict if its slug was ever used."""
        ...

    async def get(self, slug: str) -> Group | None:
        """The live group with this slug, or None."""
        ...

    async def get_by_id(self, group_id: int) -> Group | None:
        """The live group with this storage id, or None."""
        ...

    async def list(self, *, limit: int, after: str | None) -> Sequence[Group]:
        """Live groups ordered by slug, starting after ``after``."""
        ...

    async def count(self) -> int:
        """How many live groups there are."""
        ...

    async def update_profile(self, group: Group) -> None:
        """Store the group's new name and summary."""
        ...

    async def mark_deleted(self, slug: str, when: datetime) -> bool:
        """Tombstone the group; False if there was no live group with this slug."""
        ...


class GroupEventLog(Protocol):
    async def record(self, event: GroupEvent) -> None:
        """Append an event for the other adapters to read (idempotent by dedupe key)."""
        ...


class DirectMessageFailed(Exception):
    """A private message could not be handed over; the text says why, for the admin."""


class DirectMessenger(Protocol):
    """One private message to one member, sent now, with no copy kept anywhere.

    Why no queue: what goes through here are secrets (voting credentials)
    that the server must not keep. A failed send raises
    :class:`DirectMessageFailed` and the caller decides what to do with the
    secret it still holds in memory.
    """

    def accepts(self, recipient: str) -> bool:
        """Whether this messenger can reach ``recipient`` (a member id)."""
        ...

    async def send(self, group_id: int, recipient: str, text: str) -> None:
        """Deliver ``text`` privately from the group to ``recipient``."""
        ...

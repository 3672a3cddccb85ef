"""Ports of the groups area: where groups are kept, and where their keys come from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from imago_fed.domain.groups import Group, KeyPair

__all__ = ["GroupRepository", "KeyPairFactory"]


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

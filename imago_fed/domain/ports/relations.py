"""Ports of the relations area: where a group's relations are kept, and how
a proposal, an answer or a removal reaches the other group.

    services/relations.py
      ├─ RelationStore      rows of group_relations (store/graph_relations.py)
      ├─ GroupAddresses     our groups' actor ids, handles resolved to actors
      └─ RelationMessenger  Offer / Accept / Reject / Undo to a remote group
                            (activitypub/relations.py)

Groups are named by actor IRI everywhere here, local and remote alike, so the
domain's :class:`Relation` works unchanged for edges that leave the instance.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from imago_fed.domain.graph.relations import Relation

__all__ = ["GroupAddresses", "RelationMessenger", "RelationStore", "StoredRelation"]


@dataclass(frozen=True)
class StoredRelation:
    """A relation as one local group keeps it: the edge, and the Offer that made it."""

    id: int
    group_id: int
    relation: Relation
    peer: str  # the other end; the local group is the end that is not
    offer_id: str
    answer_id: str | None = None
    updated_at: datetime | None = None


class RelationStore(Protocol):
    async def add(
        self, group_id: int, relation: Relation, peer: str, offer_id: str, now: datetime
    ) -> StoredRelation:
        """Store a new proposed relation (``peer``: the end that is not this group);
        Conflict if the same live edge exists."""
        ...

    async def get(self, relation_id: int) -> StoredRelation | None: ...

    async def by_offer(self, offer_id: str) -> list[StoredRelation]:
        """Every local row made by this Offer (two when both ends are ours)."""
        ...

    async def move(
        self, relation_id: int, state: str, now: datetime, answer_id: str | None = None
    ) -> StoredRelation:
        """Follow the lifecycle (the domain checks the move); the stored row after it."""
        ...

    async def list(
        self, group_id: int, states: frozenset[str] | None = None
    ) -> list[StoredRelation]:
        """The group's relations, newest first, optionally only in ``states``."""
        ...

    async def accepted(self, peer: str | None = None) -> builtins.list[StoredRelation]:
        """Every local group's accepted relations (only those with ``peer`` if given),
        oldest first: what relinking the groups' Matrix spaces walks."""
        ...


class GroupAddresses(Protocol):
    def actor(self, slug: str) -> str:
        """Our group's actor id."""
        ...

    def local_slug(self, actor: str) -> str | None:
        """The slug when ``actor`` is one of our groups, else None."""
        ...

    async def resolve_group(self, handle_or_url: str) -> str:
        """The actor id of a group (``@name@host`` or an URL); NotFound if unknown,
        InvalidInput if it is not a group."""
        ...


class RelationMessenger(Protocol):
    """Carries the lifecycle to the other group's server, signed by our group."""

    def offer_id(self, slug: str) -> str:
        """A fresh id for the Offer our group is about to make (stored before sending)."""
        ...

    async def offer(self, slug: str, stored: StoredRelation) -> None: ...

    async def answer(self, slug: str, stored: StoredRelation, *, accept: bool) -> str:
        """Accept or Reject the Offer; the answer's activity id."""
        ...

    async def withdraw(self, slug: str, stored: StoredRelation) -> str:
        """Undo the Offer (a withdrawal, or the removal of an accepted relation)."""
        ...

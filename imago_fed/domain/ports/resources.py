"""Ports of the resources area: where intents, agreements and stocks are kept,
and how they reach other servers.

    services/resources.py
      ├─ ResourceStore      resource_intents, resource_agreements,
      │                     resource_inventory (store/resources.py)
      ├─ GroupAddresses     our groups' actor ids (ports/relations.py)
      └─ ResourceMessenger  Proposal to followers, Offer(Agreement),
                            Accept / Reject, the confirmation
                            (activitypub/resources.py)

Groups are actor IRIs everywhere, local and remote alike, so a remote
group's intent is matched and answered like a local one.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from imago_fed.domain.graph.places import BoundingBox
from imago_fed.domain.ports.graph import NodeProfile
from imago_fed.domain.resources.agreements import InventoryItem, Terms
from imago_fed.domain.resources.intents import Intent

__all__ = [
    "GroupProfiles",
    "ResourceMessenger",
    "ResourceStore",
    "SenderTrust",
    "StoredAgreement",
    "StoredIntent",
]


@dataclass(frozen=True)
class StoredIntent:
    """An intent with where it lives: ``group_id`` None when its group is remote."""

    intent: Intent
    group_id: int | None
    intent_iri: str  # the primary Intent's id (``<ap_id>#primary`` for ours)
    decision_id: int | None = None
    updated_at: datetime | None = None

    @property
    def id(self) -> int:
        assert self.intent.id is not None
        return self.intent.id

    @property
    def ap_id(self) -> str:
        assert self.intent.ap_id is not None
        return self.intent.ap_id


@dataclass(frozen=True)
class StoredAgreement:
    """One local party's view of an agreement (``role``: owner of the intent, or answerer)."""

    id: int
    group_id: int
    offer_id: str
    intent_id: int
    role: str
    peer: str
    terms: Terms
    state: str = "offered"
    agreement_iri: str | None = None
    decision_id: int | None = None
    answer_id: str | None = None
    confirmation_id: str | None = None
    updated_at: datetime | None = None


class ResourceStore(Protocol):
    # ----------------------------------------------------------- intents
    async def next_intent_id(self) -> int:
        """An id for an intent about to be stored (its IRI is built from it)."""
        ...

    async def add_intent(
        self,
        intent: Intent,
        *,
        group_id: int | None,
        intent_iri: str,
        now: datetime,
        decision_id: int | None = None,
    ) -> StoredIntent:
        """Store an intent (its ``id`` and ``ap_id`` set); Conflict if the IRI is known."""
        ...  # fmt: skip

    async def replace_remote(
        self, stored: StoredIntent, intent: Intent, now: datetime
    ) -> StoredIntent:
        """A remote group updated its Proposal: the new terms, same row."""
        ...

    async def get_intent(self, intent_id: int) -> StoredIntent | None: ...

    async def intent_by_iri(self, iri: str) -> StoredIntent | None:
        """By the Proposal's id or its primary Intent's id."""
        ...

    async def list_intents(
        self, group_id: int, states: frozenset[str] | None = None
    ) -> builtins.list[StoredIntent]: ...

    async def known(
        self, states: frozenset[str] | None, purpose: str | None, limit: int = 200
    ) -> builtins.list[StoredIntent]:
        """Every intent the instance knows (ours and other servers'), newest first."""
        ...

    async def candidates(
        self, purpose: str, type_keys: frozenset[str] | None, now: datetime, limit: int = 5000,
        *, actions: frozenset[str] | None = None, box: BoundingBox | None = None,
    ) -> builtins.list[StoredIntent]:  # fmt: skip
        """Open intents of ``purpose`` whose type is one of ``type_keys`` (None: any),
        not ended by ``now``; with ``actions``, only those actions; with ``box``, only
        intents without a place or placed in the box."""
        ...

    async def claim_match_notice(
        self, a: int, b: int, score: Decimal, margin: Decimal, now: datetime
    ) -> tuple[bool, Decimal | None]:
        """Whether the pair of intents ``a``, ``b`` (either order) may be told at
        ``score``: yes if never told, or told at least ``margin`` lower; then the score
        is kept, atomically (of two concurrent claims one wins). The second item is
        the score it was last told at (None: never)."""
        ...

    async def move_intent(
        self,
        intent_id: int,
        state: str,
        now: datetime,
        *,
        remaining: Decimal | None = None,
        set_remaining: bool = False,
    ) -> StoredIntent:
        """Follow the intent lifecycle (guarded); optionally set what is left."""
        ...  # fmt: skip

    async def set_decision(self, intent_id: int, decision_id: int) -> None: ...

    async def due_to_expire(self, now: datetime) -> builtins.list[StoredIntent]:
        """Open intents whose window has ended."""
        ...

    async def pending(self) -> builtins.list[StoredIntent]:
        """Our intents waiting for their publish_offer decision."""
        ...

    # -------------------------------------------------------- agreements
    async def add_agreement(
        self,
        *,
        group_id: int,
        offer_id: str,
        intent_id: int,
        role: str,
        peer: str,
        terms: Terms,
        now: datetime,
        decision_id: int | None = None,
    ) -> StoredAgreement:
        """Conflict if this group already has a row for this Offer."""
        ...  # fmt: skip

    async def get_agreement(self, agreement_id: int) -> StoredAgreement | None: ...

    async def agreements_by_offer(self, offer_id: str) -> builtins.list[StoredAgreement]: ...

    async def agreements_by_iri(self, iri: str) -> builtins.list[StoredAgreement]: ...

    async def agreements_of_intent(self, intent_id: int) -> builtins.list[StoredAgreement]: ...

    async def list_agreements(
        self, group_id: int, states: frozenset[str] | None = None
    ) -> builtins.list[StoredAgreement]: ...

    async def move_agreement(
        self,
        agreement_id: int,
        state: str,
        now: datetime,
        *,
        answer_id: str | None = None,
        agreement_iri: str | None = None,
        confirmation_id: str | None = None,
        decision_id: int | None = None,
    ) -> StoredAgreement:
        """Follow the agreement lifecycle (guarded); record the ids that came with it."""
        ...  # fmt: skip

    async def set_agreement_decision(self, agreement_id: int, decision_id: int) -> None: ...

    async def set_answer_id(self, agreement_id: int, answer_id: str) -> None:
        """The id of the Accept or Reject we sent (after the row moved)."""
        ...

    # --------------------------------------------------------- inventory
    async def inventory(self, group_id: int) -> builtins.list[InventoryItem]: ...

    async def stock(self, group_id: int, type_key: str) -> InventoryItem | None: ...

    async def set_stock(self, group_id: int, item: InventoryItem, now: datetime) -> None: ...


class ResourceMessenger(Protocol):
    """Carries intents and agreements to other servers, signed by our group."""

    def proposal_id(self, slug: str, intent_id: int) -> str:
        """The Proposal's IRI for our intent (its primary Intent is ``#primary``)."""
        ...

    def agreement_iri(self, slug: str, agreement_id: int) -> str: ...

    def new_offer_id(self) -> str: ...

    async def publish(self, slug: str, stored: StoredIntent) -> None:
        """Announce a new intent to the group's followers (a Proposal)."""
        ...

    async def update(self, slug: str, stored: StoredIntent) -> None:
        """Tell followers what is left, or that it is withdrawn."""
        ...

    async def offer_agreement(
        self, slug: str, agreement: StoredAgreement, intent: StoredIntent
    ) -> None: ...

    async def answer(
        self, slug: str, agreement: StoredAgreement, intent: StoredIntent, *, accept: bool
    ) -> str:
        """Accept (with the finalised Agreement) or Reject; the activity id."""
        ...

    async def confirm(self, slug: str, agreement: StoredAgreement) -> str:
        """Tell the other party the agreement was carried out; the activity id."""
        ...

    async def cancel(self, slug: str, agreement: StoredAgreement) -> str:
        """Tell the other party we called the accepted agreement off; the activity id."""
        ...


class SenderTrust(Protocol):
    """Whom a group hears offers from: its members, and those it chose to follow."""

    async def trusted(self, actor: str, group_ids: Collection[int]) -> bool:
        """Whether one of our groups follows ``actor``, or ``actor`` is an accepted
        follower (a member) of one of ``group_ids``."""
        ...


class GroupProfiles(Protocol):
    """Where our groups are (``ports.graph.GraphNodes`` has it): an intent with no
    place of its own is at its group's."""

    async def profile(self, group_id: int) -> NodeProfile | None: ...

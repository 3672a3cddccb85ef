"""Ports of propagation: who is close, what a group already received, how an
item travels to another group and to the group's own followers.

    services/propagation.py
      ├─ (who is close: services/proximity.py over ports.graph.GraphNodes)
      ├─ PropagationStore    feed rules, received items (dedupe), rate buckets
      ├─ PropagationSender   an Item to another group; a boost to followers
      │                      (activitypub/relations.py)
      └─ CarriedIntents      offers and needs as items: which are a group's own
                             open ones; reading one from its origin and keeping it
                             where matching sees it (activitypub/resource_exchange.py)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from imago_fed.domain.graph.feeds import FeedRules, RateState
from imago_fed.domain.graph.propagation import Item
from imago_fed.domain.resources.intents import Intent

__all__ = [
    "CarriedIntents",
    "PropagatedItem",
    "PropagationSender",
    "PropagationStore",
]


@dataclass(frozen=True)
class PropagatedItem:
    """An item as a group recorded it: sent (origin), accepted, held or released."""

    id: int
    group_id: int
    item: Item
    verdict: str
    reason: str
    received_at: datetime


class PropagationStore(Protocol):
    async def feed_rules(self, group_id: int) -> FeedRules | None:
        """The group's rules, or None while it has written none (defaults apply)."""
        ...

    async def save_feed_rules(self, group_id: int, rules: FeedRules, now: datetime) -> None: ...

    async def seen(self, group_id: int, object_id: str) -> bool:
        """Whether this group already holds the object (sent, accepted or held)."""
        ...

    async def record(
        self, group_id: int, item: Item, verdict: str, reason: str, now: datetime
    ) -> PropagatedItem | None:
        """Store an item once per (group, object); None if it was there already."""
        ...

    async def get(self, item_id: int) -> PropagatedItem | None: ...

    async def set_verdict(self, item_id: int, verdict: str) -> None: ...

    async def items(self, group_id: int, limit: int = 100) -> list[PropagatedItem]:
        """The group's items, newest first."""
        ...

    async def rate_state(self, group_id: int) -> RateState: ...

    async def save_rate_state(self, group_id: int, state: RateState) -> None: ...

    async def announced(self, group_id: int, object_id: str) -> bool:
        """Whether the group announced this object (only its own items propagate)."""
        ...


class PropagationSender(Protocol):
    async def send(self, slug: str, item: Item, recipients: list[str]) -> None:
        """Deliver ``item`` (already carrying our group last on its path) to each group."""
        ...

    async def boost(self, slug: str, item: Item) -> None:
        """Re-announce the item's object to the group's own followers."""
        ...


class CarriedIntents(Protocol):
    """Offers and needs travelling as items (kind ``intent``).

    The item carries only the Proposal's id: each receiver reads it from its
    origin, so no relay on the path can alter what the origin offers.
    """

    async def proposal_of(self, slug: str, intent_id: int) -> str:
        """The Proposal id of one of the group's open intents (NotFound, or Conflict
        when it is not open)."""
        ...

    async def is_open(self, group_id: int, object_id: str) -> bool:
        """Whether ``object_id`` is one of the group's own open intents."""
        ...

    async def read(self, item: Item) -> tuple[Intent, str] | None:
        """The intent an item carries and its primary Intent's id; None when it is
        one of ours (already known here). InvalidInput when it cannot be had whole:
        unreachable, not a Proposal, malformed, or not the origin's."""
        ...

    async def keep(self, intent: Intent, intent_iri: str) -> None:
        """Record it as a known remote intent (matching suggests it from now on)."""
        ...

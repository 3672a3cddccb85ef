"""Ports of propagation: who is close, what a group already received, how an
item travels to another group and to the group's own followers.

    services/propagation.py
      ├─ (who is close: services/proximity.py over ports.graph.GraphNodes)
      ├─ PropagationStore    feed rules, received items (dedupe), rate buckets
      └─ PropagationSender   an Item to another group; a boost to followers
                             (activitypub/relations.py)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from imago_fed.domain.graph.feeds import FeedRules, RateState
from imago_fed.domain.graph.propagation import Item

__all__ = [
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

"""Ports of personal feeds: where feeds are kept, and what was already shown.

services/personal_feeds.py
  └─ PersonalFeedStore   feeds by owner, their rooms, the objects shown in
                         each, and the announcements this instance's groups
                         recorded (the backlog a new feed starts from)
                         (store/personal_feeds.py)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from imago_fed.domain.graph.feeds import PersonalFeed
from imago_fed.domain.graph.propagation import ItemMeta

__all__ = ["FeedItem", "PersonalFeedStore", "StoredFeed"]


@dataclass(frozen=True)
class StoredFeed:
    id: int
    owner: str  # the person's chat id (a Matrix user id)
    name: str
    feed: PersonalFeed
    room_id: str | None = None  # the room the feed is read in, once made


@dataclass(frozen=True)
class FeedItem:
    """An announcement as feeds see it: the object, and what they match on."""

    object_id: str
    meta: ItemMeta
    recorded_at: datetime


class PersonalFeedStore(Protocol):
    async def save(self, owner: str, name: str, feed: PersonalFeed, now: datetime) -> StoredFeed:
        """Create the feed, or replace the definition of the owner's feed of that name."""
        ...

    async def of_owner(self, owner: str) -> list[StoredFeed]:
        """The owner's feeds by name."""
        ...

    async def all(self) -> list[StoredFeed]:
        """Every feed (matching an item reads them all: people keep a few each)."""
        ...

    async def delete(self, feed_id: int) -> None: ...

    async def set_room(self, feed_id: int, room_id: str) -> None: ...

    async def shown(self, feed_id: int, object_id: str) -> bool:
        """Whether the object was already posted in the feed."""
        ...

    async def mark_shown(self, feed_id: int, object_id: str, now: datetime) -> None: ...

    async def recent_items(self, limit: int) -> list[FeedItem]:
        """The latest announcements this instance's groups sent, accepted or released,
        one per object (its first record), oldest first."""
        ...

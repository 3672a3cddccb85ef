"""Personal feeds: a person says which groups, themes and places they want to read.

    define(owner, name, words) ── parse (domain) ── handles -> actor ids (GroupAddresses)
                                                 ── near=Q90 | Lyon | 45.76,4.84 -> a Place
                               ──> PersonalFeed saved under (owner, name)
    matching(meta)      the feeds an announcement belongs in (PersonalFeed.matches)
    backlog(feed)       recent announcements it matches, oldest first
    show(feed, object)  once per feed and object (the chat adapter posts it)

Nothing is ranked: a feed shows every matching announcement, in the order the
groups of this instance recorded them. The chat adapter (``matrix/feed_rooms.py``)
owns the rooms; this module only knows feeds, items and who owns them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.graph import gazetteer
from imago_fed.domain.graph.feeds import PersonalFeed
from imago_fed.domain.graph.personal_feeds import (
    MAX_FEEDS,
    FeedRequest,
    parse_request,
    validate_name,
)
from imago_fed.domain.graph.places import Place
from imago_fed.domain.graph.propagation import ItemMeta
from imago_fed.domain.graph.wikidata import parse_qid
from imago_fed.domain.ports.clock import Clock
from imago_fed.domain.ports.personal_feeds import FeedItem, PersonalFeedStore, StoredFeed
from imago_fed.domain.ports.relations import GroupAddresses

__all__ = ["PersonalFeeds", "shipped_place"]

BACKLOG = 20  # announcements a new feed starts with
_QID = re.compile(r"[Qq][1-9][0-9]*")


def shipped_place(name: str) -> Place | None:
    """A place of the shipped gazetteer by Wikidata id, else by name (the most
    populous of that name), as the domain's Place."""
    found = gazetteer.place(name)
    if found is None and not _QID.fullmatch(name):
        named = [p for p in gazetteer.search_places(name, limit=20)
                 if p.label.casefold() == name.casefold() and p.has_coordinates]  # fmt: skip
        found = max(named, key=lambda p: p.population or 0, default=None)
    if found is None or found.lat is None or found.lon is None:
        return None
    return Place(found.lat, found.lon, found.label, found.qid)


class PersonalFeeds:
    def __init__(
        self,
        store: PersonalFeedStore,
        addresses: GroupAddresses,
        clock: Clock,
        places: Callable[[str], Place | None] = shipped_place,
    ) -> None:
        self._store, self._addresses, self._clock, self._places = store, addresses, clock, places

    async def define(self, owner: str, name: str, words: list[str]) -> StoredFeed:
        """Create or redefine the owner's feed ``name`` from ``key=value`` words."""
        name = validate_name(name)
        feed = await self._resolve(parse_request(words))
        mine = await self._store.of_owner(owner)
        if len(mine) >= MAX_FEEDS and name not in {f.name for f in mine}:
            raise Conflict(f"you have {MAX_FEEDS} feeds already: remove one first")
        return await self._store.save(owner, name, feed, self._clock.now())

    async def _resolve(self, request: FeedRequest) -> PersonalFeed:
        groups = [await self._addresses.resolve_group(g) for g in request.groups]
        place = None
        if request.near is not None:
            place = self._place(request.near)
        return PersonalFeed(frozenset(groups), frozenset(request.themes), place, request.radius_km)

    def _place(self, near: str) -> Place:
        if "," in near:
            lat, _, lon = near.partition(",")
            try:
                return Place(float(lat), float(lon))
            except ValueError:
                raise InvalidInput("near must be a Wikidata id or lat,lon", field="near") from None
        if _QID.fullmatch(near) or near.startswith(("http://", "https://")):
            near = parse_qid(near, field="near")
        found = self._places(near.replace("_", " "))
        if found is None:
            raise InvalidInput(f"{near} is not a place this server knows", field="near")
        return found

    async def feeds_of(self, owner: str) -> list[StoredFeed]:
        return await self._store.of_owner(owner)

    async def get(self, owner: str, name: str) -> StoredFeed:
        for feed in await self._store.of_owner(owner):
            if feed.name == name:
                return feed
        raise NotFound(f"you have no feed {name}")

    async def remove(self, owner: str, name: str) -> StoredFeed:
        feed = await self.get(owner, name)
        await self._store.delete(feed.id)
        return feed

    async def set_room(self, feed: StoredFeed, room_id: str) -> None:
        await self._store.set_room(feed.id, room_id)

    async def matching(self, meta: ItemMeta) -> list[StoredFeed]:
        """The feeds an announcement belongs in (those with a room to show it in)."""
        return [f for f in await self._store.all() if f.room_id and f.feed.matches(meta)]

    async def backlog(self, feed: StoredFeed, limit: int = BACKLOG) -> list[FeedItem]:
        """Recent announcements the feed matches, oldest first."""
        recent = await self._store.recent_items(max(limit * 10, 100))
        return [i for i in recent if feed.feed.matches(i.meta)][-limit:]

    async def shown(self, feed: StoredFeed, object_id: str) -> bool:
        return await self._store.shown(feed.id, object_id)

    async def mark_shown(self, feed: StoredFeed, object_id: str) -> None:
        await self._store.mark_shown(feed.id, object_id, self._clock.now())

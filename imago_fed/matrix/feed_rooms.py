"""Personal feeds in Matrix: one room per feed, where the bot posts what matches.

    !imago feed add <name> groups=... themes=... near=... radius=...
        ──> PersonalFeeds.define ──> a private room "Feed: <name>" (the bot
            creates it and invites the person) ──> the backlog, oldest first
    item_received (sent, accept, released) ──> every feed it matches:
        posted once (the feed's memory of shown objects), in log order
    !imago feed list | remove <name> | help

The commands work in any room of the bot (a group's rooms, the feed rooms,
its direct room). A removed feed's room is told so and left by the bot.
Each post carries a transaction id derived from (feed, object), so a post
retried after a crash, or the same item reaching the backlog and the live
path at once, is deduplicated by the homeserver as well as by the memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imago_fed.domain.events import GroupEvent, ItemReceived, Kind, handles
from imago_fed.domain.graph.personal_feeds import FEED_WORDS, describe
from imago_fed.domain.graph.places import Place
from imago_fed.domain.graph.propagation import ItemMeta
from imago_fed.domain.ports.personal_feeds import StoredFeed
from imago_fed.matrix import outbound
from imago_fed.matrix.client import MatrixError, path
from imago_fed.matrix.ids import transaction_id
from imago_fed.services.personal_feeds import PersonalFeeds

if TYPE_CHECKING:
    from imago_fed.matrix.bridge import MatrixBridge

__all__ = ["FEED_HELP", "FeedRooms"]

FEED_HELP = (
    "Personal feeds: announcements from the groups, themes and places you choose, "
    "oldest first, in a room of their own.\n"
    f"!imago feed add <name> {FEED_WORDS}\n"
    "   e.g. !imago feed add local near=Q90 radius=25 themes=Q11451\n"
    "!imago feed list: your feeds\n"
    "!imago feed remove <name>: stop a feed (its room is closed)"
)
FED_VERDICTS = frozenset({"sent", "accept", "released"})


def _meta(item: ItemReceived) -> ItemMeta:
    place = None
    if item.place_lat is not None and item.place_lon is not None:
        place = Place(item.place_lat, item.place_lon, item.place_label)
    return ItemMeta(item.origin, item.path[1:], frozenset(item.themes), place)


class FeedRooms:
    """The ``!imago feed`` commands and the posting of items into feed rooms."""

    def __init__(self, bridge: MatrixBridge, feeds: PersonalFeeds) -> None:
        self._bridge, self._feeds = bridge, feeds
        self._client = bridge.client

    # ----------------------------------------------------------- commands
    async def command(self, sender: str, args: list[str]) -> str:
        verb = args[0] if args else "help"
        if verb == "add" and len(args) >= 2:
            return await self._add(sender, args[1], args[2:])
        if verb == "list":
            feeds = await self._feeds.feeds_of(sender)
            if not feeds:
                return f"{sender}: you have no feed yet. " + FEED_HELP.splitlines()[1]
            return "\n".join(f"{f.name}: {describe(f.feed)}" for f in feeds)
        if verb == "remove" and len(args) == 2:
            removed = await self._feeds.remove(sender, args[1])
            if removed.room_id:
                await self._close(removed)
            return f"{sender}: feed {removed.name} removed."
        return FEED_HELP

    async def _add(self, sender: str, name: str, words: list[str]) -> str:
        stored = await self._feeds.define(sender, name, words)
        if stored.room_id is None:
            room_id = await self._make_room(stored)
            await self._feeds.set_room(stored, room_id)
            stored = await self._feeds.get(sender, stored.name)
        else:
            await self._client.send_state(
                stored.room_id, "m.room.topic", "", {"topic": describe(stored.feed)}
            )
        posted = 0
        for item in await self._feeds.backlog(stored):
            posted += await self._post(stored, item.object_id, item.meta)
        return (
            f"{sender}: feed {stored.name} takes {describe(stored.feed)}. "
            f'Read it in the room "Feed: {stored.name}" (you are invited); '
            f"{posted} earlier announcement(s) posted there."
        )

    async def _make_room(self, stored: StoredFeed) -> str:
        created = await self._client.request(
            "POST",
            "v3/createRoom",
            {
                "name": f"Feed: {stored.name}",
                "topic": describe(stored.feed),
                "preset": "private_chat",
                "visibility": "private",
                "invite": [stored.owner],
            },
        )
        return str(created["room_id"])

    async def _close(self, stored: StoredFeed) -> None:
        assert stored.room_id is not None
        text = f"The feed {stored.name} was removed: nothing more is posted here."
        try:
            await self._client.send_message(
                stored.room_id, transaction_id("feed-removed", str(stored.id)),
                outbound.notice(text),
            )  # fmt: skip
            await self._client.request("POST", f"v3/rooms/{path(stored.room_id)}/leave", {})
        except MatrixError:
            pass  # the person left or the room is gone: nothing to close

    # ------------------------------------------------------------- items
    async def _post(self, stored: StoredFeed, object_id: str, meta: ItemMeta) -> int:
        """Post an announcement once in a feed's room; 1 if posted now."""
        if stored.room_id is None or await self._feeds.shown(stored, object_id):
            return 0
        txn = transaction_id("feed", str(stored.id), object_id)
        content = outbound.feed_entry_content(object_id, meta.origin, meta.via)
        await self._client.send_message(stored.room_id, txn, content)
        await self._feeds.mark_shown(stored, object_id)
        return 1

    @handles(Kind.ITEM_RECEIVED)
    async def _item_received(self, event: GroupEvent[ItemReceived]) -> None:
        if event.data.verdict not in FED_VERDICTS:
            return
        meta = _meta(event.data)
        for stored in await self._feeds.matching(meta):
            await self._post(stored, event.data.object_id, meta)

"""Personal feeds and the objects shown in each (``ports.personal_feeds``).

``personal_feeds`` is unique on (owner, name): defining a feed again under the
same name replaces what it takes and keeps its room. ``personal_feed_entries``
is the memory of what a feed showed, so an item reaching a feed twice (the
backlog and a live event, a replayed event) is posted once.

The backlog is read from ``propagated_items``: every announcement a group of
this instance originated (``sent``), took at once (``accept``) or let through
(``released``), its first record per object. Held items are not in it: what
moderators have not let through is not published.
"""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from imago_fed.domain.graph.feeds import PersonalFeed
from imago_fed.domain.graph.propagation import Item
from imago_fed.domain.ports.personal_feeds import FeedItem, StoredFeed

__all__ = ["PgPersonalFeedStore"]

_COLUMNS = "id, owner, name, definition, room_id"


def _feed(row: asyncpg.Record) -> StoredFeed:
    return StoredFeed(
        id=row["id"],
        owner=row["owner"],
        name=row["name"],
        feed=PersonalFeed.from_dict(json.loads(row["definition"])),
        room_id=row["room_id"],
    )


class PgPersonalFeedStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def save(self, owner: str, name: str, feed: PersonalFeed, now: datetime) -> StoredFeed:
        row = await self._pool.fetchrow(
            f"""
            INSERT INTO personal_feeds (owner, name, definition, created_at, updated_at)
            VALUES ($1, $2, $3::jsonb, $4, $4)
            ON CONFLICT (owner, name) DO UPDATE SET definition = EXCLUDED.definition,
                                                    updated_at = EXCLUDED.updated_at
            RETURNING {_COLUMNS}
            """,
            owner, name, json.dumps(feed.to_dict()), now,
        )  # fmt: skip
        assert row is not None
        return _feed(row)

    async def of_owner(self, owner: str) -> list[StoredFeed]:
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM personal_feeds WHERE owner = $1 ORDER BY name", owner
        )
        return [_feed(r) for r in rows]

    async def all(self) -> list[StoredFeed]:
        rows = await self._pool.fetch(f"SELECT {_COLUMNS} FROM personal_feeds ORDER BY id")
        return [_feed(r) for r in rows]

    async def delete(self, feed_id: int) -> None:
        await self._pool.execute("DELETE FROM personal_feeds WHERE id = $1", feed_id)

    async def set_room(self, feed_id: int, room_id: str) -> None:
        await self._pool.execute(
            "UPDATE personal_feeds SET room_id = $2 WHERE id = $1", feed_id, room_id
        )

    async def shown(self, feed_id: int, object_id: str) -> bool:
        found = await self._pool.fetchval(
            "SELECT 1 FROM personal_feed_entries WHERE feed_id = $1 AND object_id = $2",
            feed_id, object_id,
        )  # fmt: skip
        return found is not None

    async def mark_shown(self, feed_id: int, object_id: str, now: datetime) -> None:
        await self._pool.execute(
            """
            INSERT INTO personal_feed_entries (feed_id, object_id, shown_at) VALUES ($1, $2, $3)
            ON CONFLICT DO NOTHING
            """,
            feed_id, object_id, now,
        )  # fmt: skip

    async def recent_items(self, limit: int) -> list[FeedItem]:
        rows = await self._pool.fetch(
            """
            SELECT * FROM (
                SELECT DISTINCT ON (object_id) object_id, envelope, received_at, id
                  FROM propagated_items
                 WHERE verdict IN ('sent', 'accept', 'released')
                 ORDER BY object_id, id
            ) AS first_records
            ORDER BY id DESC LIMIT $1
            """,
            limit,
        )
        items = []
        for row in reversed(rows):
            meta = Item.from_dict(json.loads(row["envelope"])).meta
            items.append(FeedItem(row["object_id"], meta, row["received_at"]))
        return items

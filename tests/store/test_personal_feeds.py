"""Personal feeds (store/personal_feeds.py) in PostgreSQL: one feed per owner and name,
each object shown once, and the backlog read from what the groups recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from imago_fed.domain.graph.feeds import PersonalFeed
from imago_fed.domain.graph.places import Place
from imago_fed.domain.graph.propagation import Item
from imago_fed.store.personal_feeds import PgPersonalFeedStore
from imago_fed.store.propagation import PgPropagationStore
from tests.store.helpers import AddGroup

NOW = datetime(2026, 5, 1, tzinfo=UTC)
ANN = "@ann:hs.example"
SEEDS, TOOLS = "https://seeds.example/groups/seeds", "https://tools.example/groups/tools"


async def test_a_feed_is_kept_per_owner_and_name(pool: asyncpg.Pool) -> None:
    store = PgPersonalFeedStore(pool)
    near = PersonalFeed(place=Place(45.76, 4.84, "Lyon"), radius_km=20.0)
    first = await store.save(ANN, "near", near, NOW)
    assert (first.owner, first.name, first.feed, first.room_id) == (ANN, "near", near, None)
    await store.set_room(first.id, "!room")
    themed = PersonalFeed(themes=frozenset({"Q1"}))
    again = await store.save(ANN, "near", themed, NOW + timedelta(hours=1))
    assert (again.id, again.feed, again.room_id) == (first.id, themed, "!room")
    other = await store.save("@bo:hs.example", "near", near, NOW)
    assert [f.id for f in await store.all()] == [first.id, other.id]
    assert [f.name for f in await store.of_owner(ANN)] == ["near"]

    assert not await store.shown(first.id, "https://x/n/1")
    await store.mark_shown(first.id, "https://x/n/1", NOW)
    await store.mark_shown(first.id, "https://x/n/1", NOW)
    assert await store.shown(first.id, "https://x/n/1")
    assert not await store.shown(other.id, "https://x/n/1")
    await store.delete(first.id)  # its memory goes with it
    assert await store.of_owner(ANN) == []
    assert await pool.fetchval("SELECT count(*) FROM personal_feed_entries") == 0


async def test_the_backlog_is_what_groups_published_once_per_object_oldest_first(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, bikes = await add_group("garden"), await add_group("bikes")
    records, store = PgPropagationStore(pool), PgPersonalFeedStore(pool)
    notes = [f"https://seeds.example/notes/{n}" for n in range(4)]
    await records.record(garden, Item(notes[0], SEEDS, (SEEDS,)), "accept", "", NOW)
    await records.record(bikes, Item(notes[0], SEEDS, (SEEDS, TOOLS)), "accept", "", NOW)
    await records.record(garden, Item(notes[1], SEEDS, (SEEDS,)), "hold", "", NOW)  # not shown
    await records.record(garden, Item(notes[2], TOOLS, (TOOLS,)), "released", "", NOW)
    await records.record(bikes, Item(notes[3], SEEDS, (SEEDS,)), "sent", "", NOW)
    items = await store.recent_items(10)
    assert [i.object_id for i in items] == [notes[0], notes[2], notes[3]]
    assert items[0].meta.origin == SEEDS and items[0].meta.via == ()  # its first record
    assert [i.object_id for i in await store.recent_items(2)] == [notes[2], notes[3]]

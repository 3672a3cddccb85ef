"""Personal feeds over the real PostgreSQL: defined by hand, matched, a backlog oldest first."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from imago_fed.app import build_runtime
from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.graph.places import Place
from imago_fed.domain.graph.propagation import ItemMeta
from imago_fed.services.personal_feeds import PersonalFeeds
from imago_fed.store.personal_feeds import PgPersonalFeedStore
from imago_fed.web.runtime import Runtime
from tests.services.test_graph import _announced, _groups, _relate

ANN = "@ann:hs.example"
LYON = Place(45.7677, 4.8354, "Lyon")


@pytest.fixture
async def rt(migrated_db: str, make_settings) -> AsyncIterator[Runtime]:
    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=4)
    try:
        yield build_runtime(make_settings(migrated_db), pool)
    finally:
        await pool.close()


def feeds_of(rt: Runtime) -> PersonalFeeds:
    assert rt.relations is not None
    places = {"Q456": LYON}
    return PersonalFeeds(PgPersonalFeedStore(rt.pool), rt.relations.addresses, rt.clock,
                         places.get)  # fmt: skip


async def test_a_feed_is_defined_by_hand_and_redefined_under_its_name(rt: Runtime) -> None:
    feeds = feeds_of(rt)
    await _groups(rt, "garden")
    first = await feeds.define(
        ANN, "local", ["groups=@garden@groups.test", "near=Q456", "radius=30"]
    )
    assert first.feed.groups == {rt.ids.group("garden")}  # a handle resolved to the actor
    assert first.feed.place == LYON and first.feed.radius_km == 30
    again = await feeds.define(ANN, "local", ["themes=Q11451"])
    assert again.id == first.id and again.feed.groups == frozenset()
    await feeds.set_room(again, "!room")
    assert [(f.name, f.room_id) for f in await feeds.feeds_of(ANN)] == [("local", "!room")]
    assert await feeds.feeds_of("@bo:hs.example") == []

    with pytest.raises(InvalidInput, match="not a place this server knows"):
        await feeds.define(ANN, "far", ["near=Q99999", "radius=5"])
    with pytest.raises(NotFound, match="no group nobody"):
        await feeds.define(ANN, "far", ["groups=@nobody@groups.test"])
    with pytest.raises(InvalidInput, match="lat"):
        await feeds.define(ANN, "far", ["near=95,2", "radius=5"])
    for n in range(9):
        await feeds.define(ANN, f"f{n}", ["themes=Q1"])
    with pytest.raises(Conflict, match="10 feeds already"):
        await feeds.define(ANN, "eleventh", ["themes=Q1"])
    await feeds.define(ANN, "f0", ["themes=Q2"])  # redefining one is fine
    removed = await feeds.remove(ANN, "f0")
    assert removed.name == "f0" and len(await feeds.feeds_of(ANN)) == 9


async def test_matching_feeds_and_the_backlog_oldest_first(rt: Runtime) -> None:
    assert rt.propagation is not None
    feeds = feeds_of(rt)
    await _groups(rt, "news", "hub")
    await _relate(rt, "news", "hub")
    await rt.propagation.set_feed_rules("hub", {"reannounce": "at_once"})
    notes = [f"https://elsewhere.test/notes/{n}" for n in (1, 2, 3)]
    for note in notes:
        await _announced(rt, "news", note)
        await rt.propagation.request("news", note, {}, author="ann")
    news = rt.ids.group("news")
    mine = await feeds.define(ANN, "news", ["groups=@news@groups.test"])
    other = await feeds.define(ANN, "themes", ["themes=Q11451"])
    # each note was recorded twice (sent by news, accepted by hub): the backlog has it once
    backlog = await feeds.backlog(mine)
    assert [i.object_id for i in backlog] == notes
    assert backlog[0].meta.origin == news
    assert await feeds.backlog(other) == []
    assert [i.object_id for i in await feeds.backlog(mine, limit=2)] == notes[1:]

    # only feeds with a room match (the room is where they are read)
    assert await feeds.matching(ItemMeta(news)) == []
    await feeds.set_room(mine, "!feed")
    assert [f.name for f in await feeds.matching(ItemMeta(news))] == ["news"]
    assert await feeds.matching(ItemMeta("https://else.test/groups/x")) == []
    [stored] = await feeds.matching(ItemMeta(news))
    assert not await feeds.shown(stored, notes[0])
    await feeds.mark_shown(stored, notes[0])
    await feeds.mark_shown(stored, notes[0])  # twice is once
    assert await feeds.shown(stored, notes[0])

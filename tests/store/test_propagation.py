"""Propagation records (store/propagation.py) in PostgreSQL: feed rules, each item
once per group whatever path it took, verdicts, and rate buckets."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import asyncpg

from imago_fed.domain.graph.feeds import Bucket, FeedRules, RateState
from imago_fed.domain.graph.places import Place
from imago_fed.domain.graph.propagation import Item
from imago_fed.store import outbox
from imago_fed.store.propagation import PgPropagationStore
from tests.store.helpers import AddGroup

NOW = datetime(2026, 5, 1, tzinfo=UTC)
SEEDS, TOOLS = "https://seeds.example/groups/seeds", "https://tools.example/groups/tools"
NOTE = "https://seeds.example/notes/1"


def _item(*path: str, object_id: str = NOTE) -> Item:
    return Item(object_id, path[0], path, hop_limit=3, themes=frozenset({"Q1"}),
                place=Place(48.85, 2.35, "Paris"))  # fmt: skip


async def test_feed_rules_round_trip_and_are_replaced(pool: asyncpg.Pool, add_group: AddGroup):
    garden, store = await add_group(), PgPropagationStore(pool)
    assert await store.feed_rules(garden) is None
    rules = FeedRules(groups=frozenset({SEEDS}), radius_km=25.0, reannounce="at_once")
    await store.save_feed_rules(garden, rules, NOW)
    assert await store.feed_rules(garden) == rules
    await store.save_feed_rules(garden, FeedRules(enabled=False), NOW)
    assert await store.feed_rules(garden) == FeedRules(enabled=False)


async def test_an_item_is_recorded_once_per_group_whatever_its_path(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, bikes = await add_group("garden"), await add_group("bikes")
    store = PgPropagationStore(pool)
    assert not await store.seen(garden, NOTE)
    copies = await asyncio.gather(  # two relays' copies arrive at once
        store.record(garden, _item(SEEDS), "accept", "", NOW),
        store.record(garden, _item(SEEDS, TOOLS), "accept", "", NOW),
    )
    recorded = [c for c in copies if c is not None]
    assert len(recorded) == 1 and await store.seen(garden, NOTE)
    assert recorded[0].item in (_item(SEEDS), _item(SEEDS, TOOLS))
    assert await store.get(recorded[0].id) == recorded[0]
    assert await store.record(bikes, _item(SEEDS), "hold", "a moderator decides", NOW)


async def test_a_held_item_is_released_and_items_list_newest_first(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, store = await add_group(), PgPropagationStore(pool)
    held = await store.record(garden, _item(SEEDS), "hold", "from afar", NOW)
    assert held is not None
    later = await store.record(garden, _item(TOOLS, object_id="https://tools.example/n/2"),
                               "accept", "", NOW + timedelta(minutes=1))  # fmt: skip
    assert later is not None
    await store.set_verdict(held.id, "released")
    assert [(i.id, i.verdict) for i in await store.items(garden)] == [
        (later.id, "accept"), (held.id, "released"),
    ]  # fmt: skip
    assert len(await store.items(garden, limit=1)) == 1
    assert await store.get(held.id + 100) is None


async def test_announced_reads_the_groups_outbox(pool: asyncpg.Pool, add_group: AddGroup):
    garden, store = await add_group(), PgPropagationStore(pool)
    assert not await store.announced(garden, NOTE)
    announce = {"id": "https://groups.test/groups/garden/a/1", "type": "Announce", "object": NOTE}
    await outbox.add(pool, group_id=garden, activity=announce, object_id=NOTE, public=True,
                     now=NOW)  # fmt: skip
    assert await store.announced(garden, NOTE)


async def test_rate_buckets_are_replaced_as_a_whole(pool: asyncpg.Pool, add_group: AddGroup):
    garden, bikes = await add_group("garden"), await add_group("bikes")
    store = PgPropagationStore(pool)
    assert await store.rate_state(garden) == RateState(MappingProxyType({}))
    first = RateState(MappingProxyType({SEEDS: Bucket(2.0, NOW), TOOLS: Bucket(0.5, NOW)}))
    await store.save_rate_state(garden, first)
    await store.save_rate_state(bikes, first)
    assert dict((await store.rate_state(garden)).buckets) == dict(first.buckets)
    # TOOLS's bucket refilled and was pruned: it goes from the table.
    later = NOW + timedelta(minutes=5)
    await store.save_rate_state(garden, RateState(MappingProxyType({SEEDS: Bucket(1.0, later)})))
    assert dict((await store.rate_state(garden)).buckets) == {SEEDS: Bucket(1.0, later)}
    assert dict((await store.rate_state(bikes)).buckets) == dict(first.buckets)  # untouched
    await store.save_rate_state(garden, RateState(MappingProxyType({})))
    assert dict((await store.rate_state(garden)).buckets) == {}

"""Relations between groups (store/graph_relations.py) in PostgreSQL: one live edge
of a kind, moves along the lifecycle that cannot both win, and the graph node a
group in a relation gets."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from imago_fed.domain.errors import Conflict, NotFound
from imago_fed.domain.graph.relations import Relation
from imago_fed.store.graph_relations import PgRelationStore
from tests.store.helpers import AddGroup

NOW = datetime(2026, 5, 1, tzinfo=UTC)
GARDEN = "https://groups.test/groups/garden"
SEEDS, TOOLS = "https://seeds.example/groups/seeds", "https://tools.example/groups/tools"


async def test_a_relation_round_trips_and_is_found_by_its_offer(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, store = await add_group(), PgRelationStore(pool)
    stored = await store.add(garden, Relation(GARDEN, SEEDS, "partner"), SEEDS, "offer-1", NOW)
    assert (stored.group_id, stored.relation, stored.peer, stored.offer_id, stored.answer_id) == (
        garden, Relation(GARDEN, SEEDS, "partner", "proposed"), SEEDS, "offer-1", None,
    )  # fmt: skip
    assert await store.get(stored.id) == stored
    assert await store.get(stored.id + 1) is None
    assert await store.by_offer("offer-1") == [stored]
    assert await store.by_offer("offer-2") == []


async def test_one_live_edge_of_a_kind_between_two_groups(pool: asyncpg.Pool, add_group):
    garden, store = await add_group(), PgRelationStore(pool)
    first = await store.add(garden, Relation(GARDEN, SEEDS, "partner"), SEEDS, "o1", NOW)
    with pytest.raises(Conflict):
        await store.add(garden, Relation(GARDEN, SEEDS, "partner"), SEEDS, "o2", NOW)
    await store.add(garden, Relation(GARDEN, SEEDS, "same_theme"), SEEDS, "o3", NOW)  # other kind
    await store.move(first.id, "rejected", NOW)
    await store.add(garden, Relation(GARDEN, SEEDS, "partner"), SEEDS, "o4", NOW)  # ended: again


async def test_moves_follow_the_lifecycle_and_only_one_concurrent_answer_wins(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, store = await add_group(), PgRelationStore(pool)
    stored = await store.add(garden, Relation(GARDEN, SEEDS, "partner"), SEEDS, "o1", NOW)
    answers = await asyncio.gather(
        store.move(stored.id, "accepted", NOW + timedelta(hours=1), "answer-1"),
        store.move(stored.id, "accepted", NOW + timedelta(hours=1), "answer-2"),
        return_exceptions=True,
    )
    won = [a for a in answers if not isinstance(a, BaseException)]
    assert len(won) == 1 and [type(a) for a in answers if a not in won] == [Conflict]
    assert won[0].relation.state == "accepted" and won[0].answer_id in ("answer-1", "answer-2")
    assert won[0].updated_at == NOW + timedelta(hours=1)

    with pytest.raises(Conflict):
        await store.move(stored.id, "withdrawn", NOW)  # no longer proposed
    removed = await store.move(stored.id, "removed", NOW)  # keeps the answer's id
    assert removed.answer_id == won[0].answer_id
    with pytest.raises(NotFound):
        await store.move(stored.id + 100, "accepted", NOW)


async def test_lists_by_state_and_the_group_gets_its_graph_node(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, store = await add_group(), PgRelationStore(pool)
    seeds = await store.add(garden, Relation(GARDEN, SEEDS, "partner"), SEEDS, "o1", NOW)
    await store.add(garden, Relation(GARDEN, TOOLS, "partner"), TOOLS, "o2", NOW)
    await store.add(garden, Relation(GARDEN, SEEDS, "same_theme"), SEEDS, "o3", NOW)
    accepted = await store.move(seeds.id, "accepted", NOW)
    assert [r.offer_id for r in await store.list(garden)] == ["o3", "o2", "o1"]
    assert await store.list(garden, frozenset({"accepted"})) == [accepted]
    assert len(await store.list(garden, frozenset({"accepted", "proposed"}))) == 3

    # The group now has a graph node, so walks over relations can step onto it.
    node = await pool.fetchrow("SELECT actor, group_id FROM graph_nodes")
    assert (node["actor"], node["group_id"]) == (GARDEN, garden)


async def test_accepted_relations_of_every_group_optionally_with_one_peer(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, store = await add_group(), PgRelationStore(pool)
    seeds = await store.add(garden, Relation(GARDEN, SEEDS, "partner"), SEEDS, "o1", NOW)
    tools = await store.add(garden, Relation(TOOLS, GARDEN, "subgroup"), TOOLS, "o2", NOW)
    await store.add(garden, Relation(GARDEN, SEEDS, "same_theme"), SEEDS, "o3", NOW)  # proposed
    assert await store.accepted() == []
    seeds = await store.move(seeds.id, "accepted", NOW)
    tools = await store.move(tools.id, "accepted", NOW)
    assert await store.accepted() == [seeds, tools]  # oldest first
    assert await store.accepted(SEEDS) == [seeds]
    assert await store.accepted("https://nowhere.example/groups/x") == []
    await store.move(seeds.id, "removed", NOW)
    assert await store.accepted(SEEDS) == []

"""Governance in PostgreSQL (store/governance.py): control tables, proposals moved
along their graph once, votes and their log, delegations, members, linked identities,
sub-groups."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import asyncpg
import pytest

from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.delegation import Delegation
from imago_fed.domain.governance.proposals import transition
from imago_fed.domain.governance.protocols import Consensus, Doocracy, Oligarchy
from imago_fed.domain.governance.table import default_table
from imago_fed.domain.lifecycle import IllegalTransition
from imago_fed.store import follows, matrix
from imago_fed.store.governance import PgGovernanceStore
from tests.store.helpers import NOW, AddGroup, draft

AL, BO = "https://a.example/users/al", "https://b.example/users/bo"


async def test_a_control_table_round_trips_and_is_replaced(pool: asyncpg.Pool, add_group: AddGroup):
    garden, store = await add_group(), PgGovernanceStore(pool)
    assert await store.table(garden) is None
    table = default_table()
    await store.save_table(garden, table, NOW)
    assert await store.table(garden) == table
    amended = table.amended({ActionKind.MODERATE: Oligarchy(("@a:x", "@b:x"), 1)})
    await store.save_table(garden, amended, NOW + timedelta(hours=1))
    assert await store.table(garden) == amended


async def test_a_proposal_keeps_every_field(pool: asyncpg.Pool, add_group: AddGroup) -> None:
    garden, store = await add_group(), PgGovernanceStore(pool)
    act = Doocracy(timedelta(days=2), Consensus(timedelta(days=1)))
    proposal = draft(garden, params={"block_domain": "spam.example"}, topics=("spam", "safety"),
                     protocol=act)  # fmt: skip
    stored = await store.add(proposal)
    assert stored.id is not None
    assert stored == replace(proposal, id=stored.id)
    assert await store.get(stored.id) == stored
    assert await store.get(stored.id + 1) is None


async def test_a_proposal_moves_once_along_its_graph_with_a_log(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, store = await add_group(), PgGovernanceStore(pool)
    stored = await store.add(draft(garden))
    opened, step = transition(stored, "open", by="admin", at=NOW, opened_at=NOW,
                              closes_at=NOW + timedelta(days=3))  # fmt: skip
    await store.save(opened, step)
    assert [p.id for p in await store.open_proposals()] == [stored.id]
    with pytest.raises(IllegalTransition):  # read as draft, but it is open now
        await store.save(opened, step)

    # Two processes close it at once: one wins, the other is told.
    closed, close = transition(opened, "adopted", by="ticker", at=NOW, result={"for": 3})
    outcomes = await asyncio.gather(store.save(closed, close), store.save(closed, close),
                                    return_exceptions=True)  # fmt: skip
    assert sorted(type(o).__name__ for o in outcomes) == ["IllegalTransition", "NoneType"]
    assert (await store.get(stored.id or 0)) == closed
    assert [(t["from_state"], t["to_state"], t["by"]) for t in await store.transitions(
        stored.id or 0)] == [("draft", "open", "admin"), ("open", "adopted", "ticker")]  # fmt: skip
    assert await store.open_proposals() == []
    assert [p.state for p in await store.list(garden)] == ["adopted"]
    assert await store.list(garden, "open") == []


async def test_the_last_counted_vote_stands_and_every_vote_is_logged(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, store = await add_group(), PgGovernanceStore(pool)
    pid = (await store.add(draft(garden))).id or 0
    await store.record_vote(pid, AL, (0,), "activitypub", counted=True, reason="", at=NOW)
    await store.record_vote(pid, AL, (1,), "matrix", counted=True, reason="", at=NOW)
    await store.record_vote(pid, BO, (0,), "matrix", counted=False, reason="not a member",
                            at=NOW)  # fmt: skip
    assert await store.ballots(pid) == {AL: (1,)}
    log = await store.vote_log(pid)
    assert [(v["voter"], v["ballot"], v["network"], v["counted"], v["reason"]) for v in log] == [
        (AL, [0], "activitypub", True, ""),
        (AL, [1], "matrix", True, ""),
        (BO, [0], "matrix", False, "not a member"),
    ]


async def test_delegations_per_scope(pool: asyncpg.Pool, add_group: AddGroup) -> None:
    garden, store = await add_group(), PgGovernanceStore(pool)
    await store.set_delegation(garden, Delegation(AL, BO, "*"), NOW)
    await store.set_delegation(garden, Delegation(AL, "https://c.example/u/cy", "spam"), NOW)
    await store.set_delegation(garden, Delegation(AL, "https://d.example/u/di", "*"), NOW)
    assert await store.delegations(garden) == [
        Delegation(AL, "https://d.example/u/di", "*"),
        Delegation(AL, "https://c.example/u/cy", "spam"),
    ]
    assert await store.revoke_delegation(garden, AL, "spam")
    assert not await store.revoke_delegation(garden, AL, "spam")


async def test_members_are_followers_and_matrix_members_a_linked_pair_once(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, store = await add_group(), PgGovernanceStore(pool)
    await follows.add_follower(pool, garden, AL, "f1", "accepted", NOW)
    await follows.add_follower(pool, garden, BO, "f2", "pending", NOW)
    await matrix.set_member(pool, garden, "@al:example.org", True, NOW + timedelta(days=1))
    await matrix.set_member(pool, garden, "@kim:example.org", True, NOW + timedelta(days=1),
                            state="knocked")  # fmt: skip
    await matrix.set_member(pool, garden, "@hazel:example.org", True, NOW + timedelta(days=2))
    assert await store.members(garden) == sorted([AL, "@al:example.org", "@hazel:example.org"])
    assert await store.members(garden, as_of=NOW + timedelta(days=1)) == sorted(
        [AL, "@al:example.org"]
    )

    # One side's claim links nothing; both sides' do, and the pair votes once.
    assert not await store.claim("matrix", "@al:example.org", AL, NOW)
    assert await store.canonical("@al:example.org") == "@al:example.org"
    assert await store.claim("fediverse", "@al:example.org", AL, NOW)
    assert await store.canonical("@al:example.org") == AL
    assert await store.members(garden) == sorted([AL, "@hazel:example.org"])
    await store.link("@hazel:example.org", BO, NOW)
    assert await store.canonical("@hazel:example.org") == BO


async def test_subgroups_are_linked_once_and_deleted_ones_drop_out(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, seeds, tools = (
        await add_group("garden"),
        await add_group("seeds"),
        await add_group("tools"),
    )
    store = PgGovernanceStore(pool)
    assert await store.link_subgroup(garden, seeds, NOW)
    assert not await store.link_subgroup(garden, seeds, NOW)
    assert await store.link_subgroup(garden, tools, NOW)
    assert await store.subgroups(garden) == {"seeds": seeds, "tools": tools}
    assert await store.subgroups(seeds) == {}
    await pool.execute("UPDATE groups SET deleted_at = now() WHERE id = $1", tools)
    assert await store.subgroups(garden) == {"seeds": seeds}

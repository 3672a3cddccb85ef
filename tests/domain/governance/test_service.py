"""Governance use cases over in-memory ports: propose, vote, decide, execute, undo.

No PostgreSQL: the store, the event log, the blocks and the clock are the
fakes of ``tests/fakes/governance.py``; the executor is the real one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from imago_fed.domain.errors import InvalidInput, NotFound
from imago_fed.domain.events import Kind
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.counting import count_choices
from imago_fed.domain.governance.delegation import Delegation
from imago_fed.domain.governance.proposals import Proposal, transition
from imago_fed.domain.governance.service import Governance
from imago_fed.domain.governance.table import default_table, parse_changes
from imago_fed.domain.groups import Group, KeyPair
from imago_fed.domain.ports.governance import ActionExecutor, GovernanceStore
from imago_fed.services.execution import Executor
from tests.fakes.governance import (
    T0,
    FakeClock,
    MemoryBlocks,
    MemoryEventLog,
    MemoryGovernanceStore,
    RecordingFollower,
)

GROUP_ID = 1
MEMBERS = ["https://a.example/u/ann", "https://b.example/u/bob", "https://c.example/u/cat"]


@dataclass
class OneGroup:
    """The little of GroupRepository the executor reads: one group by id."""

    group: Group

    async def get_by_id(self, group_id: int) -> Group | None:
        return self.group if group_id == self.group.id else None


@dataclass
class World:
    store: MemoryGovernanceStore = field(default_factory=MemoryGovernanceStore)
    events: MemoryEventLog = field(default_factory=MemoryEventLog)
    blocks: MemoryBlocks = field(default_factory=MemoryBlocks)
    follower: RecordingFollower = field(default_factory=RecordingFollower)
    clock: FakeClock = field(default_factory=FakeClock)

    def governance(self) -> Governance:
        garden = Group("garden", "Garden", "", T0, KeyPair("pub", b"sealed"), id=GROUP_ID)
        groups: Any = OneGroup(garden)  # the executor reads only get_by_id
        executor: ActionExecutor = Executor(
            self.store, self.blocks, self.clock, self.follower, groups
        )
        store: GovernanceStore = self.store
        return Governance(store, self.events, executor, self.clock, count_choices)


@pytest.fixture
def world() -> World:
    w = World()
    for member in MEMBERS:
        w.store.join(GROUP_ID, member)
    return w


async def test_a_vote_is_counted_decided_at_its_end_and_executed(world: World) -> None:
    governance = world.governance()
    proposal = await governance.propose(
        GROUP_ID, action=ActionKind.MODERATE, title="Block spam.example",
        author=MEMBERS[0], params={"block_domain": " Spam.Example "},
    )  # fmt: skip
    assert proposal.state == "open" and proposal.id is not None
    assert await governance.vote(proposal.id, MEMBERS[0], [0], network="test") == "counted"
    assert await governance.vote(proposal.id, MEMBERS[1], [0], network="test") == "counted"
    refused = await governance.vote(proposal.id, "https://x.example/u/eve", [0], network="test")
    assert refused == "not a member of the group"

    assert await governance.tick() == 0  # still open: the vote runs its full time
    world.clock.advance(timedelta(days=4))
    assert await governance.tick() == 1

    done = await governance.get(proposal.id)
    assert done.state == "executed"
    assert done.result["executed"] == "blocked domain spam.example"
    assert (GROUP_ID, "domain", "spam.example") in world.blocks.blocks
    assert world.events.kinds() == [
        Kind.PROPOSAL_OPENED, Kind.PROPOSAL_COUNTS, Kind.PROPOSAL_COUNTS, Kind.PROPOSAL_CLOSED,
    ]  # fmt: skip
    states = [t["to_state"] for t in await governance.transitions(proposal.id)]
    assert states == ["open", "closed", "adopted", "executed"]
    assert [v["counted"] for v in await governance.vote_log(proposal.id)] == [True, True, False]


async def test_the_ticker_leaves_a_fresh_doocracy_act_to_its_proposer(world: World) -> None:
    """Between opening a do-ocracy act and concluding it, the proposer's row is
    open: a ticker in another task must not conclude it as well (one of the two
    would fail on the moved row). It recovers one left open by a proposer that
    stopped midway."""
    table = default_table().amended(parse_changes({"moderate": {"protocol": "doocracy"}}))
    await world.store.save_table(GROUP_ID, table, T0)
    governance = world.governance()
    draft = Proposal(
        group_id=GROUP_ID, action=ActionKind.MODERATE, title="Block troll",
        protocol=table.protocol(ActionKind.MODERATE),
        options=("yes",), author=MEMBERS[0], created_at=T0,
        params={"block_actor": "https://t.example/u/troll"},
    )  # fmt: skip
    stored = await world.store.add(draft)
    opened, record = transition(stored, "open", by=MEMBERS[0], at=T0, opened_at=T0,
                                closes_at=T0 + timedelta(days=2))  # fmt: skip
    await world.store.save(opened, record)
    assert opened.id is not None
    assert await governance.tick() == 0  # the proposer is concluding it
    assert (await governance.get(opened.id)).state == "open"
    world.clock.advance(timedelta(minutes=2))
    assert await governance.tick() == 1  # the proposer stopped: recovered
    assert (await governance.get(opened.id)).state == "executed"
    assert world.blocks.blocks


async def test_a_challenged_doocracy_act_not_upheld_is_undone(world: World) -> None:
    table = default_table().amended(
        parse_changes({"moderate": {"protocol": "doocracy", "window_s": 3600}})
    )
    await world.store.save_table(GROUP_ID, table, T0)
    governance = world.governance()
    act = await governance.propose(
        GROUP_ID, action=ActionKind.MODERATE, title="Block troll",
        author=MEMBERS[0], params={"block_actor": "https://t.example/u/troll"},
    )  # fmt: skip
    assert act.state == "executed" and act.id is not None
    assert world.blocks.blocks

    answer = await governance.vote(act.id, MEMBERS[1], [0], network="test")
    assert answer == "challenge recorded: the act goes to a vote"
    [challenge] = await governance.open_proposals(GROUP_ID)
    assert challenge.params["challenges"] == act.id
    assert challenge.id is not None
    for member in MEMBERS:
        await governance.vote(challenge.id, member, [1], network="test")  # no
    world.clock.advance(timedelta(days=30))
    await governance.tick()

    decided = await governance.get(challenge.id)
    assert decided.state == "rejected"
    assert decided.result["undone"] == "unblocked actor https://t.example/u/troll"
    assert world.blocks.blocks == {}


async def test_an_adopted_table_amendment_changes_the_table(world: World) -> None:
    governance = world.governance()
    changes = {"spend": {"protocol": "democracy", "method": "approval", "duration_s": 60}}
    proposal = await governance.propose(
        GROUP_ID, action=ActionKind.AMEND_TABLE, title="Approval for spending",
        author=MEMBERS[0], params={"changes": changes},
    )  # fmt: skip
    assert proposal.id is not None
    for member in MEMBERS:
        await governance.vote(proposal.id, member, [0], network="test")
    world.clock.advance(timedelta(days=8))
    await governance.tick()
    spend = (await governance.table(GROUP_ID)).protocol(ActionKind.SPEND)
    assert getattr(spend, "method", None) == "approval"


async def test_two_claims_link_two_accounts_that_then_vote_once(world: World) -> None:
    governance = world.governance()
    matrix_user, actor = "@ann:matrix.example", MEMBERS[0]
    world.store.join(GROUP_ID, matrix_user)
    assert len(await governance.members(GROUP_ID)) == 4
    first = await governance.claim_identity("matrix", matrix_user, actor)
    assert first.startswith("claim recorded")
    second = await governance.claim_identity("fediverse", matrix_user, actor)
    assert "now linked" in second
    assert await governance.members(GROUP_ID) == sorted(MEMBERS)

    proposal = await governance.propose(
        GROUP_ID, action=ActionKind.MODERATE, title="t", author=actor
    )
    assert proposal.id is not None
    await governance.vote(proposal.id, matrix_user, [0], network="matrix")
    await governance.vote(proposal.id, actor, [1], network="activitypub")
    assert await world.store.ballots(proposal.id) == {actor: (1,)}


async def test_delegations_and_sub_groups_are_checked(world: World) -> None:
    governance = world.governance()
    with pytest.raises(InvalidInput, match="own sub-group"):
        await governance.link_subgroup(GROUP_ID, GROUP_ID)
    assert await governance.link_subgroup(GROUP_ID, 2) is True
    assert await governance.subgroups(GROUP_ID) == {"group2": 2}
    await governance.delegate(GROUP_ID, Delegation(MEMBERS[0], MEMBERS[1]))
    with pytest.raises(InvalidInput):  # a cycle
        await governance.delegate(GROUP_ID, Delegation(MEMBERS[1], MEMBERS[0]))
    assert await governance.delegations(GROUP_ID) == [Delegation(MEMBERS[0], MEMBERS[1])]
    await governance.revoke(GROUP_ID, MEMBERS[0])
    with pytest.raises(NotFound):
        await governance.revoke(GROUP_ID, MEMBERS[0])

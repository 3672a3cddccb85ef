"""Membership and the decisions' effects over in-memory ports.

The executor, governance, membership service and effects are the real ones;
the stores and the two networks are the fakes of ``tests/fakes/``. What is
checked here: every registered effect of a kind runs, each leaves a record,
bad input fails at once (before a proposal opens, or as ``failed``), a network
failure is retried with backoff until it succeeds or gives up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.counting import count_choices
from imago_fed.domain.governance.delegation import Delegation
from imago_fed.domain.governance.service import Governance
from imago_fed.domain.governance.table import default_table, parse_changes
from imago_fed.domain.groups import Group, KeyPair
from imago_fed.domain.membership import EFFECT_MAX_ATTEMPTS, Right
from imago_fed.services.execution import Executor
from imago_fed.services.member_effects import register_member_effects
from imago_fed.services.membership import Membership
from tests.fakes.governance import (
    T0,
    FakeClock,
    MemoryBlocks,
    MemoryEventLog,
    MemoryGovernanceStore,
)
from tests.fakes.membership import MemoryEffectLedger, MemoryMembershipStore, RecordingNetwork

GID = 1
ANN = "https://a.example/users/ann"
BOB = "@bob:matrix.example"
EVE = "https://e.example/users/eve"
GARDEN = Group("garden", "Garden", "", T0, KeyPair("pub", b"sealed"), id=GID)
PARENT = Group("city", "City", "", T0, KeyPair("pub", b"sealed"), id=2)


@dataclass
class Groups:
    groups: tuple[Group, ...] = (GARDEN, PARENT)

    async def get_by_id(self, group_id: int) -> Group | None:
        return next((g for g in self.groups if g.id == group_id), None)

    async def get(self, slug: str) -> Group | None:
        return next((g for g in self.groups if g.slug == slug), None)


@dataclass
class World:
    clock: FakeClock = field(default_factory=FakeClock)
    gov_store: MemoryGovernanceStore = field(default_factory=MemoryGovernanceStore)
    store: MemoryMembershipStore = field(default_factory=MemoryMembershipStore)
    ledger: MemoryEffectLedger = field(default_factory=MemoryEffectLedger)
    events: MemoryEventLog = field(default_factory=MemoryEventLog)

    def __post_init__(self) -> None:
        self.matrix = RecordingNetwork("matrix", self.store, self.clock)
        self.fediverse = RecordingNetwork("fediverse", self.store, self.clock)
        groups: Any = Groups()
        self.executor = Executor(
            self.gov_store, MemoryBlocks(), self.clock, groups=groups, ledger=self.ledger
        )
        self.governance = Governance(
            self.gov_store, self.events, self.executor, self.clock, count_choices
        )
        codes = iter(f"code{n:04d}" for n in range(100))
        self.membership = Membership(
            self.store, [self.matrix, self.fediverse], groups, self.governance, self.events,
            self.clock, invite_url=lambda code: f"https://imago.example/invite/{code}",
            new_code=lambda: next(codes),
        )  # fmt: skip
        register_member_effects(
            self.executor, self.membership, groups, self.governance,
            lambda g: f"https://imago.example/groups/{g.slug}",
        )  # fmt: skip

    def join(self, member: str, group_id: int = GID) -> None:
        self.store.join(group_id, member, self.clock.now())
        self.gov_store.join(group_id, member)

    async def decide_now(self, kind: ActionKind) -> None:
        """Make ``kind`` a do-ocracy act in the garden: adopted and executed at once."""
        table = default_table().amended(
            parse_changes({kind.value: {"protocol": "doocracy", "window_s": 3600}})
        )
        await self.gov_store.save_table(GID, table, T0)


@pytest.fixture
def world() -> World:
    w = World()
    w.join(ANN)
    return w


async def test_every_kind_with_an_effect_acts_and_records_it(world: World) -> None:
    for kind in (ActionKind.ADMIT, ActionKind.REMOVE_MEMBER, ActionKind.PUBLISH):
        await world.decide_now(kind)
        table = await world.gov_store.table(GID)
        assert table is not None
        for other in (ActionKind.ADMIT, ActionKind.REMOVE_MEMBER, ActionKind.PUBLISH):
            table = table.amended(
                parse_changes({other.value: {"protocol": "doocracy", "window_s": 3600}})
            )
        await world.gov_store.save_table(GID, table, T0)
    admitted = await world.governance.propose(
        GID, action=ActionKind.ADMIT, title="Admit Bob", author=ANN, params={"member": BOB}
    )
    assert admitted.state == "executed"
    assert admitted.result["executed"] == f"admitted {BOB} (matrix): {BOB} in"
    assert ("admit", BOB, f"decision {admitted.id}: Admit Bob") in world.matrix.calls
    assert [e["state"] for e in await world.ledger.of_proposal(admitted.id or 0)] == ["done"]

    said = await world.governance.propose(
        GID, action=ActionKind.PUBLISH, title="Spring fair", author=ANN,
        params={"text": "The fair is on Sunday."},
    )  # fmt: skip
    assert said.result["executed"] == "published: said on matrix; said on fediverse"
    for network in (world.matrix, world.fediverse):
        assert ("publish", f"proposal|{said.id}", "The fair is on Sunday.") in network.calls

    removed = await world.governance.propose(
        GID, action=ActionKind.REMOVE_MEMBER, title="Bob leaves", author=ANN,
        params={"member": BOB},
    )  # fmt: skip
    assert removed.result["executed"].startswith(f"removed {BOB} (matrix)")
    assert not await world.store.is_member(GID, BOB)


async def test_bad_input_is_refused_before_the_proposal_opens(world: World) -> None:
    with pytest.raises(InvalidInput, match="not a member"):
        await world.governance.propose(
            GID, action=ActionKind.REMOVE_MEMBER, title="Out", author=ANN,
            params={"member": EVE},
        )  # fmt: skip
    with pytest.raises(InvalidInput, match=r"params\.member"):
        await world.governance.propose(GID, action=ActionKind.ADMIT, title="Who?", author=ANN)
    with pytest.raises(Conflict, match="already a member"):
        await world.governance.propose(
            GID, action=ActionKind.ADMIT, title="Ann", author=ANN, params={"member": ANN}
        )
    with pytest.raises(NotFound):
        await world.governance.propose(
            GID, action=ActionKind.DELEGATE, title="To the city", author=ANN,
            params={"parent": "nowhere", "to": ANN},
        )  # fmt: skip
    assert await world.gov_store.list(GID) == []


async def test_a_failing_network_is_retried_with_backoff_until_done(world: World) -> None:
    await world.decide_now(ActionKind.ADMIT)
    world.matrix.fail_next = 2
    proposal = await world.governance.propose(
        GID, action=ActionKind.ADMIT, title="Admit Bob", author=ANN, params={"member": BOB}
    )
    assert proposal.state == "executed"  # decided; its effect waits, and says so
    assert "admit will be retried: OSError: network unreachable" in proposal.result["executed"]
    [effect] = await world.ledger.of_proposal(proposal.id or 0)
    assert effect["state"] == "retry"
    assert await world.executor.retry_due() == 0  # not due yet: the backoff holds it
    assert await world.executor.next_retry_in() == 10.0

    world.clock.advance(timedelta(seconds=10))
    assert await world.executor.retry_due() == 1  # fails again: waits twice as long
    [effect] = await world.ledger.of_proposal(proposal.id or 0)
    assert (effect["state"], effect["attempts"]) == ("retry", 2)
    assert await world.executor.next_retry_in() == 20.0
    world.clock.advance(timedelta(seconds=20))
    assert await world.executor.retry_due() == 1
    [effect] = await world.ledger.of_proposal(proposal.id or 0)
    assert (effect["state"], effect["attempts"]) == ("done", 3)
    assert await world.store.is_member(GID, BOB)


async def test_an_effect_that_keeps_failing_gives_up_and_says_why(world: World) -> None:
    await world.decide_now(ActionKind.ADMIT)
    world.matrix.fail_next = 100
    proposal = await world.governance.propose(
        GID, action=ActionKind.ADMIT, title="Admit Bob", author=ANN, params={"member": BOB}
    )
    for _ in range(EFFECT_MAX_ATTEMPTS):
        world.clock.advance(timedelta(hours=2))
        await world.executor.retry_due()
    [effect] = await world.ledger.of_proposal(proposal.id or 0)
    assert effect["state"] == "failed"
    assert effect["outcome"] == (
        f"admit gave up after {EFFECT_MAX_ATTEMPTS} attempts: OSError: network unreachable"
    )
    assert await world.executor.next_retry_in() is None


async def test_every_registered_effect_of_a_kind_runs(world: World) -> None:
    """A feature registers its own effect for a kind (resources: spend); the
    executor runs it beside the others and records both."""

    class Spend:
        async def carry_out(self, proposal: Any) -> str | None:
            return f"paid {proposal.params['amount']}"

    class Receipt:
        async def carry_out(self, proposal: Any) -> str | None:
            raise NotFound("no such budget")

    world.executor.register(ActionKind.SPEND, Spend(), "spend")
    world.executor.register(ActionKind.SPEND, Receipt(), "receipt")
    with pytest.raises(ValueError, match="already registered"):
        world.executor.register(ActionKind.SPEND, Spend(), "spend")
    await world.decide_now(ActionKind.SPEND)
    proposal = await world.governance.propose(
        GID, action=ActionKind.SPEND, title="Seeds", author=ANN, params={"amount": 12}
    )
    assert proposal.result["executed"] == "paid 12; receipt failed: no such budget"
    states = {e["name"]: e["state"] for e in await world.ledger.of_proposal(proposal.id or 0)}
    assert states == {"spend": "done", "receipt": "failed"}


async def test_a_kind_nothing_acts_on_says_what_it_awaits(world: World) -> None:
    await world.decide_now(ActionKind.PUBLISH_OFFER)
    proposal = await world.governance.propose(
        GID, action=ActionKind.PUBLISH_OFFER, title="Lend the van", author=ANN
    )
    assert proposal.result["executed"].startswith("awaits the resources feature")


async def test_moderation_takes_content_down_on_every_network_that_has_it(world: World) -> None:
    await world.decide_now(ActionKind.MODERATE)
    world.matrix.content.add("https://e.example/notes/1")
    world.fediverse.content.add("https://e.example/notes/1")
    proposal = await world.governance.propose(
        GID, action=ActionKind.MODERATE, title="Spam", author=ANN,
        params={"remove": "https://e.example/notes/1", "block_actor": EVE},
    )  # fmt: skip
    assert proposal.result["executed"] == (
        f"blocked actor {EVE}; content removed: https://e.example/notes/1 gone from matrix; "
        "https://e.example/notes/1 gone from fediverse"
    )
    missing = await world.governance.propose(
        GID, action=ActionKind.MODERATE, title="Gone", author=ANN,
        params={"remove": "https://e.example/notes/404"},
    )  # fmt: skip
    assert (
        "remove_content failed: https://e.example/notes/404 is no post"
        in (missing.result["executed"])
    )


async def test_delegate_puts_the_groups_vote_in_the_parent_group(world: World) -> None:
    garden_actor = "https://imago.example/groups/garden"
    world.join(garden_actor, group_id=PARENT.id or 0)  # the garden follows the city
    world.join(ANN, group_id=PARENT.id or 0)
    await world.decide_now(ActionKind.DELEGATE)
    proposal = await world.governance.propose(
        GID, action=ActionKind.DELEGATE, title="Ann speaks for us in the city", author=ANN,
        params={"parent": "city", "to": ANN, "scope": "spend"},
    )  # fmt: skip
    assert proposal.result["executed"] == f"the group's vote in city (spend) now follows {ANN}"
    [delegation] = await world.governance.delegations(PARENT.id or 0)
    assert (delegation.delegator, delegation.delegate, delegation.scope) == (
        garden_actor, ANN, "spend",
    )  # fmt: skip


async def test_invitations_expire_run_out_and_are_revoked(world: World) -> None:
    table = default_table().amended(parse_changes({"invitations": "admit"}))
    await world.gov_store.save_table(GID, table, T0)
    invitation = await world.membership.create_invitation(
        GARDEN, created_by=ANN, max_uses=1, expires_in=timedelta(days=1)
    )
    shown = world.membership.invitation_json(invitation)
    assert shown["url"] == "https://imago.example/invite/code0000"
    assert (shown["max_uses"], shown["uses"]) == (1, 0)
    assert await world.membership.redeem("code0000", BOB) == f"Welcome to Garden: {BOB} in."
    assert await world.store.is_member(GID, BOB)
    with pytest.raises(InvalidInput, match="used up"):
        await world.membership.redeem("code0000", "@cid:matrix.example")
    with pytest.raises(NotFound, match="unknown invitation"):
        await world.membership.redeem("nope", "@cid:matrix.example")

    later = await world.membership.create_invitation(
        GARDEN, created_by=ANN, max_uses=5, expires_in=timedelta(days=1)
    )
    world.clock.advance(timedelta(days=2))
    with pytest.raises(InvalidInput, match="expired"):
        await world.membership.redeem(later.code, "@cid:matrix.example")
    revoked = await world.membership.create_invitation(GARDEN, created_by=ANN)
    await world.membership.revoke(GARDEN, revoked.code)
    with pytest.raises(InvalidInput, match="revoked"):
        await world.membership.redeem(revoked.code, "@cid:matrix.example")
    with pytest.raises(NotFound):
        await world.membership.revoke(GARDEN, revoked.code)
    with pytest.raises(InvalidInput, match="max_uses"):
        await world.membership.create_invitation(GARDEN, created_by=ANN, max_uses=0)


async def test_an_invitation_opens_an_admit_proposal_unless_the_table_admits(
    world: World,
) -> None:
    """Default table: ``invitations: vote`` and admit is a do-ocracy act, so the
    invitation opens a proposal that is adopted and carried out at once."""
    invitation = await world.membership.create_invitation(GARDEN, created_by=ANN, max_uses=2)
    answer = await world.membership.redeem(invitation.code, BOB)
    assert answer == f"Welcome to Garden: admitted {BOB} (matrix): {BOB} in."
    [proposal] = await world.gov_store.list(GID)
    assert (proposal.action, proposal.params["invitation"]) == (ActionKind.ADMIT, "code0000")
    # with a vote for admit, the newcomer waits for the members
    table = default_table().amended(
        parse_changes({"admit": {"protocol": "democracy", "duration_s": 3600}})
    )
    await world.gov_store.save_table(GID, table, T0)
    answer = await world.membership.redeem(invitation.code, EVE)
    assert "the members decide" in answer and not await world.store.is_member(GID, EVE)


async def test_founder_is_moderator_and_member_and_rights_follow_the_table(
    world: World,
) -> None:
    result = await world.membership.found(GARDEN, BOB)
    assert result["role"] == "moderator" and result["admitted"] == f"{BOB} in"
    roster = {m["id"]: m["role"] for m in await world.membership.roster(GARDEN)}
    assert roster == {ANN: "member", BOB: "moderator"}
    assert await world.membership.may(GID, ANN, Right.POST) is None
    assert await world.membership.may(GID, EVE, Right.POST) == (
        "only members of the group may post into it"
    )
    assert await world.membership.may(GID, ANN, Right.ANNOUNCE) == (
        "only moderators of the group may post announcements"
    )
    assert await world.membership.may(GID, BOB, Right.ANNOUNCE) is None

    await world.decide_now(ActionKind.AMEND_TABLE)
    proposal = await world.governance.propose(
        GID, action=ActionKind.AMEND_TABLE, title="Only moderators post", author=BOB,
        params={"changes": {"permissions": {"post": "moderators"}}},
    )  # fmt: skip
    assert proposal.result["executed"].startswith("control table amended: permissions.post")
    assert "rights enforced: matrix enforces" in proposal.result["executed"]
    assert await world.membership.may(GID, ANN, Right.POST) == (
        "only moderators of the group may post into it"
    )
    with pytest.raises(InvalidInput, match="unknown right"):
        await world.governance.propose(
            GID, action=ActionKind.AMEND_TABLE, title="Bad", author=BOB,
            params={"changes": {"permissions": {"shout": "anyone"}}},
        )  # fmt: skip


async def test_a_secret_ballot_takes_the_elect_right_as_well(world: World) -> None:
    table = default_table().amended(
        parse_changes({
            "spend": {"protocol": "democracy", "secret": True, "duration_s": 3600},
            "permissions": {"elect": "moderators"},
        })
    )  # fmt: skip
    await world.gov_store.save_table(GID, table, T0)
    assert await world.membership.may_propose(GID, ANN, ActionKind.PUBLISH) is None
    assert await world.membership.may_propose(GID, ANN, ActionKind.SPEND) == (
        "only moderators of the group may open a secret ballot"
    )
    assert await world.membership.may_propose(GID, EVE, ActionKind.PUBLISH) == (
        "only members of the group may open proposals"
    )
    await world.membership.set_role(GARDEN, ANN, "moderator")
    assert await world.membership.may_propose(GID, ANN, ActionKind.SPEND) is None


async def test_a_founder_the_network_cannot_reach_now_is_left_to_its_reader(
    world: World,
) -> None:
    world.matrix.fail_next = 1
    result = await world.membership.found(GARDEN, BOB)
    assert result["admitted"] == "queued, to be retried (OSError: network unreachable)"
    assert await world.store.is_moderator(GID, BOB)
    [invited] = [e for e in world.events.events if e.kind == "member_invited"]
    assert (invited.data.member_id, invited.data.reason) == (BOB, "founder of the group")


async def test_removing_a_member_revokes_the_delegations_they_gave_and_got(
    world: World,
) -> None:
    world.join(BOB)
    world.join(EVE)
    world.join(CY := "https://c.example/users/cy")
    await world.governance.delegate(GID, Delegation(BOB, ANN, "*"))  # Bob's vote to Ann
    await world.governance.delegate(GID, Delegation(EVE, BOB, "*"))  # Eve's vote to Bob
    await world.governance.delegate(GID, Delegation(CY, EVE, "spend"))  # unrelated to Bob
    await world.decide_now(ActionKind.REMOVE_MEMBER)
    removed = await world.governance.propose(
        GID, action=ActionKind.REMOVE_MEMBER, title="Bob leaves", author=ANN,
        params={"member": BOB},
    )  # fmt: skip
    assert removed.state == "executed", removed.result
    assert removed.result["executed"].endswith("; 2 delegation(s) revoked")
    assert await world.governance.delegations(GID) == [Delegation(CY, EVE, "spend")]


async def test_a_fediverse_member_is_removed_by_handle_with_role_and_delegations(
    world: World,
) -> None:
    world.fediverse.handles["@eve@e.example"] = EVE
    world.join(EVE)
    await world.membership.set_role(GARDEN, EVE, "moderator")
    await world.governance.delegate(GID, Delegation(ANN, EVE, "*"))
    await world.decide_now(ActionKind.REMOVE_MEMBER)
    removed = await world.governance.propose(
        GID, action=ActionKind.REMOVE_MEMBER, title="Eve leaves", author=ANN,
        params={"member": "@eve@e.example"},
    )  # fmt: skip
    assert removed.state == "executed", removed.result
    assert removed.result["executed"].endswith(f"{EVE} out; 1 delegation(s) revoked")
    assert not await world.store.is_member(GID, EVE)
    assert not await world.store.is_moderator(GID, EVE)
    assert await world.governance.delegations(GID) == []
    with pytest.raises(InvalidInput, match="not a member"):  # an unknown handle is no member
        await world.governance.propose(
            GID, action=ActionKind.REMOVE_MEMBER, title="Out", author=ANN,
            params={"member": "@nobody@e.example"},
        )  # fmt: skip

"""Governance rules: protocols, the table, the lifecycle, delegation (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imago_fed.domain.errors import Conflict, InvalidInput
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.delegation import Delegation, check_new_delegation, resolve
from imago_fed.domain.governance.proposals import Proposal, decide, options_for, transition
from imago_fed.domain.governance.protocols import (
    Consensus,
    Democracy,
    Doocracy,
    Oligarchy,
    protocol_from_dict,
    protocol_to_dict,
)
from imago_fed.domain.governance.table import ControlTable, default_table, parse_changes

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MEMBERS = [f"m{i}" for i in range(10)]


def proposal(protocol, *, options=(), action=ActionKind.MODERATE, topics=()) -> Proposal:
    return Proposal(
        group_id=1, action=action, title="t", protocol=protocol,
        options=options_for(protocol, options), author="m0", created_at=T0,
        topics=tuple(topics), state="open", opened_at=T0, closes_at=T0 + timedelta(days=1),
    )  # fmt: skip


AFTER = T0 + timedelta(days=2)


# ------------------------------------------------------------------- protocols
def test_democracy_quorum_and_threshold_boundaries_are_exact() -> None:
    p = proposal(Democracy(quorum=Fraction(1, 2), threshold=Fraction(1, 2)))
    # 5 of 10 voted: exactly the quorum -> counted; 3 for, 2 against -> adopted
    ballots = {"m0": (0,), "m1": (0,), "m2": (0,), "m3": (1,), "m4": (1,)}
    assert decide(p, eligible=MEMBERS, ballots=ballots, now=AFTER).verdict == "adopted"
    # 4 of 10: below the quorum -> expired
    four = dict(list(ballots.items())[:4])
    assert decide(p, eligible=MEMBERS, ballots=four, now=AFTER).verdict == "expired"
    # exactly half for: not more than the threshold -> rejected
    tie = {"m0": (0,), "m1": (0,), "m2": (1,), "m3": (1,), "m4": (2,)}
    assert decide(p, eligible=MEMBERS, ballots=tie, now=AFTER).verdict == "rejected"
    # abstentions count for the quorum but not for the share
    assert decide(p, eligible=MEMBERS, ballots=tie, now=T0).verdict == "pending"


def test_two_thirds() -> None:
    p = proposal(Democracy(quorum=Fraction(0), threshold=Fraction(2, 3)))
    two_thirds = {"m0": (0,), "m1": (0,), "m2": (1,)}
    assert decide(p, eligible=MEMBERS, ballots=two_thirds, now=AFTER).verdict == "rejected"
    more = {**two_thirds, "m3": (0,)}
    assert decide(p, eligible=MEMBERS, ballots=more, now=AFTER).verdict == "adopted"


def test_oligarchy_k_of_n_decides_early() -> None:
    p = proposal(Oligarchy(("m1", "m2", "m3"), k=2))
    assert decide(p, eligible=MEMBERS, ballots={"m1": (0,)}, now=T0).verdict == "pending"
    assert decide(p, eligible=MEMBERS, ballots={"m1": (0,), "m2": (0,)}, now=T0).verdict == (
        "adopted"
    )
    refused = {"m1": (1,), "m2": (1,)}
    assert decide(p, eligible=MEMBERS, ballots=refused, now=T0).verdict == "rejected"
    # a non-decider's approval does not count
    assert decide(p, eligible=MEMBERS, ballots={"m1": (0,), "m9": (0,)}, now=T0).verdict == (
        "pending"
    )


def test_consensus_block_and_stand_aside() -> None:
    p = proposal(Consensus())
    aside = {"m1": (1,), "m2": (0,)}
    assert decide(p, eligible=MEMBERS, ballots=aside, now=T0).verdict == "pending"
    outcome = decide(p, eligible=MEMBERS, ballots=aside, now=AFTER)
    assert outcome.verdict == "adopted" and outcome.tally["stand_aside"] == ["m1"]
    assert decide(p, eligible=MEMBERS, ballots={**aside, "m3": (2,)}, now=T0).verdict == (
        "rejected"
    )


def test_doocracy_acts_then_can_be_challenged() -> None:
    p = proposal(Doocracy())
    assert decide(p, eligible=MEMBERS, ballots={}, now=T0).verdict == "adopted"
    assert decide(p, eligible=MEMBERS, ballots={"m4": (0,)}, now=T0).verdict == "challenged"


def test_protocols_round_trip_and_bad_ones_are_refused() -> None:
    for protocol in [Oligarchy(("a", "b"), 1), Democracy(secret=True, method="schulze"),
                     Consensus(), Doocracy(fallback=Consensus())]:  # fmt: skip
        assert protocol_from_dict(protocol_to_dict(protocol)) == protocol
    bad_ones = [
        {"protocol": "monarchy"},
        {"protocol": "oligarchy", "deciders": [], "k": 1},
        {"protocol": "democracy", "quorum": "3/2"},
        {"protocol": "democracy", "method": "borda"},
        {"protocol": "doocracy", "fallback": {"protocol": "doocracy"}},
    ]
    for bad in bad_ones:
        with pytest.raises(ValueError):
            protocol_from_dict(bad)


def test_default_table_covers_every_action_and_round_trips() -> None:
    table = default_table()
    assert {k for k, _ in table.rules} == set(ActionKind)
    assert ControlTable.from_dict(table.to_dict()) == table
    amended = table.amended(parse_changes({"publish": {"protocol": "consensus"}}))
    assert isinstance(amended.protocol(ActionKind.PUBLISH), Consensus)
    assert isinstance(table.protocol(ActionKind.PUBLISH), Doocracy)  # unchanged
    amend = table.protocol(ActionKind.AMEND_TABLE)
    assert isinstance(amend, Democracy) and amend.threshold == Fraction(2, 3)


# ------------------------------------------------------------------ lifecycle
def test_lifecycle_refuses_undeclared_transitions() -> None:
    p = proposal(Democracy())
    closed, record = transition(p, "closed", by="system", at=AFTER)
    assert (record.from_state, record.to_state) == ("open", "closed")
    adopted, _ = transition(closed, "adopted", by="system", at=AFTER)
    with pytest.raises(Conflict):
        transition(adopted, "rejected", by="m1", at=AFTER)
    executed, _ = transition(adopted, "executed", by="system", at=AFTER)
    with pytest.raises(Conflict):
        transition(executed, "open", by="m1", at=AFTER)


# ----------------------------------------------------------------- delegation
def test_delegation_transitive_override_specific_and_subgroup() -> None:
    delegations = [
        Delegation("m1", "m2"),  # m1 -> m2 for everything
        Delegation("m2", "m3"),  # m2 -> m3
        Delegation("m1", "m4", scope="moderate"),  # but m4 for moderation
        Delegation("m5", "m6", scope="topic:garden"),
        Delegation("m7", "group:youth"),
    ]
    ballots = {"m3": (0,), "m4": (1,), "m6": (0,)}
    resolved = {
        b.voter: b
        for b in resolve(
            MEMBERS,
            ballots,
            delegations,
            action="moderate",
            topics=["garden"],
            subgroup_results={"group:youth": (1,)},
        )
    }
    assert resolved["m3"].delegated_from == ("m2",)  # m2 followed the chain to m3
    assert resolved["m4"].delegated_from == ("m1",)  # the most specific scope won
    assert resolved["m6"].delegated_from == ("m5",)  # topic scope
    assert resolved["group:youth"].delegated_from == ("m7",) and resolved["group:youth"].direct == 0
    # m2 votes directly: that overrides their delegation, and m1 (moderate) stays with m4
    direct = {**ballots, "m2": (1,)}
    again = {b.voter: b for b in resolve(MEMBERS, direct, delegations, action="publish")}
    assert again["m2"].delegated_from == ("m1",) and again["m2"].direct == 1
    # a sub-group with no result: the weight abstains
    none = resolve(MEMBERS, {}, delegations, action="x", subgroup_results={"group:youth": None})
    assert none == []


def test_cycles_and_self_delegation_are_refused() -> None:
    existing = [Delegation("a", "b"), Delegation("b", "c", scope="moderate")]
    with pytest.raises(InvalidInput):
        check_new_delegation(existing, Delegation("c", "a", scope="topic:x"), {"a", "b", "c"})
    with pytest.raises(InvalidInput):
        check_new_delegation(existing, Delegation("a", "a"), {"a"})
    with pytest.raises(InvalidInput):
        check_new_delegation(existing, Delegation("a", "stranger"), {"a", "b", "c"})
    check_new_delegation(existing, Delegation("c", "d"), {"a", "b", "c", "d"})


@given(
    delegations=st.lists(
        st.tuples(
            st.sampled_from(MEMBERS),
            st.sampled_from(MEMBERS),
            st.sampled_from(["*", "moderate", "topic:t"]),
        ),
        max_size=20,
    ),
    voters=st.dictionaries(st.sampled_from(MEMBERS), st.integers(0, 2).map(lambda i: (i,))),
)
def test_weight_is_never_created_nor_counted_twice(delegations, voters) -> None:
    accepted: list[Delegation] = []
    for delegator, delegate, scope in delegations:
        candidate = Delegation(delegator, delegate, scope)
        try:
            check_new_delegation(accepted, candidate, set(MEMBERS))
        except InvalidInput:
            continue
        accepted.append(candidate)
    resolved = resolve(MEMBERS, voters, accepted, action="moderate", topics=["t"])
    counted = [b.voter for b in resolved] + [m for b in resolved for m in b.delegated_from]
    assert len(counted) == len(set(counted))  # nobody counted twice
    assert set(counted) <= set(MEMBERS)
    assert sum(b.direct for b in resolved) == len(voters)  # every direct vote counted once
    assert sum(b.weight for b in resolved) == len(counted)  # weight from people only

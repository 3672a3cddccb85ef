"""Propagation: planning recipients, the item envelope, and items travelling a network."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imago_fed.domain.errors import Conflict, InvalidInput
from imago_fed.domain.graph.feeds import FeedRules, RateState, Receiver, accept
from imago_fed.domain.graph.places import Place
from imago_fed.domain.graph.propagation import Item, PropagationCriteria, originate, plan
from imago_fed.domain.graph.proximity import GroupNode, hops_from
from imago_fed.domain.graph.relations import Relation

from .test_places import destination

PARIS = Place(48.8566, 2.3522, "Paris", "Q90")
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def gid(name: str) -> str:
    return f"https://x.example/g/{name}"


def accepted(a: str, b: str, kind: str = "partner") -> Relation:
    return Relation(gid(a), gid(b), kind, "accepted")


# --- planning --------------------------------------------------------------------------------


def test_plan_keeps_the_k_closest_matching_every_criterion() -> None:
    origin = GroupNode(gid("o"), PARIS, frozenset({"Q1"}))
    near = GroupNode(gid("near"), destination(PARIS, 0, 5), frozenset({"Q1"}))
    mid = GroupNode(gid("mid"), destination(PARIS, 90, 20), frozenset({"Q1", "Q2"}))
    far = GroupNode(gid("far"), destination(PARIS, 180, 300), frozenset({"Q1"}))
    off_topic = GroupNode(gid("off"), destination(PARIS, 0, 1), frozenset({"Q7"}))
    nowhere = GroupNode(gid("nowhere"), None, frozenset({"Q1"}))
    everyone = [far, off_topic, mid, near, nowhere, origin]

    within = PropagationCriteria(k=10, radius_km=50, themes=frozenset({"Q1"}))
    assert [s.group for s in plan(origin, everyone, within)] == [near.id, mid.id]
    top_one = PropagationCriteria(k=1, themes=frozenset({"Q1"}))
    assert [s.group for s in plan(origin, everyone, top_one)] == [near.id]
    nearby = plan(origin, everyone, PropagationCriteria(k=10, radius_km=50), exclude={near.id})
    # A shared theme outweighs 19 km at the default weights.
    assert [s.group for s in nearby] == [mid.id, off_topic.id]
    assert plan(origin, [], PropagationCriteria()) == []


def test_plan_by_relation_kind_takes_direct_relations_only() -> None:
    nodes = {n: GroupNode(gid(n), PARIS) for n in "obcds"}
    relations = [
        accepted("o", "b"),
        accepted("b", "c"),  # two hops away: not a direct partner
        accepted("d", "o", "subgroup"),  # d is o's subgroup
        Relation(gid("o"), gid("s"), "partner", "proposed"),  # not accepted
    ]
    partners = PropagationCriteria(relation_kinds=frozenset({"partner"}))
    chosen = plan(nodes["o"], nodes.values(), partners, relations=relations)
    assert [s.group for s in chosen] == [gid("b")]
    subgroups = PropagationCriteria(relation_kinds=frozenset({"subgroup"}))
    assert [s.group for s in plan(nodes["o"], nodes.values(), subgroups, relations=relations)] == [
        gid("d")
    ]
    # Without the criterion, relations still explain the ranking.
    ranked = plan(nodes["o"], nodes.values(), PropagationCriteria(k=3), relations=relations)
    assert [s.hops for s in ranked] == [1, 1, 2]
    assert ranked[0].why.endswith("1 hop (partner)")


def test_criteria_validate_and_round_trip() -> None:
    criteria = PropagationCriteria(
        k=20,
        radius_km=25,
        themes=frozenset({"https://www.wikidata.org/wiki/Q5"}),
        relation_kinds=frozenset({"partner"}),
        hop_limit=3,
    )
    assert criteria.themes == frozenset({"Q5"})
    assert PropagationCriteria.from_dict(criteria.to_dict()) == criteria
    assert PropagationCriteria.from_dict({}) == PropagationCriteria()
    for bad in (
        {"k": 0},
        {"k": 5000},
        {"radius_km": -3},
        {"themes": ["cats"]},
        {"relation_kinds": ["friend"]},
        {"hop_limit": 0},
        {"hop_limit": 11},
        {"colour": "red"},
    ):
        with pytest.raises(InvalidInput):
            PropagationCriteria.from_dict(bad)


# --- the envelope ----------------------------------------------------------------------------


def test_an_item_grows_its_path_and_stops_at_its_limit() -> None:
    item = originate("https://x.example/notes/1", gid("a"), hop_limit=2, themes=["Q1"])
    assert (item.path, item.hops, item.sender, item.may_travel_on) == (
        (gid("a"),),
        1,
        gid("a"),
        True,
    )
    relayed = item.forwarded_by(gid("b"))
    assert (relayed.path, relayed.hops, relayed.sender) == ((gid("a"), gid("b")), 2, gid("b"))
    assert not relayed.may_travel_on
    with pytest.raises(Conflict):
        relayed.forwarded_by(gid("c"))
    with pytest.raises(Conflict):
        item.forwarded_by(gid("a"))
    assert relayed.meta.origin == gid("a") and relayed.meta.via == (gid("b"),)


def test_item_dict_round_trip_and_checks() -> None:
    item = originate("urn:x:1", gid("a"), 3, themes=["Q2"], place=PARIS).forwarded_by(gid("b"))
    assert Item.from_dict(item.to_dict()) == item
    shape = item.to_dict()
    broken: object
    for broken in (
        {**shape, "hops": 7},
        {**shape, "path": [gid("b")]},
        {**shape, "path": [gid("a"), gid("b"), gid("a")]},
        {**shape, "path": "nope"},
        {**shape, "object_id": ""},
        {**shape, "hop_limit": 0},
        {**shape, "themes": ["cats"]},
        {k: v for k, v in shape.items() if k != "origin"},
        {**shape, "kind": "rumour"},
        [],
    ):
        with pytest.raises(InvalidInput):
            Item.from_dict(broken)  # type: ignore[arg-type]


def test_an_offer_or_need_travels_as_an_intent_item() -> None:
    """The kind rides along every hop (each receiver reads the intent from its
    origin); an envelope stored before kinds existed is an announcement."""
    item = originate("urn:x:intents/1", gid("a"), 2, kind="intent")
    relayed = item.forwarded_by(gid("b"))
    assert relayed.kind == "intent" and relayed.to_dict()["kind"] == "intent"
    assert Item.from_dict(relayed.to_dict()) == relayed
    older = {k: v for k, v in relayed.to_dict().items() if k != "kind"}
    assert Item.from_dict(older).kind == "announcement"


# --- a small network: plan, deliver, judge, relay --------------------------------------------


@dataclass
class Member:
    """One group's side of the network: its rules and what it has seen."""

    node: GroupNode
    rules: FeedRules = field(default_factory=lambda: FeedRules(reannounce="at_once"))
    seen: set[str] = field(default_factory=set)
    rate: RateState = field(default_factory=RateState)
    verdicts: list[str] = field(default_factory=list)


def run(
    members: dict[str, Member],
    relations: list[Relation],
    origin: str,
    criteria: PropagationCriteria,
) -> Counter[str]:
    """Deliver one announcement to quiescence; count the copies each group kept."""
    kept: Counter[str] = Counter()
    nodes = [m.node for m in members.values()]
    first = originate("https://x.example/notes/1", members[origin].node.id, criteria.hop_limit)
    queue = deque(
        (s.group, first) for s in plan(members[origin].node, nodes, criteria, relations=relations)
    )
    while queue:
        to, item = queue.popleft()
        member = members[to]
        receiver = Receiver.from_relations(to, relations, member.node.place)
        decision = accept(item, member.rules, member.seen, NOW, member.rate, receiver=receiver)
        member.verdicts.append(decision.verdict)
        member.rate = decision.rate_state
        if not decision.delivered:
            continue
        member.seen.add(item.object_id)
        kept[to] += 1
        if decision.verdict == "accept" and decision.may_forward:
            onward = item.forwarded_by(to)
            for s in plan(member.node, nodes, criteria, relations=relations, exclude=onward.path):
                queue.append((s.group, onward))
    return kept


def network(names: str) -> dict[str, Member]:
    return {gid(n): Member(GroupNode(gid(n), PARIS)) for n in names}


def chain(names: str) -> list[Relation]:
    return [accepted(a, b) for a, b in pairwise(names)]


PARTNERS = frozenset({"partner"})


def test_a_chain_stops_at_the_hop_limit() -> None:
    members = network("abcde")
    kept = run(
        members, chain("abcde"), gid("a"), PropagationCriteria(relation_kinds=PARTNERS, hop_limit=2)
    )
    assert kept == Counter({gid("b"): 1, gid("c"): 1})
    assert members[gid("d")].verdicts == []


def test_an_opt_out_is_honoured_and_stops_the_spread_behind_it() -> None:
    members = network("abcde")
    members[gid("c")].rules = FeedRules(enabled=False)
    kept = run(
        members, chain("abcde"), gid("a"), PropagationCriteria(relation_kinds=PARTNERS, hop_limit=5)
    )
    assert kept == Counter({gid("b"): 1})
    assert members[gid("c")].verdicts == ["drop"]


def test_a_cycle_delivers_once_per_group() -> None:
    members = network("abcd")
    cycle = [*chain("abcd"), accepted("d", "a")]
    kept = run(members, cycle, gid("a"), PropagationCriteria(relation_kinds=PARTNERS, hop_limit=10))
    assert kept == Counter({gid("b"): 1, gid("c"): 1, gid("d"): 1})
    assert gid("a") not in kept


def test_a_diamond_is_deduplicated_by_object_id() -> None:
    members = network("abcd")
    diamond = [accepted("a", "b"), accepted("a", "c"), accepted("b", "d"), accepted("c", "d")]
    kept = run(
        members, diamond, gid("a"), PropagationCriteria(relation_kinds=PARTNERS, hop_limit=3)
    )
    assert kept == Counter({gid("b"): 1, gid("c"): 1, gid("d"): 1})
    assert sorted(members[gid("d")].verdicts) == ["accept", "drop"]


def test_a_held_item_is_not_relayed() -> None:
    members = network("abcd")
    members[gid("b")].rules = FeedRules(reannounce="hold")
    kept = run(
        members, chain("abcd"), gid("a"), PropagationCriteria(relation_kinds=PARTNERS, hop_limit=3)
    )
    assert kept == Counter({gid("b"): 1})
    assert members[gid("b")].verdicts == ["hold"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcdef"), st.sampled_from("abcdef")), max_size=15),
    st.integers(1, 6),
    st.sets(st.sampled_from("bcdef")),
)
def test_on_any_graph_each_group_keeps_an_item_at_most_once(
    pairs: list[tuple[str, str]], hop_limit: int, opted_out: set[str]
) -> None:
    relations = list({accepted(*sorted(p)) for p in pairs if p[0] != p[1]})
    members = network("abcdef")
    for name in opted_out:
        members[gid(name)].rules = FeedRules(enabled=False)
    criteria = PropagationCriteria(relation_kinds=PARTNERS, hop_limit=hop_limit)
    kept = run(members, relations, gid("a"), criteria)
    assert all(count == 1 for count in kept.values())
    assert gid("a") not in kept
    assert not {gid(n) for n in opted_out} & set(kept)
    # Nobody beyond the hop limit (counted along accepted partner relations) is reached.
    reach = hops_from(gid("a"), relations, hop_limit)
    assert set(kept) <= set(reach)

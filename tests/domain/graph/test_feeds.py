"""Feed rules (by hand, never ranked), the receiving decision, rate limits, personal feeds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.graph.feeds import (
    Decision,
    FeedRules,
    PersonalFeed,
    RateLimit,
    RateState,
    Receiver,
    accept,
)
from imago_fed.domain.graph.places import Place
from imago_fed.domain.graph.propagation import Item, ItemMeta, originate
from imago_fed.domain.graph.relations import Relation

from .test_places import destination

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
PARIS = Place(48.8566, 2.3522, "Paris", "Q90")
ORIGIN, RELAY, ME, STRANGER = (f"https://x.example/g/{n}" for n in ("origin", "relay", "me", "s"))
ME_RECEIVER = Receiver(ME, PARIS, {ORIGIN: frozenset({"partner"})})


def item(n: int = 1, origin: str = ORIGIN, **kwargs: object) -> Item:
    return originate(f"https://x.example/notes/{n}", origin, 2, **kwargs)  # type: ignore[arg-type]


def judge(
    it: Item,
    rules: FeedRules | None = None,
    seen: set[str] | None = None,
    now: datetime = NOW,
    rate: RateState | None = None,
    receiver: Receiver = ME_RECEIVER,
) -> Decision:
    return accept(
        it, rules or FeedRules(), seen or set(), now, rate or RateState(), receiver=receiver
    )


# --- the decision, one rule at a time --------------------------------------------------------


def test_by_default_items_from_related_groups_are_held() -> None:
    decision = judge(item())
    assert decision.verdict == "hold"
    assert decision.reason == f"held for moderators: {ORIGIN} is a related group (partner)"
    assert decision.may_forward and decision.delivered
    assert judge(item(origin=STRANGER)).verdict == "drop"


def test_at_once_re_announces() -> None:
    decision = judge(item(), FeedRules(reannounce="at_once"))
    assert decision.verdict == "accept" and decision.reason.startswith("accepted: ")


def test_opt_out_drops_everything() -> None:
    decision = judge(item(), FeedRules(enabled=False, groups=frozenset({ORIGIN})))
    assert decision.verdict == "drop" and "opted out" in decision.reason
    assert not decision.delivered


def test_a_group_on_the_path_drops_it() -> None:
    looped = item().forwarded_by(ME)
    assert "loop" in judge(looped, receiver=Receiver(ME)).reason
    assert "loop" in judge(item(origin=ME), receiver=Receiver(ME)).reason


def test_duplicates_are_dropped() -> None:
    it = item()
    decision = judge(it, seen={it.object_id})
    assert decision.verdict == "drop" and "duplicate" in decision.reason


def test_past_the_hop_limit_is_dropped_and_at_it_not_forwarded() -> None:
    at_limit = item().forwarded_by(RELAY)
    decision = judge(at_limit, FeedRules(groups=frozenset({ORIGIN})))
    assert decision.verdict == "hold" and not decision.may_forward
    beyond = Item(at_limit.object_id, ORIGIN, (ORIGIN, RELAY, STRANGER), hop_limit=2)
    decision = judge(beyond, FeedRules(groups=frozenset({ORIGIN})))
    assert decision.verdict == "drop" and "hop limit" in decision.reason


def test_blocked_groups_win_over_every_source() -> None:
    rules = FeedRules(groups=frozenset({ORIGIN}), blocked=frozenset({RELAY}))
    assert (
        judge(item().forwarded_by(RELAY), rules).reason == f"{RELAY} is blocked by the feed rules"
    )
    assert judge(item(), FeedRules(blocked=frozenset({ORIGIN}))).verdict == "drop"


@pytest.mark.parametrize(
    ("rules", "it", "reason"),
    [
        (FeedRules(groups=frozenset({STRANGER})), item(origin=STRANGER), "is listed"),
        # A relay we are related to vouches for an origin we do not know.
        (FeedRules(), item(origin=STRANGER).forwarded_by(ORIGIN), "related group"),
        (
            FeedRules(relation_kinds=frozenset(), themes=frozenset({"Q5"})),
            item(origin=STRANGER, themes=["Q5", "Q6"]),
            "shares themes Q5",
        ),
        (
            FeedRules(relation_kinds=frozenset(), radius_km=30),
            item(origin=STRANGER, place=destination(PARIS, 45, 29)),
            "within 30 km",
        ),
    ],
)
def test_each_kind_of_source_is_enough(rules: FeedRules, it: Item, reason: str) -> None:
    decision = judge(it, rules)
    assert decision.verdict == "hold" and reason in decision.reason


@pytest.mark.parametrize(
    ("rules", "it"),
    [
        (FeedRules(relation_kinds=frozenset({"subgroup"})), item()),  # a partner, not a subgroup
        (FeedRules(relation_kinds=frozenset(), themes=frozenset({"Q5"})), item(themes=["Q6"])),
        (
            FeedRules(relation_kinds=frozenset(), radius_km=30),
            item(place=destination(PARIS, 0, 31)),
        ),
        (FeedRules(relation_kinds=frozenset(), radius_km=30), item()),  # item without a place
    ],
)
def test_a_source_outside_the_rules_is_dropped(rules: FeedRules, it: Item) -> None:
    decision = judge(it, rules)
    assert decision.verdict == "drop" and "not accepted" in decision.reason


def test_a_receiver_without_a_place_takes_nothing_by_radius() -> None:
    rules = FeedRules(relation_kinds=frozenset(), radius_km=30)
    assert judge(item(place=PARIS), rules, receiver=Receiver(ME)).verdict == "drop"


def test_receiver_from_relations_sees_kinds_from_its_side() -> None:
    relations = [
        Relation(RELAY, ME, "subgroup", "accepted"),  # RELAY is my subgroup
        Relation(ME, ORIGIN, "partner", "accepted"),
        Relation(ME, STRANGER, "partner", "proposed"),
    ]
    receiver = Receiver.from_relations(ME, relations, PARIS)
    assert receiver.related == {RELAY: frozenset({"subgroup"}), ORIGIN: frozenset({"partner"})}
    rules = FeedRules(relation_kinds=frozenset({"subgroup"}))
    assert judge(item(origin=RELAY), rules, receiver=receiver).verdict == "hold"
    assert judge(item(origin=STRANGER), rules, receiver=receiver).verdict == "drop"


# --- rate limit ------------------------------------------------------------------------------


def test_rate_limit_per_origin_with_an_injected_clock() -> None:
    rules = FeedRules(rate_limit=RateLimit(max_items=2, per_seconds=60))
    rate = RateState()
    verdicts = []
    for n in range(3):
        decision = judge(item(n), rules, rate=rate)
        verdicts.append(decision.verdict)
        rate = decision.rate_state
    assert verdicts == ["hold", "hold", "drop"]
    assert "rate limit" in judge(item(9), rules, rate=rate).reason
    # Another origin has its own bucket.
    other = Receiver(ME, PARIS, {STRANGER: frozenset({"partner"})})
    assert judge(item(10, origin=STRANGER), rules, rate=rate, receiver=other).verdict == "hold"
    # Half the window refills one token, not two.
    later = NOW + timedelta(seconds=30)
    decision = judge(item(11), rules, now=later, rate=rate)
    assert decision.verdict == "hold"
    assert judge(item(12), rules, now=later, rate=decision.rate_state).verdict == "drop"


def test_a_dropped_item_spends_no_token_and_a_clock_stepping_back_refills_nothing() -> None:
    rules = FeedRules(rate_limit=RateLimit(max_items=1, per_seconds=60))
    rate = RateState()
    assert judge(item(origin=STRANGER), rules, rate=rate).rate_state == rate
    spent = judge(item(1), rules, rate=rate).rate_state
    assert judge(item(2), rules, now=NOW - timedelta(hours=1), rate=spent).verdict == "drop"


def test_refilled_buckets_are_forgotten() -> None:
    limit = RateLimit(max_items=2, per_seconds=60)
    rules = FeedRules(rate_limit=limit)
    rate = judge(item(1), rules).rate_state
    assert set(rate.pruned(limit, NOW + timedelta(seconds=10)).buckets) == {ORIGIN}
    assert rate.pruned(limit, NOW + timedelta(seconds=30)).buckets == {}


@given(
    st.integers(1, 5),
    st.integers(1, 120),
    st.lists(st.integers(0, 200), min_size=1, max_size=30),
)
def test_never_more_than_the_limit_in_any_window(
    max_items: int, per_seconds: int, gaps: list[int]
) -> None:
    rules = FeedRules(rate_limit=RateLimit(max_items, per_seconds))
    rate, now, taken = RateState(), NOW, []
    for n, gap in enumerate(gaps):
        now += timedelta(seconds=gap)
        decision = judge(item(n), rules, now=now, rate=rate)
        rate = decision.rate_state
        if decision.delivered:
            taken.append(now)
    # A bucket of size m refilled at m per window lets at most 2m through in any window
    # (a full burst at its end, then a refilled one); and exactly m in a burst from cold.
    for start in taken:
        inside = [t for t in taken if start <= t < start + timedelta(seconds=per_seconds)]
        assert len(inside) <= 2 * max_items
    burst = [t for t in taken if t == NOW + timedelta(seconds=gaps[0])]
    assert len(burst) <= max_items


# --- the rules as a value --------------------------------------------------------------------


def test_feed_rules_dict_shape_and_round_trip() -> None:
    rules = FeedRules(
        groups=frozenset({STRANGER}),
        relation_kinds=frozenset({"partner", "subgroup"}),
        themes=frozenset({"Q5"}),
        radius_km=25,
        blocked=frozenset({RELAY}),
        reannounce="at_once",
        rate_limit=RateLimit(5, 600),
    )
    assert rules.to_dict() == {
        "enabled": True,
        "accept": {
            "groups": [STRANGER],
            "relation_kinds": ["partner", "subgroup"],
            "themes": ["Q5"],
            "radius_km": 25.0,
        },
        "blocked": [RELAY],
        "reannounce": "at_once",
        "rate_limit": {"max_items": 5, "per_seconds": 600},
    }
    assert FeedRules.from_dict(rules.to_dict()) == rules
    assert FeedRules.from_dict({}) == FeedRules()
    assert FeedRules.from_dict(FeedRules().to_dict()) == FeedRules()
    partial = FeedRules.from_dict({"accept": {"themes": ["https://www.wikidata.org/wiki/Q7"]}})
    assert (
        partial.themes == frozenset({"Q7"}) and partial.relation_kinds == FeedRules().relation_kinds
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"enabled": "yes"}, "enabled"),
        ({"accept": {"relation_kinds": ["friend"]}}, "relation_kinds"),
        ({"accept": {"themes": ["gardening"]}}, "themes"),
        ({"accept": {"radius_km": 0}}, "radius_km"),
        ({"accept": {"groups": "https://x.example/g/a"}}, "groups"),
        ({"accept": {"groups": [""]}}, "groups"),
        ({"accept": {"colour": 1}}, "accept"),
        ({"blocked": [3]}, "blocked"),
        ({"reannounce": "later"}, "reannounce"),
        ({"rate_limit": {"max_items": 0}}, "max_items"),
        ({"rate_limit": {"per_seconds": 10**9}}, "per_seconds"),
        ({"rate_limit": {"burst": 3}}, "rate_limit"),
        ({"ranking": "smart"}, "feed rules"),
        ([], "feed rules"),
    ],
)
def test_bad_feed_rules_name_the_field(body: object, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        FeedRules.from_dict(body)
    assert caught.value.field == field
    if field == "relation_kinds":
        assert "partner" in caught.value.message


# --- personal feeds --------------------------------------------------------------------------


def test_personal_feed_matches_any_of_its_criteria() -> None:
    feed = PersonalFeed(
        groups=frozenset({ORIGIN}), themes=frozenset({"Q5"}), place=PARIS, radius_km=10
    )
    assert feed.matches(ItemMeta(ORIGIN))
    assert feed.matches(ItemMeta(STRANGER, via=(ORIGIN,)))
    assert feed.matches(ItemMeta(STRANGER, themes=frozenset({"Q5"})))
    assert feed.matches(ItemMeta(STRANGER, place=destination(PARIS, 10, 9)))
    assert not feed.matches(ItemMeta(STRANGER, place=destination(PARIS, 10, 11)))
    assert not feed.matches(ItemMeta(STRANGER, themes=frozenset({"Q6"})))
    assert not PersonalFeed().matches(ItemMeta(ORIGIN, themes=frozenset({"Q5"}), place=PARIS))
    assert feed.matches(item(themes=["Q5"], origin=STRANGER).meta)


def test_personal_feed_validates_and_round_trips() -> None:
    feed = PersonalFeed(frozenset({ORIGIN}), frozenset({"Q5"}), PARIS, 10)
    assert PersonalFeed.from_dict(feed.to_dict()) == feed
    assert PersonalFeed.from_dict({"themes": ["Q1"]}) == PersonalFeed(themes=frozenset({"Q1"}))
    bad: object
    for bad in (
        {"place": PARIS.to_dict()},  # a place without a radius
        {"radius_km": 5},
        {"place": PARIS.to_dict(), "radius_km": -1},
        {"themes": ["x"]},
        {"groups": [" "]},
        {"rooms": []},
        "everything",
    ):
        with pytest.raises(InvalidInput):
            PersonalFeed.from_dict(bad)

"""Matching: hard filters, the explainable score, and properties (hypothesis):
the score is symmetric and bounded, a more specific type never ranks below a
less specific one, and the bucketed index finds exactly what a full scan finds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from imago_fed.domain.graph.places import Place
from imago_fed.domain.resources.intents import Intent, Quantity, Window
from imago_fed.domain.resources.matching import MatchIndex, refusal, score, suggest
from imago_fed.domain.resources.taxonomy import Taxonomy, taxonomy
from imago_fed.domain.resources.vocabulary import UNITS, ResourceType, parse_resource_type

NOW = datetime(2026, 12, 6, tzinfo=UTC)
BIKE = parse_resource_type("Q11442")
LADDER = parse_resource_type("ladder")
FURNITURE, CHAIR, STOOL = (parse_resource_type(q) for q in ("Q14745", "Q15026", "Q33163"))


def make(
    purpose: str = "offer", group: str = "g1", *, action: str = "transfer", resource=BIKE,
    value: int | None = 2, unit: str = "one", start: int | None = None, end: int | None = None,
    place: tuple[float, float] | None = None, ident: int = 1,
) -> Intent:  # fmt: skip
    return Intent(
        purpose=purpose, action=action, group=group, name="x", resource=resource,
        quantity=Quantity(UNITS[unit], None if value is None else Decimal(value)),
        window=Window(
            NOW + timedelta(days=start) if start is not None else None,
            NOW + timedelta(days=end) if end is not None else None,
        ),
        place=Place(*place) if place else None, id=ident, ap_id=f"https://x/{ident}",
    )  # fmt: skip


def test_hard_filters_say_why() -> None:
    offer = make()
    assert refusal(offer, make("request", "g2"), NOW) is None
    cases = [
        (make("offer", "g2"), "same purpose"),
        (make("request", "g1"), "same group"),
        (make("request", "g2", action="use"), "actions do not match"),
        (make("request", "g2", resource=LADDER), "different resource types"),
        (make("request", "g2", unit="kilogram"), "different dimensions"),
    ]
    for other, words in cases:
        assert words in (refusal(offer, other, NOW) or "")
    dated = make(start=1, end=3)
    assert "do not overlap" in refusal(dated, make("request", "g2", start=4, end=6), NOW)
    assert "ended" in refusal(make(start=-5, end=-1), make("request", "g2"), NOW)
    paris, lyon = (48.85, 2.35), (45.76, 4.84)
    assert "too far" in refusal(make(place=paris), make("request", "g2", place=lyon), NOW)


def test_an_intent_for_any_resource_matches_with_low_specificity() -> None:
    match = score(make(), make("request", "g2", resource=None))
    assert match.parts["type"] == 0.3 and "any resource" in match.why[0]


def test_the_score_explains_each_part() -> None:
    near = make(place=(48.85, 2.35), start=0, end=10)
    other = make("request", "g2", value=1, place=(48.86, 2.36), start=5, end=20)
    match = score(near, other, hops=1)
    assert match.parts["type"] == 1.0
    assert match.parts["graph"] == 1.0
    assert match.parts["quantity"] == 0.5
    assert match.parts["time"] == 0.5  # 5 days shared of the shorter 10
    assert 0.85 < match.parts["distance"] < 0.9  # 1.3 km
    assert len(match.why) == 5 and "km apart" in match.why[1]
    farther = score(near, make("request", "g3", value=1, place=(48.95, 2.5), start=5, end=20))
    assert farther.score < match.score


def test_suggest_orders_best_first_and_limits() -> None:
    new = make("request", "me", value=2, ident=100)
    candidates = [make("offer", f"g{i}", value=i + 1, ident=i) for i in range(6)]
    best = suggest(new, candidates, now=NOW, limit=3)
    assert [m.intent.id for m in best] == [1, 2, 0]  # 2 of 2 fits, then 2 of 3, then 1 of 2
    assert best[0].score >= best[1].score >= best[2].score


groups = st.sampled_from(["g1", "g2", "g3"])
types = st.sampled_from([
    BIKE, LADDER, parse_resource_type("Q2"), None, FURNITURE, CHAIR, STOOL,
    parse_resource_type("furniture"), parse_resource_type("Chair"),
])  # fmt: skip
actions = st.sampled_from(["transfer", "transfer-all-rights", "use", "work"])
units = st.sampled_from(["one", "kilogram", "gram"])
places = st.none() | st.tuples(st.floats(45, 46), st.floats(4, 5))


@st.composite
def intents(draw, ident: int = 0) -> Intent:
    start = draw(st.none() | st.integers(-3, 10))
    length = draw(st.integers(1, 10))
    return make(
        draw(st.sampled_from(["offer", "request"])), draw(groups), action=draw(actions),
        resource=draw(types), value=draw(st.none() | st.integers(1, 50)), unit=draw(units),
        start=start, end=None if start is None else start + length, place=draw(places),
        ident=draw(st.integers(1, 10_000)),
    )  # fmt: skip


@given(intents(), intents(), st.none() | st.integers(1, 4))
@settings(max_examples=300, deadline=None)
def test_matching_is_symmetric_and_bounded(a: Intent, b: Intent, hops: int | None) -> None:
    assert (refusal(a, b, NOW) is None) == (refusal(b, a, NOW) is None)
    ab, ba = score(a, b, hops=hops), score(b, a, hops=hops)
    assert ab.score == ba.score
    assert 0.0 <= ab.score <= 1.0


@given(intents(), st.lists(intents(), max_size=40, unique_by=lambda i: i.id))
@settings(max_examples=200, deadline=None)
def test_the_index_finds_what_a_full_scan_finds(new: Intent, known: list[Intent]) -> None:
    index = MatchIndex()
    for intent in known:
        index.add(intent)
    assert len(index) == len(known)
    fast = index.suggest(new, now=NOW, limit=10)
    slow = suggest(new, known, now=NOW, limit=10)
    assert [(m.intent.id, m.score) for m in fast] == [(m.intent.id, m.score) for m in slow]
    for match in fast:
        assert refusal(new, match.intent, NOW) is None  # never a refused counterpart


def test_the_index_reads_broader_and_narrower_types() -> None:
    vehicle = parse_resource_type("Q42889")
    index = MatchIndex(Taxonomy.from_edges([(BIKE.key, vehicle.key)]))
    index.add(make("offer", "g2", resource=vehicle, ident=7))
    [match] = index.suggest(make("request", "g1", ident=8), now=NOW)
    assert match.parts["type"] == 0.8 and "Q11442 is a kind of Q42889" in match.why[0]
    index.remove(match.intent)
    assert index.suggest(make("request", "g1", ident=8), now=NOW) == []


def test_a_need_for_furniture_is_met_by_a_chair_and_says_why() -> None:
    need = make("request", "g1", resource=FURNITURE, ident=1)
    offers = {
        "exact": make("offer", "g2", resource=FURNITURE, ident=2),
        "chair": make("offer", "g3", resource=CHAIR, ident=3),
        "stool": make("offer", "g4", resource=STOOL, ident=4),  # stool -> seat -> furniture
        "word": make("offer", "g5", resource=parse_resource_type("Furniture"), ident=5),
        "any": make("offer", "g6", resource=None, ident=6),
        "bike": make("offer", "g7", ident=7),
    }
    assert "different resource types" in (refusal(need, offers["bike"], NOW) or "")
    found = suggest(need, offers.values(), now=NOW)
    assert [m.intent.id for m in found] == [2, 3, 4, 5, 6]
    assert [m.parts["type"] for m in found] == [1.0, 0.8, 0.7, 0.5, 0.3]
    why = [m.why[0] for m in found]
    assert why[0] == "same resource type (furniture (Q14745))"
    assert why[1] == "chair (Q15026) is a kind of furniture (Q14745) (Wikidata subclass of, 1 step)"
    assert "2 steps" in why[2] and "matched by word" in why[3]
    # A chair offer meets a furniture need and the other way round: one score for both.
    assert score(need, offers["chair"]).score == score(offers["chair"], need).score
    word = make("offer", "g8", resource=parse_resource_type("chair"), ident=9)
    assert (
        score(need, word).parts["type"] == 0.4 and "a kind of furniture" in score(need, word).why[0]
    )


def test_a_need_for_food_is_met_by_meat_and_by_a_soup() -> None:
    food, meat, soup = (parse_resource_type(q) for q in ("Q2095", "Q10990", "Q41415"))
    need = make("request", "g1", resource=food, unit="kilogram", ident=1)
    offers = [
        make("offer", "g2", resource=soup, unit="kilogram", ident=2),  # soup -> dish -> food
        make("offer", "g3", resource=meat, unit="kilogram", ident=3),  # meat -> food
        make("offer", "g4", resource=CHAIR, unit="kilogram", ident=4),
    ]
    assert "different resource types" in (refusal(need, offers[2], NOW) or "")
    found = suggest(need, offers, now=NOW)
    assert [m.intent.id for m in found] == [3, 2]
    assert [m.parts["type"] for m in found] == [0.8, 0.7]
    assert found[0].why[0] == (
        "meat (Q10990) is a kind of food (Q2095) (Wikidata subclass of, 1 step)"
    )
    assert "soup (Q41415)" in found[1].why[0] and "2 steps" in found[1].why[0]
    # An offer of food meets a need for soup too, with the same score both ways.
    assert score(offers[0], need).score == score(need, offers[0]).score


_SHIPPED = taxonomy()
_LINKED = sorted(k for k in _SHIPPED.labels if _SHIPPED.broader.get(k) or _SHIPPED.narrower.get(k))


def _specificity(tax: Taxonomy, need: str, offer: ResourceType | None) -> tuple[int, int]:
    """(tier, -steps): exact 3, subclass 2, word 1, any resource 0; closer is higher."""
    if offer is None:
        return (0, 0)
    other = tax.resolve(offer.key)
    steps = 0 if other == need else tax.steps(need, other)
    assert steps is not None
    if offer.key.startswith("label:"):
        return (1, -steps)
    return (3, 0) if steps == 0 else (2, -steps)


@st.composite
def related_offers(draw) -> tuple[str, list[ResourceType | None]]:
    """A shipped type and offers of it, of its relatives, of the words naming them."""
    need = draw(st.sampled_from(_LINKED))
    kin = sorted(_SHIPPED.related(need) - {need})
    picked = draw(st.lists(st.sampled_from(kin), min_size=1, max_size=6, unique=True))
    offers: list[ResourceType | None] = [
        parse_resource_type(k[6:] if k.startswith("label:") else k[3:]) for k in picked
    ]
    if draw(st.booleans()):
        offers.append(parse_resource_type(need[3:]))
    if draw(st.booleans()):
        offers.append(None)
    return need, draw(st.permutations(offers))


@given(related_offers(), st.none() | st.tuples(st.floats(45, 46), st.floats(4, 5)))
@settings(max_examples=300, deadline=None)
def test_a_more_specific_type_never_ranks_below_a_less_specific_one(
    case: tuple[str, list[ResourceType | None]], place: tuple[float, float] | None
) -> None:
    need_key, offers = case
    need = make("request", "me", resource=parse_resource_type(need_key[3:]), place=place, ident=0)
    candidates = [
        make("offer", f"g{n}", resource=r, place=place, ident=n + 1) for n, r in enumerate(offers)
    ]  # all else equal: same group distance, window, quantity, action
    ranked = suggest(need, candidates, now=NOW, limit=len(candidates))
    assert len(ranked) == len(candidates)  # every relative passes the hard filters
    levels = [_specificity(_SHIPPED, need_key, m.intent.resource) for m in ranked]
    assert levels == sorted(levels, reverse=True)
    for better, worse in pairwise(ranked):
        more, less = (_specificity(_SHIPPED, need_key, m.intent.resource) for m in (better, worse))
        assert more == less or better.score > worse.score

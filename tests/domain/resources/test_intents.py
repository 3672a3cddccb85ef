"""Offers and needs as the API gives them: what is accepted, normalised, refused."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from imago_fed.domain.errors import Conflict, InvalidInput
from imago_fed.domain.lifecycle import IllegalTransition
from imago_fed.domain.resources.agreements import (
    AGREEMENT,
    InventoryItem,
    commit,
    release,
    stock_after,
    terms_for,
)
from imago_fed.domain.resources.intents import INTENT, intent_from_dict, parse_quantity
from imago_fed.domain.resources.vocabulary import (
    parse_action,
    parse_resource_type,
    parse_unit,
)

GARDEN = "https://a.example/groups/garden"
ORCHARD = "https://b.example/groups/orchard"
BIKES = {
    "purpose": "offer",
    "action": "transfer",
    "resource_conforms_to": "http://www.wikidata.org/entity/Q11442",
    "name": "Two bicycles",
    "quantity": {"value": 2, "unit": "one"},
    "available_from": "2026-12-01T00:00:00Z",
    "available_until": "2026-12-31T00:00:00+01:00",
}


def test_the_issue_example_is_accepted_and_normalised() -> None:
    intent = intent_from_dict(BIKES, group=GARDEN)
    assert intent.purpose == "offer" and intent.action == "transfer"
    assert intent.resource is not None and intent.resource.key == "wd:Q11442"
    assert intent.quantity is not None and intent.quantity.value == Decimal(2)
    assert intent.remaining == Decimal(2)
    assert intent.window.start == datetime(2026, 12, 1, tzinfo=UTC)
    shown = intent.to_dict()
    assert shown["resource_conforms_to"] == "http://www.wikidata.org/entity/Q11442"
    assert shown["quantity"] == {"value": 2, "unit": "one"}


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("transfer", "transfer"),
        ("deliverService", "deliver-service"),
        ("deliver-service", "deliver-service"),
        ("https://w3id.org/valueflows/ont/vf#transferCustody", "transfer-custody"),
        ("http://w3id.org/valueflows/ont/vf#use", "use"),
        ("https://w3id.org/valueflows#work", "work"),
        ("vf:transfer-all-rights", "transfer-all-rights"),
    ],
)
def test_actions_in_every_spelling(spelling: str, expected: str) -> None:
    assert parse_action(spelling) == expected


@pytest.mark.parametrize(
    ("spelling", "key"),
    [
        ("Q11442", "wd:Q11442"),
        ("https://www.wikidata.org/wiki/Q11442", "wd:Q11442"),
        ("http://www.wikidata.org/entity/Q11442", "wd:Q11442"),
        ("https://m.wikidata.org/wiki/Q11442", "wd:Q11442"),
        ("https://example.org/types/seed", "https://example.org/types/seed"),
        ("  Tomato   Seeds ", "label:tomato seeds"),
    ],
)
def test_resource_types(spelling: str, key: str) -> None:
    assert parse_resource_type(spelling).key == key


def test_units_by_name_compact_and_full_iri() -> None:
    for spelling in (
        "kilogram",
        "om2:kilogram",
        "http://www.ontology-of-units-of-measure.org/resource/om-2/kilogram",
    ):
        assert parse_unit(spelling).name == "kilogram"
    grams = parse_quantity({"value": "1500", "unit": "gram"})
    assert grams.to(parse_unit("kilogram")).value == Decimal("1.5")


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"action": "steal"}, "action", "unknown action"),
        ({"quantity": {"value": -1, "unit": "one"}}, "quantity.value", "greater than 0"),
        ({"quantity": {"value": 0, "unit": "one"}}, "quantity.value", "greater than 0"),
        ({"quantity": {"value": "lots", "unit": "one"}}, "quantity.value", "a number"),
        ({"quantity": {"value": 2, "unit": "furlong"}}, "quantity.unit", "unknown unit"),
        ({"available_until": "2026-11-01T00:00:00Z"}, "available_until", "after"),
        ({"available_from": "2026-12-01"}, "available_from", "UTC offset"),
        ({"purpose": "gift"}, "purpose", "offer or request"),
        ({"resource_conforms_to": "https://www.wikidata.org/wiki/P31"}, "resource_conforms_to",
         "not a Wikidata item"),
        ({"colour": "blue"}, "colour", "unknown field"),
        ({"place": {"lat": 95, "lon": 0}}, "lat", "lat"),
        ({"reciprocal": {"action": "pay"}}, "reciprocal.action", "unknown action"),
    ],
)  # fmt: skip
def test_bad_input_names_its_field(change: dict, field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        intent_from_dict({**BIKES, **change}, group=GARDEN)
    assert caught.value.field == field
    assert words in caught.value.message


def test_a_name_comes_from_a_free_classification_when_missing() -> None:
    data = {"purpose": "request", "action": "use", "resource_conforms_to": "Ladder"}
    assert intent_from_dict(data, group=GARDEN).name == "Ladder"
    with pytest.raises(InvalidInput, match="name is required"):
        intent_from_dict({"purpose": "request", "action": "use"}, group=GARDEN)


def test_lifecycles_are_declared_graphs() -> None:
    INTENT.check("pending", "open")
    INTENT.check("open", "agreed")
    INTENT.check("agreed", "fulfilled")
    for bad in (("fulfilled", "open"), ("pending", "agreed"), ("withdrawn", "open")):
        with pytest.raises(IllegalTransition):
            INTENT.check(*bad)
    AGREEMENT.check("offered", "accepted")
    with pytest.raises(IllegalTransition):
        AGREEMENT.check("rejected", "accepted")


def test_only_an_accepted_agreement_can_be_cancelled() -> None:
    """Called off before it is carried out; a fulfilled one is history, an offered
    one is rejected or withdrawn instead, and an agreed intent may open again."""
    AGREEMENT.check("accepted", "cancelled")
    assert AGREEMENT.is_terminal("cancelled")
    for state in ("offered", "fulfilled", "rejected", "withdrawn", "cancelled"):
        assert not AGREEMENT.allows(state, "cancelled"), state
    with pytest.raises(IllegalTransition, match="from fulfilled to cancelled"):
        AGREEMENT.check("fulfilled", "cancelled")
    INTENT.check("agreed", "open")
    with pytest.raises(IllegalTransition):
        INTENT.check("fulfilled", "open")


def test_terms_partial_agreements_and_what_is_left() -> None:
    offer = intent_from_dict(
        {**BIKES, "quantity": {"value": 5, "unit": "kilogram"}, "action": "transfer"},
        group=GARDEN,
    )
    terms = terms_for(offer, ORCHARD, parse_quantity({"value": 2000, "unit": "gram"}))
    assert (terms.provider, terms.receiver) == (GARDEN, ORCHARD)
    assert terms.quantity is not None and terms.quantity.value == Decimal(2)  # in kilograms
    left, state = commit(offer, terms.quantity)
    assert (left, state) == (Decimal(3), "open")
    from dataclasses import replace

    rest = replace(offer, remaining=left)
    with pytest.raises(Conflict, match="only 3 kilogram left"):
        terms_for(rest, ORCHARD, parse_quantity({"value": 4, "unit": "kilogram"}))
    all_of_it = terms_for(rest, ORCHARD, None)
    assert commit(rest, all_of_it.quantity) == (Decimal(0), "agreed")
    assert release(replace(rest, remaining=Decimal(0)), all_of_it.quantity) == (Decimal(3), "open")
    # Given back, what is left never exceeds what was offered.
    assert release(replace(rest, remaining=Decimal(4)), all_of_it.quantity) == (Decimal(5), "open")
    with pytest.raises(InvalidInput, match="cannot express"):
        terms_for(offer, ORCHARD, parse_quantity({"value": 1, "unit": "litre"}))
    with pytest.raises(InvalidInput, match="its own intent"):
        terms_for(offer, GARDEN, None)
    need = intent_from_dict({**BIKES, "purpose": "request"}, group=GARDEN)
    assert terms_for(need, ORCHARD, None).provider == ORCHARD


def test_stocks_move_only_for_actions_that_move_a_resource() -> None:
    offer = intent_from_dict(BIKES, group=GARDEN)
    terms = terms_for(offer, ORCHARD, parse_quantity({"value": 1, "unit": "one"}))
    assert offer.resource is not None
    held = InventoryItem(offer.resource, "bicycles", parse_quantity({"value": 3, "unit": "one"}))
    given = stock_after(held, terms, "bicycles", giving=True)
    assert given is not None and given.quantity.value == Decimal(2)
    received = stock_after(None, terms, "bicycles", giving=False)
    assert received is not None and received.quantity.value == Decimal(1)
    assert stock_after(None, terms, "bicycles", giving=True) is None  # none recorded
    lent = terms_for(intent_from_dict({**BIKES, "action": "use"}, group=GARDEN), ORCHARD, None)
    assert stock_after(held, lent, "bicycles", giving=True) is None

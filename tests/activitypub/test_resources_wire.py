"""FEP-0837 documents: ours round-trip through our reader, and the reader is
tolerant of the vocabularies in use (FEP-0837 context, older ValueFlows and
Bonfire namespaces, OM2 IRIs, Wikidata /wiki/ and /entity/) yet refuses a
malformed Proposal whole, naming what is wrong."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from imago_fed.activitypub import resources as wire
from imago_fed.activitypub.ids import Ids
from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.ports.resources import StoredAgreement, StoredIntent
from imago_fed.domain.resources.agreements import terms_for
from imago_fed.domain.resources.intents import intent_from_dict

IDS = Ids("https://a.example")
ALICE = "https://market.example/users/alice"
FEP_EXAMPLE = {
    "@context": [
        "https://www.w3.org/ns/activitystreams",
        {
            "om2": "http://www.ontology-of-units-of-measure.org/resource/om-2/",
            "vf": "https://w3id.org/valueflows/ont/vf#",
            "Proposal": "vf:Proposal",
            "Intent": "vf:Intent",
            "action": "vf:action",
            "purpose": "vf:purpose",
            "unitBased": "vf:unitBased",
            "publishes": "vf:publishes",
            "reciprocal": "vf:reciprocal",
            "resourceConformsTo": "vf:resourceConformsTo",
            "resourceQuantity": "vf:resourceQuantity",
            "availableQuantity": "vf:availableQuantity",
            "hasUnit": "om2:hasUnit",
            "hasNumericalValue": "om2:hasNumericalValue",
        },
    ],
    "type": "Proposal",
    "id": "https://market.example/proposals/ddde9d6f",
    "purpose": "offer",
    "attributedTo": ALICE,
    "name": "Offering used bike",
    "content": "Blue one-speed bike, <b>15 years old</b>",
    "location": {"type": "Place", "longitude": 2.35, "latitude": 48.85},
    "publishes": {
        "type": "Intent",
        "id": "https://market.example/proposals/ddde9d6f#primary",
        "action": "transfer",
        "resourceConformsTo": "https://www.wikidata.org/wiki/Q11442",
        "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "1"},
        "availableQuantity": {"hasUnit": "one", "hasNumericalValue": "1"},
    },
    "reciprocal": {
        "type": "Intent",
        "id": "https://market.example/proposals/ddde9d6f#reciprocal",
        "action": "transfer",
        "resourceConformsTo": "https://www.wikidata.org/wiki/Q4917",
        "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "30"},
    },
    "unitBased": False,
    "to": "https://www.w3.org/ns/activitystreams#Public",
}


def test_the_fep_example_is_read() -> None:
    intent, primary = wire.parse_proposal(FEP_EXAMPLE, ALICE)
    assert primary == "https://market.example/proposals/ddde9d6f#primary"
    assert (intent.purpose, intent.action, intent.group) == ("offer", "transfer", ALICE)
    assert intent.resource is not None and intent.resource.key == "wd:Q11442"
    assert intent.quantity is not None and intent.quantity.value == Decimal(1)
    assert intent.place is not None and intent.place.lat == 48.85
    assert intent.note == "Blue one-speed bike,  15 years old"
    assert intent.reciprocal is not None and intent.reciprocal.quantity is not None
    assert intent.reciprocal.quantity.value == Decimal(30)


def test_older_namespaces_iris_and_no_context_for_the_terms() -> None:
    bonfire = {
        "@context": ["https://www.w3.org/ns/activitystreams",
                     {"ValueFlows": "https://w3id.org/valueflows#"}],
        "id": "https://bonfire.example/pub/objects/01H",
        "type": "ValueFlows:Proposal",
        "attributedTo": ALICE,
        "name": "Flour",
        "ValueFlows:purpose": "request",
        "ValueFlows:publishes": {
            "type": "ValueFlows:Intent",
            "ValueFlows:action": "https://w3id.org/valueflows#transfer",
            "ValueFlows:resourceConformsTo": {"id": "http://www.wikidata.org/entity/Q36465"},
            "ValueFlows:resourceQuantity": {
                "http://www.ontology-of-units-of-measure.org/resource/om-2/hasUnit":
                    "http://www.ontology-of-units-of-measure.org/resource/om-2/kilogram",
                "http://www.ontology-of-units-of-measure.org/resource/om-2/hasNumericalValue": 12.5,
            },
        },
    }  # fmt: skip
    intent, primary = wire.parse_proposal(bonfire, ALICE)
    assert intent.purpose == "request" and intent.resource.key == "wd:Q36465"  # type: ignore[union-attr]
    assert intent.quantity.unit.name == "kilogram"  # type: ignore[union-attr]
    assert intent.quantity.value == Decimal("12.5")  # type: ignore[union-attr]
    assert primary == bonfire["id"] + "#primary"  # a blank intent node gets the FEP fragment

    old_vf = {
        "@context": ["https://www.w3.org/ns/activitystreams",
                     {"vf": "http://w3id.org/valueflows/ont/vf#"}],
        "id": "https://old.example/p/1", "type": "vf:Proposal", "attributedTo": ALICE,
        "vf:purpose": "offer",
        "vf:publishes": {"id": "https://old.example/p/1#i", "type": "vf:Intent",
                         "vf:action": "deliverService", "vf:resourceClassifiedAs": "Bike repair"},
    }  # fmt: skip
    intent, _ = wire.parse_proposal(old_vf, ALICE)
    assert intent.action == "deliver-service" and intent.name == "Bike repair"

    bare = {"@context": "https://www.w3.org/ns/activitystreams", "id": "https://x.example/p",
            "type": "Proposal", "attributedTo": ALICE, "purpose": "offer",
            "publishes": {"type": "Intent", "action": "transfer",
                          "resourceConformsTo": "Q11442"}}  # fmt: skip
    intent, _ = wire.parse_proposal(bare, ALICE)
    assert intent.name == "Q11442" and intent.quantity is None


def _broken(path: list[str], value: object) -> dict:
    document = copy.deepcopy(FEP_EXAMPLE)
    target = document
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (_broken(["publishes"], None), "publishes no Intent"),
        (_broken(["publishes", "action"], "steal"), "unknown action"),
        (_broken(["publishes", "resourceQuantity", "hasNumericalValue"], "-3"), "greater than 0"),
        (_broken(["publishes", "resourceQuantity", "hasUnit"], "furlong"), "unknown unit"),
        (_broken(["purpose"], "gift"), "offer or request"),
        (_broken(["attributedTo"], "https://evil.example/u/mallory"), "another actor"),
        (_broken(["@context"], ["https://evil.example/context.jsonld"]), "JSON-LD"),
    ],
)
def test_a_malformed_proposal_is_refused_naming_why(document: dict, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        wire.parse_proposal(document, ALICE)
    assert words in caught.value.message


def test_ours_round_trip_and_agreements_are_fep_shaped() -> None:
    group = IDS.group("garden")
    data = {"purpose": "offer", "action": "transfer", "resource_conforms_to": "Q11442",
            "name": "Bikes", "quantity": {"value": 3, "unit": "one"},
            "available_from": "2026-12-01T00:00:00Z", "place": {"lat": 1, "lon": 2},
            "reciprocal": {"action": "work", "quantity": {"value": 2, "unit": "hour"}}}  # fmt: skip
    intent = intent_from_dict(data, group=group)
    ap_id = f"{group}/intents/7"
    intent = intent.__class__(**{**intent.__dict__, "id": 7, "ap_id": ap_id})
    stored = StoredIntent(
        intent, 1, ap_id + "#primary", updated_at=datetime(2026, 12, 6, tzinfo=UTC)
    )
    document = wire.proposal(IDS, "garden", stored)
    assert document["publishes"]["provider"] == group
    back, primary = wire.parse_proposal(document, group)
    assert primary == ap_id + "#primary"
    assert back.resource == intent.resource and back.quantity == intent.quantity
    assert back.window == intent.window and back.reciprocal == intent.reciprocal
    assert back.place is not None and (back.place.lat, back.place.lon) == (1, 2)

    peer = "https://b.example/groups/workshop"
    terms = terms_for(intent, peer, None)
    row = StoredAgreement(3, 1, "https://b.example/activities/o1", 7, "owner", peer, terms,
                          "accepted", agreement_iri=f"{group}/agreements/3")  # fmt: skip
    accept = wire.accept_agreement(IDS, "garden", row, stored)
    assert accept["object"] == row.offer_id and accept["to"] == [peer]
    result = accept["result"]
    assert result["id"] == row.agreement_iri
    assert result["stipulates"]["satisfies"] == ap_id + "#primary"
    assert result["stipulates"]["resourceQuantity"] == {"hasUnit": "one", "hasNumericalValue": "3"}
    assert result["stipulatesReciprocal"]["satisfies"] == ap_id + "#reciprocal"
    offer = wire.offer_agreement(IDS, "garden", row, stored)
    satisfies, quantity = wire.parse_commitment(offer["object"])
    assert satisfies == ap_id + "#primary" and quantity == terms.quantity
    receipt = wire.confirmation(IDS, "garden", row, datetime(2026, 12, 6, tzinfo=UTC))
    assert receipt["object"]["context"] == row.agreement_iri
    assert document["type"] == ["Proposal", "Note"]  # Mastodon and Fedify read a Note
    assert "3 x Bikes" in document["content"]
    assert document["tag"][0]["href"] == "http://www.wikidata.org/entity/Q11442"
    assert accept["result"]["type"] == ["Agreement", "Object"]

    # Called off: the owner undoes its Accept, the answerer its Offer; both name the Offer.
    undo = wire.cancel_agreement(IDS, "garden", row)
    assert undo["type"] == "Undo" and undo["actor"] == group and undo["to"] == [peer]
    assert undo["object"] == {"id": accept["id"], "type": "Accept", "actor": group,
                              "object": row.offer_id, "result": row.agreement_iri}  # fmt: skip
    assert undo["id"] == wire.cancel_agreement(IDS, "garden", row)["id"]  # one per agreement
    theirs = StoredAgreement(4, 1, row.offer_id, 7, "answerer", peer, terms, "accepted")
    undone = wire.cancel_agreement(IDS, "garden", theirs)
    assert undone["object"] == {"id": row.offer_id, "type": "Offer", "actor": group}

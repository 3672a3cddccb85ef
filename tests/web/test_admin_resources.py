"""Resources through the admin API on a real database, two groups of one
instance: publish under the group's rules, match, agree, fulfil, stocks move.
Bad input answers 4xx naming the field; the Proposal is served to the fediverse."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from quart.typing import TestClientProtocol as Client

from imago_fed.app import create_app
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.protocols import Doocracy
from imago_fed.domain.governance.table import default_table
from imago_fed.web.runtime import EXTENSION_KEY, Runtime
from tests.conftest import TEST_ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}
AP = {"Accept": "application/activity+json"}
BIKES = {
    "purpose": "offer",
    "action": "transfer",
    "resource_conforms_to": "http://www.wikidata.org/entity/Q11442",
    "name": "Bicycles",
    "quantity": {"value": 3, "unit": "one"},
    "available_from": "2026-01-01T00:00:00Z",
    "available_until": "2099-01-01T00:00:00Z",
    "place": {"lat": 48.85, "lon": 2.35, "label": "Paris"},
}
NEED = {
    **BIKES,
    "purpose": "request",
    "resource_conforms_to": "https://www.wikidata.org/wiki/Q11442",
    "name": "Bikes for the repair workshop",
    "quantity": {"value": 2, "unit": "one"},
    "place": {"lat": 48.86, "lon": 2.36},
}


@pytest.fixture
async def world(migrated_db: str, make_settings) -> AsyncIterator[tuple[Client, Runtime]]:
    settings = make_settings(migrated_db, IMAGO_FEDERATION_WORKERS_IN_SERVE="false")
    app = create_app(settings, migrated_db)
    async with app.test_app() as test_app:
        rt: Runtime = app.extensions[EXTENSION_KEY]
        for slug in ("garden", "workshop", "slow"):
            await rt.groups.create(slug, slug.title())
        yield test_app.test_client(), rt


async def do_at_once(rt: Runtime, slug: str) -> None:
    """Put publish_offer and spend under a do-ocracy (a test shortcut past amend_table)."""
    group = await rt.groups.get(slug)
    assert group.id is not None
    table = default_table().amended(
        {ActionKind.PUBLISH_OFFER: Doocracy(), ActionKind.SPEND: Doocracy()}
    )
    await rt.governance_store.save_table(group.id, table, rt.clock.now())


async def call(client: Client, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    response = await client.open(f"/api/v1{path}", method=method, json=body, headers=AUTH)
    return response.status_code, await response.get_json()


async def test_offer_and_need_matched_agreed_fulfilled(world: tuple[Client, Runtime]) -> None:
    client, rt = world
    await do_at_once(rt, "garden")
    await do_at_once(rt, "workshop")
    await call(client, "PUT", "/groups/garden/inventory",
               {"resource_conforms_to": "Q11442", "name": "bicycles",
                "quantity": {"value": 5, "unit": "one"}})  # fmt: skip

    status, offer = await call(client, "POST", "/groups/garden/intents", BIKES)
    assert status == 201, offer
    assert offer["state"] == "open" and offer["decision"]["action"] == "publish_offer"
    assert offer["ap_id"] == f"https://groups.test/groups/garden/intents/{offer['id']}"
    status, need = await call(client, "POST", "/groups/workshop/intents", NEED)
    assert status == 201 and need["state"] == "open"

    # Suggested to both sides, with the same score and reasons.
    status, found = await call(client, "GET", f"/intents/{need['id']}/matches")
    assert status == 200
    [match] = found["items"]
    assert match["intent"]["id"] == offer["id"] and match["group"].endswith("/garden")
    assert "same resource type (bicycle (Q11442))" in match["why"]
    _, back = await call(client, "GET", f"/intents/{offer['id']}/matches")
    assert back["items"][0]["intent"]["id"] == need["id"]
    assert back["items"][0]["score"] == match["score"]
    _, by_group = await call(client, "GET", "/groups/workshop/matches")
    assert by_group["items"][0]["matches"][0]["intent"]["id"] == offer["id"]

    # The workshop answers for 2 of the 3 bicycles (a spend decision, done at once).
    two = {"intent_id": offer["id"], "quantity": {"value": 2, "unit": "one"}}
    status, decided = await call(client, "POST", "/groups/workshop/agreements", two)
    assert status == 202 and decided["action"] == "spend", decided
    assert decided["state"] == "executed", decided
    _, offered = await call(client, "GET", "/groups/garden/agreements?state=offered")
    [incoming] = offered["items"]
    assert incoming["role"] == "owner" and incoming["other"].endswith("/workshop")
    assert incoming["provider"].endswith("/garden") and incoming["receiver"].endswith("/workshop")

    path = f"/groups/garden/agreements/{incoming['id']}"
    status, accepted = await call(client, "POST", path + "/accept", {})
    assert status == 202 and accepted["state"] == "executed", accepted
    _, after = await call(client, "GET", f"/intents/{offer['id']}")
    assert after["state"] == "open" and after["remaining"] == {"value": 1, "unit": "one"}
    _, theirs = await call(client, "GET", "/groups/workshop/agreements")
    assert theirs["items"][0]["state"] == "accepted"
    finalised = theirs["items"][0]["agreement_id"]
    assert finalised.startswith("https://groups.test/groups/garden/agreements/")

    their_path = f"/groups/workshop/agreements/{theirs['items'][0]['id']}"
    status, done = await call(client, "POST", their_path + "/fulfil")
    assert status == 200 and done["state"] == "fulfilled"
    _, mine = await call(client, "GET", path)
    assert mine["state"] == "fulfilled"
    _, stock = await call(client, "GET", "/groups/garden/inventory")
    [bicycles] = stock["items"]
    assert bicycles["resource_conforms_to"] == "http://www.wikidata.org/entity/Q11442"
    assert bicycles["quantity"] == {"value": 3, "unit": "one"}
    _, received = await call(client, "GET", "/groups/workshop/inventory")
    assert received["items"][0]["quantity"] == {"value": 2, "unit": "one"}

    # The last bicycle: the whole offer is agreed, then fulfilled.
    await call(client, "POST", "/groups/workshop/agreements", {"intent": offer["ap_id"]})
    _, offered = await call(client, "GET", "/groups/garden/agreements?state=offered")
    await call(client, "POST", f"/groups/garden/agreements/{offered['items'][0]['id']}/accept", {})
    _, after = await call(client, "GET", f"/intents/{offer['id']}")
    assert after["state"] == "agreed"
    await call(client, "POST", f"/groups/garden/agreements/{offered['items'][0]['id']}/fulfil")
    _, after = await call(client, "GET", f"/intents/{offer['id']}")
    assert after["state"] == "fulfilled"
    late = {"intent_id": offer["id"]}
    status, refused = await call(client, "POST", "/groups/workshop/agreements", late)
    assert status == 409 and "fulfilled, not open" in refused["error"]["message"]

    # The fediverse reads the Proposal.
    response = await client.get(f"/groups/garden/intents/{offer['id']}", headers=AP)
    document = await response.get_json()
    assert document["type"] == ["Proposal", "Note"] and document["purpose"] == "offer"
    assert document["publishes"]["id"] == offer["ap_id"] + "#primary"
    assert document["publishes"]["resourceConformsTo"] == "http://www.wikidata.org/entity/Q11442"
    left = document["publishes"]["availableQuantity"]
    assert left == {"hasUnit": "one", "hasNumericalValue": "0"}
    assert "Bicycles" in document["content"]


async def test_an_intent_without_a_place_is_at_its_groups(world: tuple[Client, Runtime]) -> None:
    client, rt = world
    await do_at_once(rt, "garden")
    home = {"lat": 48.8567, "lon": 2.351, "label": "Paris", "wikidata": "Q90"}
    response = await client.patch("/api/v1/groups/garden", json={"place": home}, headers=AUTH)
    assert response.status_code == 200, await response.get_data()
    bare = {k: v for k, v in BIKES.items() if k != "place"}
    status, offer = await call(client, "POST", "/groups/garden/intents", bare)
    assert status == 201
    assert offer["place"] == home
    status, own = await call(client, "POST", "/groups/garden/intents", BIKES)
    assert own["place"]["label"] == "Paris" and own["place"]["lat"] == 48.85
    assert own["place"]["wikidata"] is None


async def test_an_intents_place_keeps_its_wikidata_item(world: tuple[Client, Runtime]) -> None:
    """API -> store -> API, and the Proposal's location: the item is kept all the way."""
    client, rt = world
    await do_at_once(rt, "garden")
    guadeloupe = {"lat": 16.0351, "lon": -61.5468, "label": "Guadeloupe", "wikidata": "Q17012"}
    there = {**BIKES, "place": guadeloupe}
    status, offer = await call(client, "POST", "/groups/garden/intents", there)
    assert status == 201, offer
    assert offer["place"] == guadeloupe
    _, read = await call(client, "GET", f"/intents/{offer['id']}")
    assert read["place"] == guadeloupe
    _, listed = await call(client, "GET", "/groups/garden/intents")
    assert [i["place"] for i in listed["items"] if i["id"] == offer["id"]] == [guadeloupe]
    response = await client.get(f"/groups/garden/intents/{offer['id']}", headers=AP)
    location = (await response.get_json())["location"]
    assert location["id"] == "http://www.wikidata.org/entity/Q17012"
    assert (location["latitude"], location["longitude"], location["name"]) == (
        16.0351, -61.5468, "Guadeloupe")  # fmt: skip


async def test_publishing_waits_for_the_decision(world: tuple[Client, Runtime]) -> None:
    client, _ = world
    status, pending = await call(client, "POST", "/groups/slow/intents", BIKES)
    assert status == 201 and pending["state"] == "pending"
    assert pending["decision"]["protocol"]["protocol"] == "consensus"
    response = await client.get(f"/groups/slow/intents/{pending['id']}", headers=AP)
    assert response.status_code == 404  # not public before the decision
    status, withdrawn = await call(client, "DELETE", f"/groups/slow/intents/{pending['id']}")
    assert status == 200 and withdrawn["state"] == "withdrawn"
    assert (await call(client, "DELETE", f"/groups/slow/intents/{pending['id']}"))[0] == 409


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({**BIKES, "action": "steal"}, 422, "unknown action"),
        ({**BIKES, "quantity": {"value": -2, "unit": "one"}}, 422, "greater than 0"),
        ({**BIKES, "quantity": {"value": 2, "unit": "parsec"}}, 422, "unknown unit"),
        ({**BIKES, "available_until": "2025-01-01T00:00:00Z"}, 422, "after available_from"),
        ({**BIKES, "purpose": "gift"}, 422, "purpose"),
        ({k: v for k, v in BIKES.items() if k != "action"}, 422, "action: is required"),
        ({**BIKES, "weight": 3}, 422, "weight: unknown field"),
    ],
)
async def test_bad_input_is_refused_clearly(
    world: tuple[Client, Runtime], body: dict, status: int, words: str
) -> None:
    client, _ = world
    got, answer = await call(client, "POST", "/groups/garden/intents", body)
    assert got == status, answer
    assert words in answer["error"]["message"]
    _, listed = await call(client, "GET", "/groups/garden/intents")
    assert listed["items"] == []  # nothing half stored


async def test_unknown_things_are_404_and_states_are_checked(world: tuple[Client, Runtime]) -> None:
    client, _ = world
    assert (await call(client, "GET", "/intents/999"))[0] == 404
    assert (await call(client, "GET", "/intents/999/matches"))[0] == 404
    assert (await call(client, "GET", "/groups/nowhere/intents"))[0] == 404
    assert (await call(client, "GET", "/groups/garden/intents?state=lost"))[0] == 422
    assert (await call(client, "POST", "/groups/garden/agreements/5/fulfil"))[0] == 404
    assert (await call(client, "POST", "/groups/garden/agreements", {}))[0] == 422
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    for path in ("/api/v1/groups/{slug}/intents", "/api/v1/intents/{intent_id}/matches",
                 "/api/v1/groups/{slug}/agreements/{agreement_id}/fulfil",
                 "/api/v1/groups/{slug}/inventory"):  # fmt: skip
        assert path in document["paths"]


async def intent_notices(dsn: str, intent_id: int) -> list[dict[str, Any]]:
    """The ``intent_changed`` events the Matrix side edits the intent's notice from."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT payload FROM group_events WHERE kind = 'intent_changed' ORDER BY id"
        )
    finally:
        await conn.close()
    payloads = [json.loads(r["payload"]) for r in rows]
    return [p for p in payloads if p.get("intent_id") == intent_id]


async def test_either_side_cancels_an_accepted_agreement(
    world: tuple[Client, Runtime], migrated_db: str
) -> None:
    """Called off before it is carried out, by the answerer then by the owner: the
    intent gets its quantity back and opens again, stocks stay; a fulfilled one is
    refused with 409, an offered one too."""
    client, rt = world
    await do_at_once(rt, "garden")
    await do_at_once(rt, "workshop")
    stock = {"resource_conforms_to": "Q11442", "name": "bicycles",
             "quantity": {"value": 5, "unit": "one"}}  # fmt: skip
    await call(client, "PUT", "/groups/garden/inventory", stock)
    _, offer = await call(client, "POST", "/groups/garden/intents", BIKES)

    async def agree(quantity: int | None) -> tuple[int, int]:
        body: dict[str, Any] = {"intent_id": offer["id"]}
        if quantity is not None:
            body["quantity"] = {"value": quantity, "unit": "one"}
        await call(client, "POST", "/groups/workshop/agreements", body)
        _, offered = await call(client, "GET", "/groups/garden/agreements?state=offered")
        [owner] = offered["items"]
        path = f"/groups/garden/agreements/{owner['id']}/accept"
        status, _ = await call(client, "POST", path, {})
        assert status == 202
        _, theirs = await call(client, "GET", "/groups/workshop/agreements?state=accepted")
        [answerer] = theirs["items"]
        return owner["id"], answerer["id"]

    # An offered agreement is not cancelled (it is rejected instead).
    await call(client, "POST", "/groups/workshop/agreements", {"intent_id": offer["id"]})
    _, offered = await call(client, "GET", "/groups/garden/agreements?state=offered")
    waiting = offered["items"][0]["id"]
    status, refused = await call(client, "POST", f"/groups/garden/agreements/{waiting}/cancel")
    assert status == 409 and "offered" in refused["error"]["message"], refused
    assert (await call(client, "POST", f"/groups/garden/agreements/{waiting}/reject", {}))[0] == 200

    # The answering side calls off 2 of 3: both views cancelled, all 3 open again.
    owner, answerer = await agree(2)
    _, partly = await call(client, "GET", f"/intents/{offer['id']}")
    assert partly["remaining"] == {"value": 1, "unit": "one"}
    status, cancelled = await call(client, "POST", f"/groups/workshop/agreements/{answerer}/cancel")
    assert status == 200 and cancelled["state"] == "cancelled", cancelled
    _, mine = await call(client, "GET", f"/groups/garden/agreements/{owner}")
    assert mine["state"] == "cancelled"
    _, back = await call(client, "GET", f"/intents/{offer['id']}")
    assert back["state"] == "open" and back["remaining"] == {"value": 3, "unit": "one"}

    # The owner calls off the whole offer once agreed: open again, with all of it.
    owner, answerer = await agree(None)
    assert (await call(client, "GET", f"/intents/{offer['id']}"))[1]["state"] == "agreed"
    status, cancelled = await call(client, "POST", f"/groups/garden/agreements/{owner}/cancel", {})
    assert status == 200 and cancelled["state"] == "cancelled"
    _, theirs = await call(client, "GET", f"/groups/workshop/agreements/{answerer}")
    assert theirs["state"] == "cancelled"
    _, back = await call(client, "GET", f"/intents/{offer['id']}")
    assert back["state"] == "open" and back["remaining"] == {"value": 3, "unit": "one"}
    # The chat side heard each change of the intent (its notice is edited in place).
    states = [(n["state"], n["remaining"]) for n in await intent_notices(migrated_db, offer["id"])]
    assert states[-2:] == [("agreed", "0 one"), ("open", "3 one")], states
    _, held = await call(client, "GET", "/groups/garden/inventory")
    assert held["items"][0]["quantity"] == {"value": 5, "unit": "one"}  # stocks untouched
    _, none = await call(client, "GET", "/groups/workshop/inventory")
    assert none["items"] == []

    # Carried out, it is history: cancelling is refused on both sides.
    owner, answerer = await agree(None)
    await call(client, "POST", f"/groups/garden/agreements/{owner}/fulfil")
    for slug, number in (("garden", owner), ("workshop", answerer)):
        status, refused = await call(client, "POST", f"/groups/{slug}/agreements/{number}/cancel")
        assert status == 409 and "fulfilled" in refused["error"]["message"], refused
    assert (await call(client, "POST", "/groups/garden/agreements/999/cancel"))[0] == 404
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    assert "/api/v1/groups/{slug}/agreements/{agreement_id}/cancel" in document["paths"]

"""Resources across two real instances and a real Fedify peer.

    alice (Fedify) ── follows ──> a:garden <── follows ── b:workshop
    garden offers 3 bicycles: Create(Proposal, also a Note) ──> alice, workshop
    workshop needs 2: matched with garden's offer (a remote intent on b)
    workshop ── Offer(Agreement) ──> garden ── Accept{result: Agreement} ──> workshop
    workshop fulfils ── receipt (context: the agreement) ──> garden; stocks move on both
    alice ── Create(Proposal) in the FEP-0837 shape and in an older ValueFlows
             namespace ──> garden: stored, matched with garden's need
    alice ── a malformed Proposal ──> refused (ignored, with why), nothing stored
    mallory (follows nobody, followed by nobody) ── a Proposal, an Offer(Agreement) ──> ignored
    alice ── Offer(Agreement) on garden's offer ──> garden accepts ──> alice gets Accept

Every hop is a signed HTTP request verified by the receiving server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg

from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.protocols import Doocracy
from imago_fed.domain.governance.table import default_table
from tests.interop.fedify_peer import FedifyPeer
from tests.interop.instance import Instance, running_instance

FEP_TERMS = {
    "om2": "http://www.ontology-of-units-of-measure.org/resource/om-2/",
    "vf": "https://w3id.org/valueflows/ont/vf#",
    "Proposal": "vf:Proposal",
    "Intent": "vf:Intent",
    "Agreement": "vf:Agreement",
    "Commitment": "vf:Commitment",
    "action": "vf:action",
    "purpose": "vf:purpose",
    "publishes": "vf:publishes",
    "stipulates": "vf:stipulates",
    "satisfies": "vf:satisfies",
    "resourceConformsTo": "vf:resourceConformsTo",
    "resourceQuantity": "vf:resourceQuantity",
    "hasUnit": "om2:hasUnit",
    "hasNumericalValue": "om2:hasNumericalValue",
}
AS2 = "https://www.w3.org/ns/activitystreams"
BIKES = {
    "purpose": "offer",
    "action": "transfer",
    "resource_conforms_to": "http://www.wikidata.org/entity/Q11442",
    "name": "Bicycles",
    "quantity": {"value": 3, "unit": "one"},
    "place": {"lat": 48.85, "lon": 2.35, "label": "Paris"},
}


async def do_at_once(instance: Instance, slug: str) -> None:
    """publish_offer and spend under a do-ocracy (a test shortcut past amend_table)."""
    table = default_table().amended(
        {ActionKind.PUBLISH_OFFER: Doocracy(), ActionKind.SPEND: Doocracy()}
    )
    conn = await asyncpg.connect(instance.dsn)
    try:
        await conn.execute(
            "INSERT INTO control_tables (group_id, rules, updated_at) "
            "SELECT id, $1::jsonb, now() FROM groups WHERE slug = $2",
            json.dumps(table.to_dict()), slug,
        )  # fmt: skip
    finally:
        await conn.close()


async def get(instance: Instance, path: str, **params: str) -> Any:
    response = await instance.api("GET", path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def post(instance: Instance, path: str, body: Any, status: int) -> Any:
    response = await instance.api("POST", path, json=body)
    assert response.status_code == status, response.text
    return response.json()


async def follow(follower: Instance, slug: str, target: str) -> None:
    await post(follower, f"/groups/{slug}/following", {"actor": target}, 202)

    async def accepted() -> bool:
        items = (await get(follower, f"/groups/{slug}/following"))["items"]
        return any(i["state"] == "accepted" for i in items)

    await follower.wait_for(accepted, what=f"{slug}'s follow accepted")


async def remote_intent(instance: Instance, ap_id: str) -> dict[str, Any] | None:
    for item in (await get(instance, "/intents"))["items"]:
        if item["ap_id"] == ap_id:
            return item
    return None


async def agreements(instance: Instance, slug: str, state: str) -> list[dict[str, Any]]:
    return (await get(instance, f"/groups/{slug}/agreements", state=state))["items"]


async def stock(instance: Instance, slug: str) -> dict[str, Any]:
    items = (await get(instance, f"/groups/{slug}/inventory"))["items"]
    return {i["resource_conforms_to"]: i["quantity"]["value"] for i in items}


async def test_resources_across_two_instances_and_fedify(tmp_path: Path, pg_admin_dsn: str) -> None:
    async with (
        running_instance("a", tmp_path, pg_admin_dsn) as a,
        running_instance("b", tmp_path, pg_admin_dsn) as b,
    ):
        with FedifyPeer("alice") as alice, FedifyPeer("mallory") as mallory:
            await a.create_group("garden")
            await b.create_group("workshop")
            await do_at_once(a, "garden")
            await do_at_once(b, "workshop")
            garden, workshop = a.actor("garden"), b.actor("workshop")
            await alice.afollow(garden)
            await alice.await_for_type("Accept", timeout=30)
            await follow(b, "workshop", f"@garden@{a.domain}")
            await a.api("PUT", "/groups/garden/inventory", json={
                "resource_conforms_to": "Q11442", "name": "bicycles",
                "quantity": {"value": 5, "unit": "one"}})  # fmt: skip

            # garden offers: followers get the Proposal (FEP-0837, typed a Note too).
            offer = await post(a, "/groups/garden/intents", BIKES, 201)
            assert offer["state"] == "open"
            created = await alice.await_for(
                lambda r: (
                    r["type"] == "Create"
                    and (r["activity"] or {}).get("object", {}).get("id") == offer["ap_id"]
                ),
                timeout=30,
            )
            proposal = created["activity"]["object"]
            assert created["http_signature"]["verified"] is True
            assert proposal["id"] == offer["ap_id"] and proposal["purpose"] == "offer"
            assert proposal["publishes"]["action"] == "transfer"
            assert proposal["publishes"]["resourceQuantity"] == {
                "hasUnit": "one", "hasNumericalValue": "3"}  # fmt: skip
            assert proposal["type"] == ["Proposal", "Note"]  # Fedify reads it as a Note
            assert "Bicycles" in proposal["content"]
            assert not await alice.arejected()  # Fedify accepted every delivery

            # b learnt the offer; workshop's need is matched with it.
            theirs = await b.wait_for(
                lambda: remote_intent(b, offer["ap_id"]), what="b stored garden's offer"
            )
            assert theirs["local"] is False and theirs["group"] == garden
            need = await post(b, "/groups/workshop/intents", {
                **BIKES, "purpose": "request", "name": "Bikes for repairs",
                "quantity": {"value": 2, "unit": "one"}, "place": {"lat": 48.86, "lon": 2.36}},
                201)  # fmt: skip
            found = await get(b, f"/intents/{need['id']}/matches")
            assert [m["intent"]["ap_id"] for m in found["items"]] == [offer["ap_id"]]
            assert found["items"][0]["parts"]["quantity"] == round(2 / 3, 4)

            # workshop answers for 2: Offer(Agreement) to garden, accepted there.
            answer = {"intent": offer["ap_id"], "quantity": {"value": 2, "unit": "one"}}
            decided = await post(b, "/groups/workshop/agreements", answer, 202)
            assert decided["state"] == "executed", decided
            [incoming] = await a.wait_for(
                lambda: agreements(a, "garden", "offered"), what="garden got the Offer"
            )
            assert incoming["other"] == workshop and incoming["receiver"] == workshop
            await post(a, f"/groups/garden/agreements/{incoming['id']}/accept", {}, 202)
            [ours] = await b.wait_for(
                lambda: agreements(b, "workshop", "accepted"), what="workshop saw the Accept"
            )
            assert ours["agreement_id"] == f"{garden}/agreements/{incoming['id']}"
            left = (await get(a, f"/intents/{offer['id']}"))["remaining"]
            assert left == {"value": 1, "unit": "one"}

            # Carried out: workshop confirms, both sides fulfilled, stocks move.
            await post(b, f"/groups/workshop/agreements/{ours['id']}/fulfil", None, 200)
            await a.wait_for(
                lambda: agreements(a, "garden", "fulfilled"), what="garden got the receipt"
            )
            assert await stock(a, "garden") == {"http://www.wikidata.org/entity/Q11442": 3}
            assert await stock(b, "workshop") == {"http://www.wikidata.org/entity/Q11442": 2}

            # alice publishes in the FEP-0837 shape and in an older ValueFlows namespace.
            ladder_need = await post(a, "/groups/garden/intents", {
                "purpose": "request", "action": "use", "resource_conforms_to": "Q190",
                "name": "A ladder"}, 201)  # fmt: skip
            fep = {
                "@context": [AS2, FEP_TERMS], "type": "Create", "to": [garden],
                "object": {
                    "id": alice.actor_url + "/proposals/ladder", "type": "Proposal",
                    "attributedTo": alice.actor_url, "purpose": "offer", "name": "Ladder",
                    "publishes": {
                        "id": alice.actor_url + "/proposals/ladder#primary", "type": "Intent",
                        "action": "use",
                        "resourceConformsTo": "https://www.wikidata.org/wiki/Q190",
                        "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "1"},
                    },
                    "to": [garden],
                },
            }  # fmt: skip
            sent = await alice.asend_raw(garden, fep)
            assert sent["status"] == 202, sent
            old = {
                "@context": [AS2, {"vf": "http://w3id.org/valueflows/ont/vf#",
                                   "om2": "http://www.ontology-of-units-of-measure.org/resource/om-2/"}],
                "type": "Create", "to": [garden],
                "object": {
                    "id": alice.actor_url + "/proposals/flour", "type": "vf:Proposal",
                    "attributedTo": alice.actor_url, "vf:purpose": "request", "name": "Flour",
                    "vf:publishes": {
                        "type": "vf:Intent", "vf:action": "vf:transfer",
                        "vf:resourceConformsTo": "http://www.wikidata.org/entity/Q36465",
                        "vf:resourceQuantity": {"om2:hasUnit": "om2:kilogram",
                                                "om2:hasNumericalValue": 12.5},
                    },
                },
            }  # fmt: skip
            assert (await alice.asend_raw(garden, old))["status"] == 202
            ladder = await a.wait_for(
                lambda: remote_intent(a, alice.actor_url + "/proposals/ladder"),
                what="garden stored alice's FEP-0837 offer",
            )
            assert ladder["resource_conforms_to"] == "http://www.wikidata.org/entity/Q190"
            flour = await a.wait_for(
                lambda: remote_intent(a, alice.actor_url + "/proposals/flour"),
                what="garden stored alice's older-namespace need",
            )
            assert flour["quantity"] == {"value": 12.5, "unit": "kilogram"}
            assert flour["purpose"] == "request"
            matched = await get(a, f"/intents/{ladder_need['id']}/matches")
            assert [m["intent"]["ap_id"] for m in matched["items"]] == [ladder["ap_id"]]

            # A malformed Proposal is refused whole, with the reason in the inbox log.
            bad = {
                "@context": [AS2, FEP_TERMS], "type": "Create", "to": [garden],
                "object": {"id": alice.actor_url + "/proposals/bad", "type": "Proposal",
                           "attributedTo": alice.actor_url, "purpose": "offer",
                           "publishes": {"type": "Intent", "action": "transfer",
                                         "resourceQuantity": {"hasUnit": "one",
                                                              "hasNumericalValue": "-4"}}},
            }  # fmt: skip
            refused = await alice.asend_raw(garden, bad)

            async def refused_logged() -> dict[str, Any] | None:
                for record in await a.received("garden"):
                    if record.get("activity", {}).get("id") == refused["id"]:
                        return record if record["state"] == "ignored" else None
                return None

            record = await a.wait_for(refused_logged, what="the bad Proposal was refused")
            assert "malformed proposal" in record["error"] and "greater than 0" in record["error"]
            assert await remote_intent(a, alice.actor_url + "/proposals/bad") is None

            # A stranger is not heard: neither a member of garden nor followed by it.
            stranger = json.loads(json.dumps(fep).replace(alice.actor_url, mallory.actor_url))
            strange = await mallory.asend_raw(garden, stranger)
            strange_offer = await mallory.asend_raw(garden, {
                "@context": [AS2, FEP_TERMS], "type": "Offer", "to": [garden],
                "object": {"type": "Agreement", "stipulates": {
                    "type": "Commitment", "satisfies": offer["ap_id"] + "#primary"}}})  # fmt: skip

            async def ignored(activity_id: str) -> dict[str, Any] | None:
                for record in await a.received("garden"):
                    if record.get("activity", {}).get("id") == activity_id:
                        return record if record["state"] == "ignored" else None
                return None

            seen = await a.wait_for(lambda: ignored(strange["id"]), what="stranger's Proposal")
            assert "no group of ours follows" in seen["error"]
            seen = await a.wait_for(lambda: ignored(strange_offer["id"]), what="stranger's Offer")
            assert "not a member" in seen["error"]
            assert await remote_intent(a, mallory.actor_url + "/proposals/ladder") is None

            # alice answers garden's offer for its last bicycle; garden accepts.
            agreement = {
                "@context": [AS2, FEP_TERMS], "type": "Offer", "to": [garden],
                "object": {"type": "Agreement", "stipulates": {
                    "type": "Commitment", "satisfies": offer["ap_id"] + "#primary",
                    "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "1"}}},
            }  # fmt: skip
            offered = await alice.asend_raw(garden, agreement)
            assert offered["status"] == 202

            async def alices() -> list[dict[str, Any]]:
                found = await agreements(a, "garden", "offered")
                return [r for r in found if r["other"] == alice.actor_url]

            [hers] = await a.wait_for(alices, what="garden got alice's Offer(Agreement)")
            taken = await post(a, f"/groups/garden/agreements/{hers['id']}/accept", {}, 202)
            assert "accepted" in taken["result"]["executed"], taken
            accept = await alice.await_for(
                lambda r: r["type"] == "Accept" and r["object_id"] == offered["id"], timeout=30
            )
            result = accept["activity"]["result"]
            assert result["type"] == ["Agreement", "Object"] and result["id"].startswith(garden)
            assert result["stipulates"]["satisfies"] == offer["ap_id"] + "#primary"
            assert (await get(a, f"/intents/{offer['id']}"))["state"] == "agreed"

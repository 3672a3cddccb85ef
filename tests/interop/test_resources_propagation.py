"""An offer propagated through the graph across two real instances.

    a:garden ◀─partner─▶ b:hub ◀─partner─▶ b:workshop      (nobody follows garden)

    garden offers 3 bicycles and propagates the offer (hop limit 2):
      a ── Announce{object: {id: <Proposal>, type: Proposal}, propagation} ──> hub
      b reads the Proposal from a (a signed GET), hub's feed rules take it at once:
        the offer is a known remote intent on b, matched with workshop's need;
        hub relays it to workshop (local), whose rules hold it until released
    workshop answers the offer: garden hears it (it propagated the offer)
    propagating it again: a duplicate for hub, nothing new stored
    alice (Fedify) ── an Announce claiming a Proposal she does not serve ──> hub:
      dropped whole (the inbox row says why), nothing stored

Every hop is a signed HTTP request verified by the receiving server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from tests.interop.fedify_peer import FedifyPeer
from tests.interop.instance import Instance, running_instance
from tests.interop.test_graph import items, relate
from tests.interop.test_resources import (
    BIKES,
    agreements,
    do_at_once,
    get,
    post,
    remote_intent,
)

AS2 = "https://www.w3.org/ns/activitystreams"


async def match_notices(instance: Instance, slug: str) -> list[dict[str, Any]]:
    """The match suggestions recorded for the group (the Matrix side shows them)."""
    conn = await asyncpg.connect(instance.dsn)
    try:
        rows = await conn.fetch(
            "SELECT e.payload::text AS payload FROM group_events e JOIN groups g"
            " ON g.id = e.group_id WHERE g.slug = $1 AND e.kind = 'match_suggested'",
            slug,
        )
    finally:
        await conn.close()
    return [dict(r) for r in rows]


async def test_an_offer_travels_the_graph_to_another_instance(
    tmp_path: Path, pg_admin_dsn: str
) -> None:
    async with (
        running_instance("a", tmp_path, pg_admin_dsn) as a,
        running_instance("b", tmp_path, pg_admin_dsn) as b,
    ):
        with FedifyPeer("alice") as alice:
            await a.create_group("garden")
            await b.create_group("hub")
            await b.create_group("workshop")
            for instance, slug in ((a, "garden"), (b, "hub"), (b, "workshop")):
                await do_at_once(instance, slug)
            await relate(a, "garden", b, "hub")
            await relate(b, "hub", b, "workshop")
            sources = {"relation_kinds": ["partner"], "groups": [alice.actor_url]}
            rules = {"reannounce": "at_once", "accept": sources}
            assert (await b.api("PUT", "/groups/hub/feed-rules", json=rules)).status_code == 200
            need = await post(b, "/groups/workshop/intents", {
                **BIKES, "purpose": "request", "name": "Bikes for repairs",
                "quantity": {"value": 2, "unit": "one"}}, 201)  # fmt: skip
            offer = await post(a, "/groups/garden/intents", BIKES, 201)
            assert offer["state"] == "open"
            assert await remote_intent(b, offer["ap_id"]) is None  # b does not follow garden

            criteria = {"criteria": {"k": 5, "hop_limit": 2}}
            path = f"/groups/garden/intents/{offer['id']}/propagations"
            decided = await post(a, path, criteria, 202)
            assert decided["action"] == "propagate" and decided["state"] == "executed", decided
            assert decided["result"]["executed"] == f"propagated to 1 group(s): {b.actor('hub')}"

            # hub took it at once: b knows the offer, and matches it with workshop's need.
            theirs = await b.wait_for(
                lambda: remote_intent(b, offer["ap_id"]), what="b kept garden's offer"
            )
            assert theirs["local"] is False and theirs["group"] == a.actor("garden")
            assert theirs["state"] == "open" and theirs["quantity"] == {"value": 3, "unit": "one"}
            at_hub = (await items(b, "hub"))[offer["ap_id"]]
            assert (at_hub["verdict"], at_hub["kind"], at_hub["hops"]) == ("accept", "intent", 1)
            found = await get(b, f"/intents/{need['id']}/matches")
            assert [m["intent"]["ap_id"] for m in found["items"]] == [offer["ap_id"]]
            notices = await b.wait_for(
                lambda: match_notices(b, "workshop"), what="workshop told of the match"
            )
            assert any(offer["ap_id"] in n["payload"] or "Bicycles" in n["payload"]
                       for n in notices)  # fmt: skip

            # hub relayed it to workshop, whose default rules hold it for a moderator.
            held = await b.wait_for(
                lambda: _held(b, "workshop", offer["ap_id"]), what="workshop got hub's relay"
            )
            assert held["path"] == [a.actor("garden"), b.actor("hub")] and held["hops"] == 2
            released = await post(b, f"/groups/workshop/propagations/{held['id']}/release", None,
                                  200)  # fmt: skip
            assert released["verdict"] == "released"

            # workshop answers: garden hears it, since it spread the offer itself.
            body = {"intent": offer["ap_id"], "quantity": {"value": 2, "unit": "one"}}
            assert (await post(b, "/groups/workshop/agreements", body, 202))["state"] == "executed"
            [incoming] = await a.wait_for(
                lambda: agreements(a, "garden", "offered"), what="garden got workshop's Offer"
            )
            assert incoming["other"] == b.actor("workshop")

            # Again: hub drops the duplicate; still one copy of the offer on b.
            assert (await post(a, path, criteria, 202))["state"] == "executed"

            async def duplicate() -> dict[str, Any] | None:
                for record in await b.received("hub"):
                    announce = record.get("activity") or {}
                    carried = isinstance(announce.get("object"), dict)
                    dropped = "duplicate" in (record["error"] or "")
                    if announce.get("type") == "Announce" and carried and dropped:
                        return record
                return None

            await b.wait_for(duplicate, what="hub dropped the second copy")
            copies = [i for i in (await get(b, "/intents"))["items"]
                      if i["ap_id"] == offer["ap_id"]]  # fmt: skip
            assert len(copies) == 1

            # A Proposal that cannot be read from its origin is dropped whole.
            missing = alice.actor_url + "/proposals/none"
            forged = {
                "@context": [AS2], "type": "Announce", "to": [b.actor("hub")],
                "object": {"id": missing, "type": "Proposal"},
                "propagation": {"origin": alice.actor_url, "path": [alice.actor_url],
                                "hops": 1, "hopLimit": 1},
            }  # fmt: skip
            sent = await alice.asend_raw(b.actor("hub"), forged)
            assert sent["status"] == 202, sent

            async def refused() -> dict[str, Any] | None:
                for record in await b.received("hub"):
                    if (record.get("activity") or {}).get("id") == sent["id"]:
                        return record if record["state"] == "ignored" else None
                return None

            record = await b.wait_for(refused, what="hub refused the unreadable Proposal")
            assert "malformed proposal" in record["error"], record
            assert missing not in await items(b, "hub")
            assert await remote_intent(b, missing) is None


async def _held(instance: Instance, slug: str, object_id: str) -> dict[str, Any] | None:
    found = (await items(instance, slug)).get(object_id)
    return found if found and found["verdict"] == "hold" else None

"""Cancelling an accepted agreement across two real instances.

    b:workshop ── follows ──> a:garden
    garden offers 3 bicycles; workshop answers for 2; garden accepts
    garden cancels  ── Undo{Accept} ──> workshop: cancelled there, its copy of
                       the offer open again with all 3
    workshop answers again; garden accepts
    workshop cancels ── Undo{Offer} ──> garden: cancelled, the offer open again
    carried out, an agreement is cancelled by neither side (409)

Every hop is a signed HTTP request verified by the receiving server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.interop.instance import Instance, running_instance
from tests.interop.test_resources import (
    BIKES,
    agreements,
    do_at_once,
    follow,
    get,
    post,
    remote_intent,
    stock,
)

Q11442 = "http://www.wikidata.org/entity/Q11442"


async def answered_and_accepted(
    a: Instance, b: Instance, offer: dict[str, Any], quantity: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """workshop answers garden's offer; garden accepts; both views once accepted."""
    before = {r["id"] for r in await agreements(b, "workshop", "accepted")}
    body = {"intent": offer["ap_id"], "quantity": {"value": quantity, "unit": "one"}}
    assert (await post(b, "/groups/workshop/agreements", body, 202))["state"] == "executed"
    [incoming] = await a.wait_for(
        lambda: agreements(a, "garden", "offered"), what="garden got the Offer"
    )
    await post(a, f"/groups/garden/agreements/{incoming['id']}/accept", {}, 202)

    async def accepted() -> list[dict[str, Any]]:
        return [r for r in await agreements(b, "workshop", "accepted") if r["id"] not in before]

    [ours] = await b.wait_for(accepted, what="workshop saw the Accept")
    return incoming, ours


async def test_either_side_cancels_across_instances(tmp_path: Path, pg_admin_dsn: str) -> None:
    async with (
        running_instance("a", tmp_path, pg_admin_dsn) as a,
        running_instance("b", tmp_path, pg_admin_dsn) as b,
    ):
        await a.create_group("garden")
        await b.create_group("workshop")
        await do_at_once(a, "garden")
        await do_at_once(b, "workshop")
        await follow(b, "workshop", f"@garden@{a.domain}")
        stocked = {"resource_conforms_to": "Q11442", "name": "bicycles",
                   "quantity": {"value": 5, "unit": "one"}}  # fmt: skip
        assert (await a.api("PUT", "/groups/garden/inventory", json=stocked)).status_code == 200
        offer = await post(a, "/groups/garden/intents", BIKES, 201)
        await b.wait_for(lambda: remote_intent(b, offer["ap_id"]), what="b stored the offer")

        # garden (the intent's group) calls off: its Accept is undone.
        owner, answerer = await answered_and_accepted(a, b, offer, 2)
        copy = await remote_intent(b, offer["ap_id"])
        assert copy is not None and copy["remaining"] == {"value": 1, "unit": "one"}
        cancelled = await post(a, f"/groups/garden/agreements/{owner['id']}/cancel", None, 200)
        assert cancelled["state"] == "cancelled"
        mine = await get(a, f"/intents/{offer['id']}")
        assert mine["state"] == "open" and mine["remaining"] == {"value": 3, "unit": "one"}
        [gone] = await b.wait_for(
            lambda: agreements(b, "workshop", "cancelled"), what="workshop saw the Undo(Accept)"
        )
        assert gone["id"] == answerer["id"]

        async def reopened() -> dict[str, Any] | None:
            found = await remote_intent(b, offer["ap_id"])
            full = found and found["remaining"] == {"value": 3, "unit": "one"}
            return found if full and found["state"] == "open" else None

        await b.wait_for(reopened, what="b's copy of the offer open again with all 3")

        # workshop (the answering group) calls off: its Offer is undone.
        owner, answerer = await answered_and_accepted(a, b, offer, 3)
        assert (await get(a, f"/intents/{offer['id']}"))["state"] == "agreed"
        path = f"/groups/workshop/agreements/{answerer['id']}/cancel"
        assert (await post(b, path, None, 200))["state"] == "cancelled"

        async def cancelled_at_garden() -> list[dict[str, Any]]:
            return [r for r in await agreements(a, "garden", "cancelled") if r["id"] == owner["id"]]

        await a.wait_for(cancelled_at_garden, what="garden saw the Undo(Offer)")
        mine = await get(a, f"/intents/{offer['id']}")
        assert mine["state"] == "open" and mine["remaining"] == {"value": 3, "unit": "one"}
        assert await stock(a, "garden") == {Q11442: 5}  # stocks untouched
        assert await stock(b, "workshop") == {}

        # Carried out, it is history on both sides.
        owner, answerer = await answered_and_accepted(a, b, offer, 1)
        await post(b, f"/groups/workshop/agreements/{answerer['id']}/fulfil", None, 200)

        async def fulfilled_at_garden() -> list[dict[str, Any]]:
            return [r for r in await agreements(a, "garden", "fulfilled") if r["id"] == owner["id"]]

        await a.wait_for(fulfilled_at_garden, what="garden got the receipt")
        for instance, slug, row in ((a, "garden", owner), (b, "workshop", answerer)):
            refused = await instance.api("POST", f"/groups/{slug}/agreements/{row['id']}/cancel")
            assert refused.status_code == 409, refused.text
            assert "fulfilled" in refused.json()["error"]["message"]
        assert await stock(a, "garden") == {Q11442: 4}

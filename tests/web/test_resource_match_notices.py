"""Match notices when an existing pair becomes a better fit (services/resources.py,
real database): told again when a change raises the pair's score by BETTER_BY or
lets it pass the filters, never again for the same pair at the same or a lower
score, to both local sides of a pair."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from quart.typing import TestClientProtocol as Client

from imago_fed.domain.graph.places import Place
from imago_fed.domain.resources.intents import Intent, Quantity, Window
from imago_fed.domain.resources.vocabulary import UNITS, parse_resource_type
from imago_fed.store import follows
from imago_fed.web.runtime import Runtime
from tests.web.test_admin_resources import BIKES, NEED, call, do_at_once, world

__all__ = ["world"]  # the fixture, shared with the admin API's resource tests

MAKERS = "https://far.example/groups/makers"
GARDEN_FOLLOWERS = "https://groups.test/groups/garden/followers"


def _need(n: int = 1, wanted: int = 30, **changes: object) -> Intent:
    """A need of a remote group, as its Proposal (or an Update of it) is read."""
    need = Intent(
        purpose="request", action="transfer", group=MAKERS, name="Bikes for the makers",
        resource=parse_resource_type("Q11442"), quantity=Quantity(UNITS["one"], Decimal(wanted)),
        window=Window(datetime(2026, 1, 1, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC)),
        place=Place(48.86, 2.36), ap_id=f"{MAKERS}/proposals/{n}",
    )  # fmt: skip
    return replace(need, **changes)


async def _told(rt: Runtime) -> list[tuple[str, str, dict]]:
    """(group slug, dedupe key, payload) of every match notice, in log order."""
    rows = await rt.pool.fetch(
        "SELECT g.slug, e.dedupe_key, e.payload FROM group_events e"
        " JOIN groups g ON g.id = e.group_id WHERE e.kind = 'match_suggested' ORDER BY e.id"
    )
    return [(r["slug"], r["dedupe_key"], json.loads(r["payload"])) for r in rows]


async def test_a_remote_update_that_fits_better_is_told_once(
    world: tuple[Client, Runtime],
) -> None:
    client, rt = world
    assert rt.resources is not None
    await do_at_once(rt, "garden")
    garden = await rt.groups.get("garden")
    assert garden is not None and garden.id is not None
    await follows.add_follower(rt.pool, garden.id, MAKERS, MAKERS + "#f", "accepted",
                               datetime.now(UTC))  # fmt: skip
    status, offer = await call(client, "POST", "/groups/garden/intents", BIKES)  # 3 bicycles
    assert status == 201 and offer["state"] == "open"

    async def receive(need: Intent) -> None:
        assert rt.resources is not None and need.ap_id is not None
        done = await rt.resources.proposal_received(need, need.ap_id + "#primary",
                                                    [GARDEN_FOLLOWERS])  # fmt: skip
        assert done == "done"

    await receive(_need(wanted=30))  # 3 of 30 fit 10 %
    [(slug, key, first)] = await _told(rt)
    assert slug == "garden" and first["text"].startswith("Suggested match (score ")
    assert key == f"resources|match|{offer['id']}|{first['other_intent_id']}"
    await receive(_need(wanted=30))  # the same Update again
    await receive(_need(wanted=29))  # a little better (+0.0007): not marked enough
    assert len(await _told(rt)) == 1

    await receive(_need(wanted=3))  # 3 of 3: the quantity part goes from 0.1 to 1
    [_, (slug, key, better)] = await _told(rt)
    was, now = Decimal(first["score"]), Decimal(better["score"])
    assert slug == "garden" and now - was >= Decimal("0.05")
    assert better["text"].startswith(f"Better match (score {now:.2f}, was {was:.2f}) for Offer")
    assert "quantities fit 100%" in better["text"]
    assert key == f"resources|match|{offer['id']}|{better['other_intent_id']}|{better['score']}"
    await receive(_need(wanted=30))  # worse again: nothing
    await receive(_need(wanted=3))  # back to the score already told: nothing
    assert len(await _told(rt)) == 2

    # A need that did not pass the filters (its window starts after the offer's ends)
    # is told once a change lets it pass.
    late = Window(datetime(2099, 2, 1, tzinfo=UTC), datetime(2099, 3, 1, tzinfo=UTC))
    await receive(_need(2, wanted=3, window=late))
    assert len(await _told(rt)) == 2
    await receive(_need(2, wanted=3))
    [*_, (slug, _, newly)] = await _told(rt)
    assert len(await _told(rt)) == 3 and newly["text"].startswith("Suggested match")
    # Far away, then moved near: told only when it comes within range.
    await receive(_need(3, wanted=3, place=Place(43.3, 5.37)))  # Marseille, 660 km
    assert len(await _told(rt)) == 3
    await receive(_need(3, wanted=3, place=Place(48.85, 2.34)))
    assert len(await _told(rt)) == 4


async def test_both_local_sides_hear_when_what_is_left_fits_better(
    world: tuple[Client, Runtime],
) -> None:
    client, rt = world
    for slug in ("garden", "workshop", "slow"):
        await do_at_once(rt, slug)
    ten = {**BIKES, "quantity": {"value": 10, "unit": "one"}}
    _, offer = await call(client, "POST", "/groups/garden/intents", ten)
    _, need = await call(client, "POST", "/groups/workshop/intents", NEED)  # 2 of 10: 20 %
    assert sorted((slug, key) for slug, key, _ in await _told(rt)) == [
        ("garden", f"resources|match|{offer['id']}|{need['id']}"),
        ("workshop", f"resources|match|{need['id']}|{offer['id']}"),
    ]
    # Another group takes 8: the offer's 2 left fit the workshop's need exactly.
    eight = {"intent_id": offer["id"], "quantity": {"value": 8, "unit": "one"}}
    status, _ = await call(client, "POST", "/groups/slow/agreements", eight)
    assert status == 202
    _, offered = await call(client, "GET", "/groups/garden/agreements?state=offered")
    [incoming] = offered["items"]
    await call(client, "POST", f"/groups/garden/agreements/{incoming['id']}/accept", {})
    told = await _told(rt)
    better = [(slug, p["text"]) for slug, _, p in told if p["text"].startswith("Better match")]
    assert sorted(slug for slug, _ in better) == ["garden", "workshop"]
    assert all("was " in text and "8 one" not in text for _, text in better)


async def test_a_cancelled_agreement_reopens_the_intent_to_new_counterparts_only(
    world: tuple[Client, Runtime],
) -> None:
    client, rt = world
    for slug in ("garden", "workshop", "slow"):
        await do_at_once(rt, slug)
    _, offer = await call(client, "POST", "/groups/garden/intents", BIKES)  # 3 bicycles
    three = {"intent_id": offer["id"], "quantity": {"value": 3, "unit": "one"}}
    await call(client, "POST", "/groups/slow/agreements", three)
    _, offered = await call(client, "GET", "/groups/garden/agreements?state=offered")
    [incoming] = offered["items"]
    await call(client, "POST", f"/groups/garden/agreements/{incoming['id']}/accept", {})
    _, agreed = await call(client, "GET", f"/intents/{offer['id']}")
    assert agreed["state"] == "agreed"
    _, need = await call(client, "POST", "/groups/workshop/intents", NEED)
    assert await _told(rt) == []  # the offer is all promised: nothing to suggest

    status, _ = await call(client, "POST", f"/groups/garden/agreements/{incoming['id']}/cancel")
    assert status == 200
    told = await _told(rt)
    assert sorted((slug, key) for slug, key, _ in told) == [
        ("garden", f"resources|match|{offer['id']}|{need['id']}"),
        ("workshop", f"resources|match|{need['id']}|{offer['id']}"),
    ]
    assert all(p["text"].startswith("Suggested match") for _, _, p in told)

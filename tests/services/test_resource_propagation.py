"""Offers and needs propagated through the graph of groups, over the real
PostgreSQL, wired as the server wires them (``build_runtime``).

Between groups of one instance the item is handed over in-process; a Proposal
from another server is read from its origin (here through a recorded fetch,
the interop tests do it over HTTP) and refused whole when it cannot be had.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from imago_fed.activitypub import resources as wire
from imago_fed.activitypub.http import RemoteStatus
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.resource_exchange import PropagatedIntents
from imago_fed.app import build_runtime
from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.protocols import Doocracy
from imago_fed.domain.governance.table import default_table
from imago_fed.domain.graph.propagation import originate
from imago_fed.domain.ports.resources import StoredIntent
from imago_fed.domain.resources.intents import intent_from_dict
from imago_fed.web.runtime import Runtime

AT_ONCE = {"reannounce": "at_once"}
BIKES = {
    "purpose": "offer", "action": "transfer", "name": "Bicycles",
    "resource_conforms_to": "http://www.wikidata.org/entity/Q11442",
    "quantity": {"value": 3, "unit": "one"},
}  # fmt: skip
NEED = {**BIKES, "purpose": "request", "name": "Bikes", "quantity": {"value": 2, "unit": "one"}}
FAR = Ids("https://far.example")
FAR_GROUP = FAR.group("market")


@pytest.fixture
async def rt(migrated_db: str, make_settings) -> AsyncIterator[Runtime]:
    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=4)
    try:
        yield build_runtime(make_settings(migrated_db), pool)
    finally:
        await pool.close()


async def _groups(rt: Runtime, *slugs: str) -> None:
    table = default_table().amended(
        {ActionKind.PUBLISH_OFFER: Doocracy(), ActionKind.SPEND: Doocracy()}
    )
    for slug in slugs:
        group = await rt.groups.create(slug, slug.title())
        assert group.id is not None
        await rt.governance_store.save_table(group.id, table, datetime.now(UTC))


async def _relate(rt: Runtime, a: str, b: str) -> None:
    assert rt.relations is not None
    await rt.relations.propose(a, f"@{b}@groups.test", "partner", author="admin")
    [incoming] = await rt.relations.list(b, frozenset({"proposed"}))
    await rt.relations.answer(b, incoming.id, accept=True, author="admin")


async def _items(rt: Runtime, slug: str) -> dict[str, tuple[str, str]]:
    assert rt.propagation is not None
    return {i.item.object_id: (i.verdict, i.item.kind) for i in await rt.propagation.items(slug)}


def far_proposal(number: int, **changes: Any) -> dict[str, Any]:
    """Another server's Proposal, as that server (our own code) serves it."""
    intent = intent_from_dict({**BIKES, **changes}, group=FAR_GROUP)
    ap_id = f"{FAR_GROUP}/intents/{number}"
    intent = replace(intent, id=number, ap_id=ap_id, state="open")
    stored = StoredIntent(intent, 1, ap_id + "#primary", updated_at=datetime.now(UTC))
    return {"@context": wire.RESOURCE_CONTEXT, **wire.proposal(FAR, "market", stored)}


class Origin:
    """What the far server answers a signed GET with (its documents by id)."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.asked: list[str] = []

    async def __call__(self, url: str) -> dict[str, Any]:
        self.asked.append(url)
        if url not in self.documents:
            raise RemoteStatus(404, url)
        return copy.deepcopy(self.documents[url])


async def test_an_open_offer_travels_the_graph_under_each_receivers_rules(rt: Runtime) -> None:
    assert rt.propagation is not None and rt.resources is not None
    await _groups(rt, "a", "b", "c", "d")
    for left, right in (("a", "b"), ("b", "c"), ("c", "d")):
        await _relate(rt, left, right)
    await rt.propagation.set_feed_rules("b", AT_ONCE)  # c keeps the default: hold
    offer, _ = await rt.resources.publish("a", BIKES, author="ann")
    assert offer.intent.state == "open"

    decided = await rt.propagation.request_intent("a", offer.id, {"hop_limit": 2}, author="ann")
    assert decided.action == ActionKind.PROPAGATE
    assert decided.result["executed"] == f"propagated to 1 group(s): {rt.ids.group('b')}"
    assert await _items(rt, "a") == {offer.ap_id: ("sent", "intent")}
    assert await _items(rt, "b") == {offer.ap_id: ("accept", "intent")}
    assert await _items(rt, "c") == {offer.ap_id: ("hold", "intent")}  # relayed by b
    assert await _items(rt, "d") == {}  # past the hop limit
    [held] = await rt.propagation.items("c")
    assert held.item.path == (rt.ids.group("a"), rt.ids.group("b"))
    assert (await rt.propagation.release("c", held.id)).verdict == "released"

    # Again: a duplicate everywhere (one row per group and object).
    await rt.propagation.request_intent("a", offer.id, {"hop_limit": 2}, author="ann")
    assert len(await rt.propagation.items("b")) == 1

    # Only the group's own open intents propagate, under valid criteria.
    with pytest.raises(InvalidInput, match="hop_limit"):
        await rt.propagation.request_intent("a", offer.id, {"hop_limit": 0}, author="ann")
    with pytest.raises(NotFound, match=f"no intent {offer.id} in b"):
        await rt.propagation.request_intent("b", offer.id, {}, author="bo")
    await rt.resources.withdraw("a", offer.id)
    with pytest.raises(Conflict, match="withdrawn: only an open offer or need"):
        await rt.propagation.request_intent("a", offer.id, {}, author="ann")
    with pytest.raises(InvalidInput, match="open offers or needs propagate"):
        await rt.propagation.request("a", offer.ap_id, {}, author="ann")


async def test_a_proposal_from_afar_is_read_from_its_origin_and_matched(rt: Runtime) -> None:
    assert rt.resources is not None
    await _groups(rt, "workshop")
    need, _ = await rt.resources.publish("workshop", NEED, author="bo")
    origin = Origin()
    intents = PropagatedIntents(rt.resources, origin, rt.ids)
    good = far_proposal(7)
    origin.documents[good["id"]] = good
    relay = "https://relay.example/groups/hub"
    item = originate(good["id"], FAR_GROUP, 2, kind="intent").forwarded_by(relay)

    read = await intents.read(item)
    assert read is not None and origin.asked == [good["id"]]  # from the origin, not the relay
    intent, primary = read
    assert intent.group == FAR_GROUP and primary == good["id"] + "#primary"
    await intents.keep(intent, primary)
    [kept] = [s for s in await rt.resources.known() if s.ap_id == good["id"]]
    assert kept.group_id is None and kept.intent.state == "open"
    [match] = await rt.resources.matches(need.id)
    assert match.intent.ap_id == good["id"]

    # Refused whole, nothing kept: each way a Proposal cannot be had.
    bad = {
        "answered 404": (originate(FAR_GROUP + "/intents/8", FAR_GROUP, kind="intent"), None),
        "another id": (originate(FAR_GROUP + "/intents/9", FAR_GROUP, kind="intent"), good),
        "not a Proposal": (
            originate(FAR_GROUP + "/notes/1", FAR_GROUP, kind="intent"),
            {"id": FAR_GROUP + "/notes/1", "type": "Note", "attributedTo": FAR_GROUP},
        ),
        "greater than 0": (
            originate(FAR_GROUP + "/intents/10", FAR_GROUP, kind="intent"),
            {**far_proposal(10), "publishes": {
                **far_proposal(10)["publishes"],
                "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "-1"}}},
        ),
        "attributed to another actor": (
            originate(FAR_GROUP + "/intents/11", FAR_GROUP, kind="intent"),
            {**far_proposal(11), "attributedTo": "https://far.example/groups/other"},
        ),
        "does not live on its origin's server": (
            originate("https://elsewhere.example/intents/12", FAR_GROUP, kind="intent"), None,
        ),
    }  # fmt: skip
    for words, (wrong, document) in bad.items():
        if document is not None:
            origin.documents[wrong.object_id] = document
        with pytest.raises(InvalidInput, match=words):
            await intents.read(wrong)
    assert "https://elsewhere.example/intents/12" not in origin.asked  # never fetched
    known = {s.ap_id for s in await rt.resources.known()}
    assert known == {need.ap_id, good["id"]}


async def test_an_unreachable_proposal_is_dropped_before_anything_is_stored(rt: Runtime) -> None:
    """The server's own fetch: an origin that cannot be reached leaves no item, no intent."""
    assert rt.propagation is not None and rt.resources is not None
    await _groups(rt, "workshop")
    await rt.propagation.set_feed_rules(
        "workshop", {"accept": {"groups": ["https://far.invalid/groups/x"]}, **AT_ONCE}
    )
    item = originate("https://far.invalid/groups/x/intents/1", "https://far.invalid/groups/x",
                     kind="intent")  # fmt: skip
    outcome = await rt.propagation.receive("workshop", item)
    assert outcome.startswith("malformed proposal: cannot fetch"), outcome
    assert await rt.propagation.items("workshop") == []
    assert await rt.resources.known() == []

"""The graph's wire forms: built and parsed back, and what the intake refuses.

The intake runs over the real PostgreSQL as the server wires it: a forged
Offer, an answer from the wrong group and an item whose path does not end
with its sender change nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.relations import (
    NS,
    announce_item,
    answer,
    kind_iri,
    offer,
    parse_item,
    parse_kind,
    undo,
)
from imago_fed.app import build_runtime
from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.graph.places import Place
from imago_fed.domain.graph.propagation import originate
from imago_fed.domain.graph.relations import Relation
from imago_fed.domain.ports.relations import StoredRelation
from imago_fed.web.runtime import Runtime

IDS = Ids("https://a.example")
HERE = "https://a.example/groups/garden"
THERE = "https://b.example/groups/allotments"


def _stored(source: str = HERE, target: str = THERE, answer_id: str | None = None):
    peer = target if source == HERE else source
    return StoredRelation(
        1, 1, Relation(source, target, "subgroup"), peer, "https://a.example/activities/o1",
        answer_id,
    )  # fmt: skip


def test_kinds_round_trip_through_their_iri() -> None:
    for kind in ("partner", "subgroup", "same_place"):
        assert parse_kind(kind_iri(kind)) == kind
        assert parse_kind(f"imago:{kind}") == kind
    assert kind_iri("partner") == NS + "partner"
    assert parse_kind("https://example.org/other#partner") is None
    assert parse_kind(None) is None


def test_offer_answer_and_undo_name_the_offer() -> None:
    stored = _stored()
    document = offer(IDS, "garden", stored)
    assert document["type"] == "Offer" and document["id"] == stored.offer_id
    assert document["actor"] == HERE and document["to"] == [THERE]
    assert document["object"] == {
        "type": "Relationship", "subject": HERE, "relationship": NS + "subgroup", "object": THERE,
    }  # fmt: skip
    # What the other side answers (here from the target's point of view).
    incoming = _stored(THERE, HERE)
    accepted = answer(IDS, "garden", incoming, accept=True)
    assert accepted["type"] == "Accept" and accepted["object"]["id"] == incoming.offer_id
    assert accepted["object"]["type"] == "Offer"
    assert answer(IDS, "garden", incoming, accept=True)["id"] == accepted["id"]  # stable
    # The proposer undoes its Offer; the target undoes its Accept.
    assert undo(IDS, "garden", stored)["object"]["type"] == "Offer"
    removal = undo(IDS, "garden", _stored(THERE, HERE, answer_id=accepted["id"]))
    assert removal["object"] == {
        "id": accepted["id"], "type": "Accept", "actor": HERE, "object": incoming.offer_id,
    }  # fmt: skip


def test_a_propagated_item_round_trips_through_its_announce() -> None:
    item = originate("https://social.example/notes/1", THERE, 3, themes=["Q7397"])
    relayed = item.forwarded_by(HERE)
    document = announce_item(IDS, "garden", relayed, ["https://c.example/groups/end"])
    assert document["actor"] == HERE and document["object"] == item.object_id
    assert document["propagation"] == {
        "origin": THERE, "path": [THERE, HERE], "hops": 2, "hopLimit": 3, "themes": ["Q7397"],
    }  # fmt: skip
    assert parse_item(document) == relayed
    assert parse_item({"type": "Announce", "object": item.object_id}) is None
    lying = {**document, "propagation": {**document["propagation"], "hops": 5}}
    with pytest.raises(InvalidInput, match="hops"):
        parse_item(lying)


def test_an_offer_or_need_is_announced_with_its_type() -> None:
    """The receiver knows to read the Proposal from its origin; a bare id stays an
    announcement (the type is a hint, what is fetched decides)."""
    item = originate("https://b.example/groups/market/intents/4", THERE, 2, kind="intent")
    relayed = item.forwarded_by(HERE)
    document = announce_item(IDS, "garden", relayed, ["https://c.example/groups/end"])
    assert document["object"] == {"id": item.object_id, "type": ["Proposal", "Note"]}
    assert parse_item(document) == relayed
    assert parse_item({**document, "object": {"id": item.object_id, "type": "vf:Proposal"}}) == (
        relayed
    )
    bare = parse_item({**document, "object": item.object_id})
    assert bare is not None and bare.kind == "announcement"


def test_the_origins_place_travels_with_the_item() -> None:
    paris = Place(48.8567, 2.351, "Paris", "Q90")
    item = originate("https://social.example/notes/2", THERE, 2, place=paris)
    document = announce_item(IDS, "garden", item.forwarded_by(HERE), [THERE])
    assert document["propagation"]["location"] == {
        "type": "Place", "name": "Paris", "latitude": 48.8567, "longitude": 2.351,
        "url": "http://www.wikidata.org/entity/Q90",
    }  # fmt: skip
    assert parse_item(document) == item.forwarded_by(HERE)
    nowhere = {"type": "Place", "latitude": 99}
    broken = {**document, "propagation": {**document["propagation"], "location": nowhere}}
    assert parse_item(broken).place is None  # type: ignore[union-attr]


@pytest.fixture
async def rt(migrated_db: str, make_settings) -> AsyncIterator[Runtime]:
    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=4)
    try:
        yield build_runtime(make_settings(migrated_db), pool)
    finally:
        await pool.close()


async def test_the_intake_takes_only_what_the_signer_may_say(rt: Runtime) -> None:
    assert rt.relations is not None and rt.propagation is not None
    intake = rt.inbox_processor.graph
    assert intake is not None
    await rt.groups.create("garden", "Garden")
    garden = rt.ids.group("garden")
    remote, mallory = "https://b.example/groups/hub", "https://evil.example/users/m"
    relationship = {"type": "Relationship", "subject": remote,
                    "relationship": NS + "partner", "object": garden}  # fmt: skip
    offered = {"id": "https://b.example/activities/1", "type": "Offer", "actor": remote,
               "object": relationship}  # fmt: skip

    # Someone else cannot offer on the hub's behalf; an unknown kind is refused.
    forged = {**offered, "id": "https://evil.example/a/1", "actor": mallory}
    assert await intake(forged, mallory) == "relationship offered on behalf of another actor"
    odd = {**offered, "object": {**relationship, "relationship": NS + "friend"}}
    assert await intake(odd, remote) == "unknown relation kind 'friend'"
    assert await rt.relations.list("garden") == []

    assert await intake(offered, remote) == "done"
    assert await intake(offered, remote) == "offer already recorded"
    [row] = await rt.relations.list("garden")
    assert row.relation.state == "proposed" and row.peer == remote

    # Only the proposer withdraws it; others' undos change nothing.
    undo_offer = {"id": "https://evil.example/a/2", "type": "Undo", "actor": mallory,
                  "object": {**offered, "object": relationship}}  # fmt: skip
    assert await intake(undo_offer, mallory) == "undo of someone else's activity"
    assert [r.relation.state for r in await rt.relations.list("garden")] == ["proposed"]
    withdrawn = {**undo_offer, "id": "https://b.example/activities/2", "actor": remote}
    assert await intake(withdrawn, remote) == "done"
    assert [r.relation.state for r in await rt.relations.list("garden")] == ["withdrawn"]

    # A Follow's Accept is not ours: the usual handler takes it.
    follow = {"type": "Follow", "id": "https://a.example/activities/f"}
    follow_accept = {"id": "https://b.example/activities/3", "type": "Accept", "actor": remote,
                     "object": follow}  # fmt: skip
    assert await intake(follow_accept, remote) is None

    # An item whose path does not end with the signer is refused.
    item = originate("https://social.example/notes/1", remote)
    announce = announce_item(Ids("https://b.example"), "hub", item, [garden])
    assert await intake(announce, mallory) == (
        "propagated item whose path does not end with its sender"
    )
    # From the hub itself: not related, so the default rules do not take it.
    assert await intake(announce, remote) == "source not accepted by the feed rules"
    assert await rt.propagation.items("garden") == []

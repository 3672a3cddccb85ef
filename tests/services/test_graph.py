"""Relations and propagation between groups of one instance, over the real
PostgreSQL, wired as the server wires them (``build_runtime``).

Local groups exchange nothing over the network: their relations and items are
handed over in-process, through the same decisions and feed rules as remote
ones (the interop tests cover the wire).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from imago_fed.app import build_runtime
from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.store import outbox
from imago_fed.web.runtime import Runtime

AT_ONCE = {"reannounce": "at_once"}


@pytest.fixture
async def rt(migrated_db: str, make_settings) -> AsyncIterator[Runtime]:
    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=4)
    try:
        runtime = build_runtime(make_settings(migrated_db), pool)
        yield runtime
    finally:
        await pool.close()


async def _groups(rt: Runtime, *slugs: str) -> None:
    for slug in slugs:
        await rt.groups.create(slug, slug.title())


async def _relate(rt: Runtime, a: str, b: str, kind: str = "partner") -> None:
    assert rt.relations is not None
    proposal = await rt.relations.propose(a, f"@{b}@groups.test", kind, author="admin")
    assert proposal.state == "executed", proposal.result
    [incoming] = await rt.relations.list(b, frozenset({"proposed"}))
    await rt.relations.answer(b, incoming.id, accept=True, author="admin")


async def _announced(rt: Runtime, slug: str, object_id: str) -> None:
    """The group re-shared ``object_id`` (what a member's post leads to)."""
    group = await rt.groups.get(slug)
    activity = {"id": f"https://groups.test/activities/{slug}-{object_id.rsplit('/', 1)[-1]}",
                "type": "Announce", "object": object_id}  # fmt: skip
    await outbox.add(
        rt.pool, group_id=group.id, activity=activity, object_id=object_id,  # type: ignore[arg-type]
        public=True, now=datetime.now(UTC),
    )  # fmt: skip


async def _verdicts(rt: Runtime, slug: str) -> dict[str, str]:
    assert rt.propagation is not None
    return {i.item.object_id: i.verdict for i in await rt.propagation.items(slug)}


async def test_a_relation_exists_once_the_other_side_accepts_it(rt: Runtime) -> None:
    assert rt.relations is not None
    await _groups(rt, "garden", "allotments")
    garden, allotments = rt.ids.group("garden"), rt.ids.group("allotments")

    proposal = await rt.relations.propose("garden", allotments, "subgroup", author="ann")
    assert proposal.action == ActionKind.RELATE
    assert proposal.result["executed"].startswith("relation offered to local group")
    [mine] = await rt.relations.list("garden")
    [theirs] = await rt.relations.list("allotments")
    assert mine.relation.state == theirs.relation.state == "proposed"
    assert (mine.relation.source, mine.relation.target) == (garden, allotments)
    assert await rt.relations.active(mine.group_id) == []

    with pytest.raises(Conflict, match="proposed the relation"):
        await rt.relations.answer("garden", mine.id, accept=True, author="ann")
    with pytest.raises(Conflict, match="already proposed"):
        await rt.relations.propose("garden", allotments, "subgroup", author="ann")

    await rt.relations.answer("allotments", theirs.id, accept=True, author="bo")
    [edge] = await rt.relations.active(mine.group_id)
    assert edge.kind_from(allotments) == "subgroup"  # garden is a subgroup of allotments
    assert edge.kind_from(garden) == "parent"
    assert [r.relation.state for r in await rt.relations.list("allotments")] == ["accepted"]

    await rt.relations.remove("allotments", theirs.id, author="bo")
    assert [r.relation.state for r in await rt.relations.list("garden")] == ["removed"]
    assert await rt.relations.active(mine.group_id) == []


async def test_bad_relations_are_refused_with_a_clear_message(rt: Runtime) -> None:
    assert rt.relations is not None
    await _groups(rt, "garden", "allotments")
    with pytest.raises(InvalidInput, match="unknown relation kind 'friend'; expected one of"):
        await rt.relations.propose("garden", "@allotments@groups.test", "friend", author="a")
    with pytest.raises(InvalidInput, match="itself"):
        await rt.relations.propose("garden", "@garden@groups.test", "partner", author="a")
    with pytest.raises(NotFound, match="no group nowhere"):
        await rt.relations.propose("garden", "@nowhere@groups.test", "partner", author="a")
    with pytest.raises(InvalidInput, match="@name@host"):
        await rt.relations.propose("garden", "not a handle", "partner", author="a")


async def test_a_rejected_relation_is_not_an_edge(rt: Runtime) -> None:
    assert rt.relations is not None
    await _groups(rt, "garden", "allotments")
    await rt.relations.propose("garden", "@allotments@groups.test", "partner", author="a")
    [theirs] = await rt.relations.list("allotments")
    await rt.relations.answer("allotments", theirs.id, accept=False, author="b")
    assert [r.relation.state for r in await rt.relations.list("garden")] == ["rejected"]
    # A new proposal is a new row: the rejected one is history.
    await rt.relations.propose("garden", "@allotments@groups.test", "partner", author="a")
    assert len(await rt.relations.list("garden")) == 2


async def test_propagation_along_a_chain_stops_at_the_hop_limit(rt: Runtime) -> None:
    assert rt.propagation is not None
    await _groups(rt, "a", "b", "c", "d")
    for left, right in (("a", "b"), ("b", "c"), ("c", "d")):
        await _relate(rt, left, right)
    for slug in ("b", "c", "d"):
        await rt.propagation.set_feed_rules(slug, AT_ONCE)
    note = "https://elsewhere.test/notes/1"
    with pytest.raises(InvalidInput, match="has not announced"):
        await rt.propagation.request("a", note, {"hop_limit": 2}, author="ann")
    await _announced(rt, "a", note)

    proposal = await rt.propagation.request("a", note, {"hop_limit": 2}, author="ann")
    assert proposal.action == ActionKind.PROPAGATE
    assert proposal.result["executed"] == f"propagated to 1 group(s): {rt.ids.group('b')}"
    assert await _verdicts(rt, "a") == {note: "sent"}
    assert await _verdicts(rt, "b") == {note: "accept"}
    assert await _verdicts(rt, "c") == {note: "accept"}
    assert await _verdicts(rt, "d") == {}  # the third transfer would pass the limit
    [at_c] = await rt.propagation.items("c")
    assert at_c.item.path == (rt.ids.group("a"), rt.ids.group("b"))
    assert at_c.item.hops == 2 and at_c.item.origin == rt.ids.group("a")


async def test_an_opted_out_group_drops_the_item_and_stops_it(rt: Runtime) -> None:
    assert rt.propagation is not None
    await _groups(rt, "a", "b", "c")
    await _relate(rt, "a", "b")
    await _relate(rt, "b", "c")
    await rt.propagation.set_feed_rules("b", {"enabled": False})
    await rt.propagation.set_feed_rules("c", AT_ONCE)
    note = "https://elsewhere.test/notes/2"
    await _announced(rt, "a", note)
    await rt.propagation.request("a", note, {"hop_limit": 3}, author="ann")
    assert await _verdicts(rt, "b") == {}
    assert await _verdicts(rt, "c") == {}


async def test_a_cycle_delivers_each_group_the_item_once(rt: Runtime) -> None:
    assert rt.propagation is not None
    await _groups(rt, "a", "b", "c")
    for left, right in (("a", "b"), ("b", "c"), ("c", "a")):
        await _relate(rt, left, right)
    for slug in ("a", "b", "c"):
        await rt.propagation.set_feed_rules(slug, AT_ONCE)
    note = "https://elsewhere.test/notes/3"
    await _announced(rt, "a", note)
    await rt.propagation.request("a", note, {"hop_limit": 5}, author="ann")
    for slug in ("b", "c"):
        [item] = await rt.propagation.items(slug)
        assert item.verdict == "accept"
    assert await _verdicts(rt, "a") == {note: "sent"}  # never received back


async def test_held_items_wait_for_a_moderator_and_the_rate_limit_holds(rt: Runtime) -> None:
    assert rt.propagation is not None
    await _groups(rt, "a", "b")
    await _relate(rt, "a", "b")
    await rt.propagation.set_feed_rules("b", {"rate_limit": {"max_items": 1, "per_seconds": 3600}})
    first, second = "https://elsewhere.test/notes/4", "https://elsewhere.test/notes/5"
    for note in (first, second):
        await _announced(rt, "a", note)
        await rt.propagation.request("a", note, {}, author="ann")
    [held] = await rt.propagation.items("b")  # the second was over the rate limit
    assert held.item.object_id == first and held.verdict == "hold"
    released = await rt.propagation.release("b", held.id)
    assert released.verdict == "released"
    with pytest.raises(InvalidInput, match="not held"):
        await rt.propagation.release("b", held.id)


async def test_feed_rules_round_trip_and_refuse_unknown_kinds(rt: Runtime) -> None:
    assert rt.propagation is not None
    await _groups(rt, "a")
    assert (await rt.propagation.feed_rules("a")).reannounce == "hold"
    rules = {"accept": {"relation_kinds": ["partner"], "groups": []}, "reannounce": "at_once"}
    stored = await rt.propagation.set_feed_rules("a", rules)
    assert (await rt.propagation.feed_rules("a")).to_dict() == stored.to_dict()
    assert stored.to_dict()["accept"]["relation_kinds"] == ["partner"]
    with pytest.raises(InvalidInput, match="unknown relation kind"):
        await rt.propagation.set_feed_rules("a", {"accept": {"relation_kinds": ["friend"]}})


async def test_decisions_opened_by_hand_with_bad_params_say_so(rt: Runtime) -> None:
    await _groups(rt, "a")
    group = await rt.groups.get("a")
    assert group.id is not None
    for action, params, said in (
        (ActionKind.RELATE, {"relation": {"op": "propose"}}, "needs target"),
        (ActionKind.RELATE, {"relation": {"op": "remove", "id": "7"}}, "needs the id"),
        (ActionKind.PROPAGATE, {"propagation": {}}, "needs object_id"),
    ):
        proposal = await rt.governance.propose(
            group.id, action=action, title="by hand", author="ann", params=params
        )
        assert said in proposal.result["executed"]


async def _graph_events(rt: Runtime, kind: str) -> list[tuple[str, dict]]:
    """(group slug, payload) of the graph's events of ``kind``, in log order."""
    import json

    rows = await rt.pool.fetch(
        "SELECT g.slug, e.payload FROM group_events e JOIN groups g ON g.id = e.group_id"
        " WHERE e.kind = $1 AND e.source = 'graph' ORDER BY e.id",
        kind,
    )
    return [(r["slug"], json.loads(r["payload"])) for r in rows]


async def test_relation_moves_are_told_to_the_other_networks(rt: Runtime) -> None:
    assert rt.relations is not None
    await _groups(rt, "garden", "allotments")
    await _relate(rt, "garden", "allotments", "subgroup")  # garden is allotments' subgroup
    told = await _graph_events(rt, "relation_changed")
    assert sorted((slug, p["other_is"], p["other_slug"], p["state"]) for slug, p in told) == [
        ("allotments", "subgroup", "garden", "accepted"),
        ("garden", "parent", "allotments", "accepted"),
    ]
    [theirs] = await rt.relations.list("allotments")
    await rt.relations.remove("allotments", theirs.id, author="bo")
    removed = [(s, p["state"]) for s, p in await _graph_events(rt, "relation_changed")][2:]
    assert sorted(removed) == [("allotments", "removed"), ("garden", "removed")]


async def test_a_remote_groups_matrix_space_goes_into_the_events(rt: Runtime) -> None:
    """As its actor was last fetched; a group that publishes none gets none."""
    from imago_fed.domain.ports.federation import RemoteActor
    from imago_fed.store.remote_actors import PgRemoteActors

    assert rt.relations is not None
    await _groups(rt, "garden")
    actors = PgRemoteActors(rt.pool)
    for slug, space, server in (("hub", "!hubSpace", "hs.far.test"), ("plain", "", "")):
        uri = f"https://far.test/groups/{slug}"
        await actors.upsert(RemoteActor(
            uri=uri, host="far.test", type="Group", preferred_username=slug, name=slug,
            inbox=f"{uri}/inbox", shared_inbox=None, key_id=f"{uri}#main-key",
            public_key_pem="PEM", fetched_at=datetime.now(UTC), space=space, space_server=server,
        ), {"id": uri})  # fmt: skip
        # "<slug> is garden's subgroup", offered over the network, accepted by garden
        said = await rt.relations.offered(
            uri, rt.ids.group("garden"), "subgroup", f"https://far.test/activities/{slug}"
        )
        assert said == "done"
        [offer] = [r for r in await rt.relations.list("garden", frozenset({"proposed"}))
                   if r.peer == uri]  # fmt: skip
        await rt.relations.answer("garden", offer.id, accept=True, author="ann")
        await rt.relations.remove("garden", offer.id, author="ann")
    told = [(p["other"].rsplit("/", 1)[-1], p["other_is"], p["state"], p["other_slug"],
             p["other_space"], p["other_space_server"])
            for _, p in await _graph_events(rt, "relation_changed")]  # fmt: skip
    assert told == [
        ("hub", "subgroup", "accepted", "", "!hubSpace", "hs.far.test"),
        ("hub", "subgroup", "removed", "", "!hubSpace", "hs.far.test"),
        ("plain", "subgroup", "accepted", "", "", ""),
        ("plain", "subgroup", "removed", "", "", ""),
    ]


async def test_items_sent_held_and_released_are_told_once_each(rt: Runtime) -> None:
    assert rt.propagation is not None
    await _groups(rt, "a", "b")
    await _relate(rt, "a", "b")
    note = "https://elsewhere.test/notes/9"
    await _announced(rt, "a", note)
    await rt.propagation.request("a", note, {}, author="ann")
    [held] = await rt.propagation.items("b")
    await rt.propagation.release("b", held.id)
    told = await _graph_events(rt, "item_received")
    assert [(slug, p["verdict"], p["object_id"]) for slug, p in told] == [
        ("a", "sent", note), ("b", "hold", note), ("b", "released", note),
    ]  # fmt: skip
    assert told[1][1]["item_id"] == held.id
    assert told[1][1]["path"] == [rt.ids.group("a")] and told[1][1]["origin"] == rt.ids.group("a")


async def test_spaces_published_after_the_relation_are_relinked_once(rt: Runtime) -> None:
    """A remote group that published no space when its relation was accepted is
    linked once its actor shows one (the resolver's observer); the start-up
    relink also covers local pairs; each relink is recorded once per space."""
    from imago_fed.activitypub.relations import GroupSpaces
    from imago_fed.domain.ports.federation import RemoteActor
    from imago_fed.store.remote_actors import PgRemoteActors

    assert rt.relations is not None
    await _groups(rt, "garden", "allotments")
    await _relate(rt, "garden", "allotments", "subgroup")
    uri = "https://far.test/groups/late"
    actors = PgRemoteActors(rt.pool)

    def actor(space: str, server: str) -> RemoteActor:
        return RemoteActor(
            uri=uri, host="far.test", type="Group", preferred_username="late", name="Late",
            inbox=f"{uri}/inbox", shared_inbox=None, key_id=f"{uri}#main-key",
            public_key_pem="PEM", fetched_at=datetime.now(UTC), space=space, space_server=server,
        )  # fmt: skip

    await actors.upsert(actor("", ""), {"id": uri})
    said = await rt.relations.offered(uri, rt.ids.group("garden"), "subgroup",
                                      "https://far.test/activities/late")  # fmt: skip
    assert said == "done"
    [offer] = [r for r in await rt.relations.list("garden", frozenset({"proposed"}))
               if r.peer == uri]  # fmt: skip
    await rt.relations.answer("garden", offer.id, accept=True, author="ann")

    def relinks(told: list[tuple[str, dict]]) -> list[tuple[str, str, str]]:
        return [(slug, p["other_slug"] or p["other"], p["other_space"])
                for slug, p in told if p.get("relink")]  # fmt: skip

    observer = GroupSpaces(rt.relations)
    await observer(actor("", ""), {"id": uri})  # still no space: nothing to link
    assert relinks(await _graph_events(rt, "relation_changed")) == []
    await actors.upsert(actor("!lateSpace", "hs.far.test"), {"id": uri})
    await observer(actor("!lateSpace", "hs.far.test"), {"id": uri})
    await observer(actor("!lateSpace", "hs.far.test"), {"id": uri})  # fetched again
    assert relinks(await _graph_events(rt, "relation_changed")) == [("garden", uri, "!lateSpace")]
    await rt.relations.relink()  # what start-up does
    await rt.relations.relink()
    assert sorted(relinks(await _graph_events(rt, "relation_changed"))) == [
        ("allotments", "garden", ""),
        ("garden", "allotments", ""),
        ("garden", uri, "!lateSpace"),
    ]

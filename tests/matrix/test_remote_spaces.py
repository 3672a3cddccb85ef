"""A relation with a group on another instance links the two groups' spaces:
the bridge over in-memory ports, talking HTTP to a loopback stand-in for the
homeserver that records every request (tests.receiver).

Each side writes only in its own space: ``m.space.child`` for a remote
sub-group, ``m.space.parent`` for a remote parent, ``via`` the remote
homeserver; removal empties it; a remote group with no space (a plain
fediverse group) links nothing. Two real Synapses: tests/interop/test_matrix_graph.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import unquote

import pytest

from imago_fed.domain.events import GroupEvent, RelationChanged
from imago_fed.matrix.bridge import MatrixBridge
from imago_fed.matrix.client import AppserviceClient
from imago_fed.matrix.ids import MatrixIds
from imago_fed.matrix.rooms import CHILD_KINDS
from tests.fakes.bridge import FakeBridgeInbox, FakeBridgeStore
from tests.fakes.web import FakeFederationReads, FakeGroupRepository, FixedClock, RecordingEventLog
from tests.matrix.test_bridge_over_fakes import GARDEN
from tests.receiver import Receiver, Reply, Request, receiver

FAR = "https://far.example/groups/hub"
FAR_SPACE = "!farSpace"
FAR_ALIAS = "#_imago_hub:hs.far.example"


async def homeserver(request: Request) -> Reply:
    """Sends and state events succeed; only FAR_ALIAS is known to the directory."""
    if request.method == "GET" and "/directory/room/" in request.target:
        alias = unquote(request.target.rsplit("/", 1)[-1])
        if alias == FAR_ALIAS:
            return Reply(200, {"Content-Type": "application/json"},
                         json.dumps({"room_id": FAR_SPACE}).encode())  # fmt: skip
        body = {"errcode": "M_NOT_FOUND", "error": "Room alias not found"}
        return Reply(404, {"Content-Type": "application/json"}, json.dumps(body).encode())
    return Reply(200, {"Content-Type": "application/json"}, b'{"event_id": "$sent"}')


@dataclass
class World:
    bridge: MatrixBridge
    hs: Receiver
    group_id: int

    async def told(self, relink: bool = False, **change: str) -> list[tuple[str, str, dict]]:
        """Dispatch a relation change of garden; the state events it sent:
        (room, "type/state_key", content)."""
        self.hs.requests.clear()
        data = RelationChanged(relation_id=7, other=FAR, relink=relink, **change)  # type: ignore[arg-type]
        key = f"graph|relation|7|{change['state']}|{relink}"
        assert await self.bridge.handlers.dispatch(GroupEvent(self.group_id, "graph", key, data))
        said = [r for r in self.hs.requests if "/send/m.room.message/" in r.target]
        # the sentence in the announcements room, whatever else; a relink says nothing
        assert len(said) == (0 if relink else 1)
        sent = []
        for r in self.hs.requests:
            if r.method == "PUT" and "/state/" in r.target:
                parts = [unquote(p) for p in r.target.split("/")]
                at = parts.index("state")
                sent.append((parts[at - 1], f"{parts[at + 1]}/{parts[at + 2]}", json.loads(r.body)))
        return sent


@pytest.fixture
async def world() -> AsyncIterator[World]:
    groups = FakeGroupRepository()
    group = await groups.add(GARDEN)
    assert group.id is not None
    store = FakeBridgeStore()
    store.add_room(group.id, "space", "!space")
    for kind in CHILD_KINDS:
        store.add_room(group.id, kind, f"!{kind}")
    async with receiver(homeserver) as hs:
        client = AppserviceClient(hs.base_url, "as-token")
        bridge = MatrixBridge(
            client, MatrixIds("hs.example"), groups, FixedClock(), store=store,
            inbox=FakeBridgeInbox(), events=RecordingEventLog(), reads=FakeFederationReads(),
            appservice_id="imago", handle_domain="groups.example",
        )  # fmt: skip
        try:
            yield World(bridge, hs, group.id)
        finally:
            await client.close()


async def test_a_remote_subgroup_becomes_a_child_of_our_space_and_leaves_it(world: World) -> None:
    far = {"other_space": FAR_SPACE, "other_space_server": "hs.far.example"}
    accepted = await world.told(other_is="subgroup", state="accepted", **far)
    assert accepted == [("!space", f"m.space.child/{FAR_SPACE}", {"via": ["hs.far.example"]})]
    removed = await world.told(other_is="subgroup", state="removed", **far)
    assert removed == [("!space", f"m.space.child/{FAR_SPACE}", {})]


async def test_a_remote_parent_is_named_in_our_space_only(world: World) -> None:
    far = {"other_space": FAR_SPACE, "other_space_server": "hs.far.example"}
    accepted = await world.told(other_is="parent", state="accepted", **far)
    assert accepted == [("!space", f"m.space.parent/{FAR_SPACE}", {"via": ["hs.far.example"]})]
    removed = await world.told(other_is="parent", state="removed", **far)
    assert removed == [("!space", f"m.space.parent/{FAR_SPACE}", {})]


async def test_an_alias_is_resolved_first_and_an_unknown_one_links_nothing(world: World) -> None:
    by_alias = {"other_space": FAR_ALIAS, "other_space_server": "hs.far.example"}
    assert await world.told(other_is="subgroup", state="accepted", **by_alias) == [
        ("!space", f"m.space.child/{FAR_SPACE}", {"via": ["hs.far.example"]})
    ]
    gone = {"other_space": "#_imago_gone:hs.far.example", "other_space_server": "hs.far.example"}
    assert await world.told(other_is="subgroup", state="accepted", **gone) == []


async def test_no_space_other_kinds_or_states_link_nothing(world: World) -> None:
    far = {"other_space": FAR_SPACE, "other_space_server": "hs.far.example"}
    # a plain fediverse group: the relation is still said, nothing linked, nothing fails
    assert await world.told(other_is="subgroup", state="accepted") == []
    assert await world.told(other_is="partner", state="accepted", **far) == []
    assert await world.told(other_is="parent", state="rejected", **far) == []


async def test_a_relink_links_again_and_says_nothing(world: World) -> None:
    """A relation accepted before the other group published its space, or before
    spaces were linked, is linked when told again as a relink."""
    far = {"other_space": FAR_SPACE, "other_space_server": "hs.far.example"}
    relinked = await world.told(relink=True, other_is="subgroup", state="accepted", **far)
    assert relinked == [("!space", f"m.space.child/{FAR_SPACE}", {"via": ["hs.far.example"]})]

"""The Matrix adapter over in-memory ports: what it records and which group
events it handles, for the paths that need no homeserver (those that do are
tested against a real Synapse in tests/interop/test_matrix.py).

The client points at a closed loopback port: a path that reached the
homeserver would fail the test with a connection error.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote

import pytest

from imago_fed.domain.events import (
    GroupDeleted,
    GroupEvent,
    Kind,
    MemberEdited,
    MemberPosted,
    MemberRemoved,
    PostShared,
    ProposalCounts,
)
from imago_fed.domain.groups import Group, KeyPair
from imago_fed.matrix.bridge import SOURCE, MatrixBridge
from imago_fed.matrix.client import AppserviceClient, MatrixError
from imago_fed.matrix.commands import HELP, BotCommands
from imago_fed.matrix.ids import MatrixIds
from imago_fed.matrix.rooms import CHILD_KINDS, ensure_group_rooms
from tests.fakes.bridge import FakeBridgeInbox, FakeBridgeStore
from tests.fakes.web import (
    EPOCH,
    FakeFederationReads,
    FakeGroupRepository,
    FixedClock,
    RecordingEventLog,
)

IDS = MatrixIds("hs.example")
HAZEL = "@hazel:hs.example"
GARDEN = Group("garden", "Garden", "", EPOCH, keys=KeyPair("pem", b"sealed"))


@dataclass
class World:
    bridge: MatrixBridge
    store: FakeBridgeStore
    inbox: FakeBridgeInbox
    events: RecordingEventLog
    reads: FakeFederationReads
    group: Group

    async def push(self, txn: str, *events: dict) -> None:
        assert await self.inbox.store_transaction(txn, {"events": list(events)}, FixedClock().at)
        while await self.bridge.run_events_once():
            pass


@pytest.fixture
async def world() -> AsyncIterator[World]:
    groups = FakeGroupRepository()
    group = await groups.add(GARDEN)
    assert group.id is not None
    store, inbox, events, reads = (
        FakeBridgeStore(), FakeBridgeInbox(), RecordingEventLog(), FakeFederationReads(),
    )  # fmt: skip
    store.add_room(group.id, "space", "!space")
    store.add_room(group.id, "general", "!general")
    client = AppserviceClient("http://127.0.0.1:9", "as-token")
    bridge = MatrixBridge(
        client, IDS, groups, FixedClock(), store=store, inbox=inbox, events=events, reads=reads,
        appservice_id="imago", handle_domain="groups.example",
    )  # fmt: skip
    try:
        yield World(bridge, store, inbox, events, reads, group)
    finally:
        await client.close()


def member(user: str, membership: str, event_id: str, room: str = "!space") -> dict:
    return {"type": "m.room.member", "state_key": user, "sender": user, "event_id": event_id,
            "room_id": room, "content": {"membership": membership}}  # fmt: skip


def message(event_id: str, body: str, room: str = "!general", **content: object) -> dict:
    return {"type": "m.room.message", "sender": HAZEL, "event_id": event_id, "room_id": room,
            "content": {"msgtype": "m.text", "body": body, **content}}  # fmt: skip


async def test_membership_follows_the_space(world: World) -> None:
    await world.push("t1", member(HAZEL, "join", "$j"), member("@kim:hs.example", "knock", "$k"))
    assert world.store.members_of[world.group.id or 0] == {
        HAZEL: "joined", "@kim:hs.example": "knocked",
    }  # fmt: skip
    await world.push("t2", member(HAZEL, "leave", "$l"))
    assert await world.store.members(world.group.id or 0) == []
    assert {e: o[0] for e, o in world.inbox.outcomes.items()} == {
        "$j": "done", "$k": "done", "$l": "done",
    }  # fmt: skip


async def test_edits_and_redactions_of_bridged_messages_become_typed_events(world: World) -> None:
    group_id = world.group.id or 0
    for event_id, object_id, origin in (("$from-matrix", "n1", "matrix"),
                                        ("$from-fedi", "n2", "fediverse")):  # fmt: skip
        await world.store.bridge(event_id=event_id, room_id="!general", object_id=object_id,
                                 group_id=group_id, origin=origin, now=FixedClock().at)  # fmt: skip
    replaces = {"m.new_content": {"msgtype": "m.text", "body": "fixed"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": "$from-matrix"}}  # fmt: skip
    redact = {"type": "m.room.redaction", "sender": HAZEL, "event_id": "$r", "room_id": "!general",
              "redacts": "$from-matrix", "content": {}}  # fmt: skip
    not_ours = {**redact, "event_id": "$r2", "redacts": "$from-fedi"}
    await world.push("t1", message("$e", "* fixed", **replaces), redact, not_ours)

    assert [(e.source, e.dedupe_key, e.data) for e in world.events.events] == [
        (SOURCE, "matrix|edited|$e", MemberEdited(HAZEL, "$from-matrix", "fixed", "<p>fixed</p>")),
        (SOURCE, "matrix|redacted|$r", MemberRemoved(HAZEL, "$from-matrix")),
    ]  # fmt: skip
    assert world.inbox.outcomes["$r2"] == (
        "ignored", "edit or redaction of a message that was not bridged from Matrix",
    )  # fmt: skip


async def test_events_of_rooms_that_are_not_ours_are_ignored(world: World) -> None:
    await world.push("t1", message("$x", "hello", room="!elsewhere"))
    assert world.inbox.outcomes["$x"] == ("ignored", "not one of our rooms")
    assert world.events.events == []


async def test_the_bridge_handles_the_kinds_it_tells_matrix_about(world: World) -> None:
    assert world.bridge.handlers.kinds == {
        Kind.GROUP_CHANGED, Kind.GROUP_DELETED, Kind.MODERATORS_CHANGED, Kind.MEMBER_INVITED,
        Kind.PROPOSAL_OPENED, Kind.PROPOSAL_CLOSED,
        Kind.POST_SHARED, Kind.POST_EDITED, Kind.POST_REMOVED,
        Kind.RELATION_CHANGED, Kind.ITEM_RECEIVED,
        Kind.ASSEMBLY_CONVENED, Kind.ASSEMBLY_SAID, Kind.ASSEMBLY_CLOSED,
        Kind.INTENT_CHANGED, Kind.MATCH_SUGGESTED,
    }  # fmt: skip
    # its own members' posts go the other way; counts wait for the end of the vote
    posted = GroupEvent(1, "x", "k", MemberPosted(HAZEL, "$1", "!general"))
    counts = GroupEvent(1, "x", "k2", ProposalCounts(proposal_id=1, title="t"))
    assert not await world.bridge.handlers.dispatch(posted)
    assert not await world.bridge.handlers.dispatch(counts)


async def test_events_of_a_deleted_group_or_one_without_rooms_send_nothing(world: World) -> None:
    post = PostShared("n9", "u", "https://a.example/u/al", "Al", "<p>x</p>")
    assert await world.bridge.handlers.dispatch(GroupEvent(99, "activitypub", "k", post))
    assert await world.bridge.handlers.dispatch(GroupEvent(99, "directory", "d", GroupDeleted("x")))
    assert world.store.bridged == [] and world.store.puppets == {}


async def test_bot_commands_answer_from_the_ports() -> None:
    store, reads = FakeBridgeStore(), FakeFederationReads()
    group = replace(GARDEN, id=4)
    reads.followers_of[4] = {"https://a.example/u/al": "accepted", "https://b/u": "pending"}
    await store.set_member(4, HAZEL, True, FixedClock().at)
    commands = BotCommands(IDS, store, reads, handle_domain="groups.example")
    info = await commands.answer(group, HAZEL, "!imago info")
    assert info == (
        "Garden: @garden@groups.example in the fediverse, #_imago_garden:hs.example in Matrix. "
        "1 fediverse followers, 1 Matrix members."
    )
    assert await commands.answer(group, HAZEL, "!imago") == HELP
    # without governance wired, its verbs get the help rather than an error
    assert await commands.answer(group, HAZEL, "!imago vote 1 2") == HELP


@dataclass
class _Released:
    id: int
    item: object


class _Propagation:
    """Releases what it holds; anything else is refused like the service refuses it."""

    def __init__(self) -> None:
        self.released: list[tuple[str, int]] = []

    async def release(self, slug: str, item_id: int) -> _Released:
        from imago_fed.domain.errors import InvalidInput
        from imago_fed.domain.graph.propagation import originate

        if item_id != 7:
            raise InvalidInput("the item is accept, not held", field="id")
        self.released.append((slug, item_id))
        return _Released(7, originate("https://a.example/n/1", "https://a.example/groups/news"))


async def test_only_moderators_and_instance_admins_release_held_announcements() -> None:
    store, reads = FakeBridgeStore(), FakeFederationReads()
    group = replace(GARDEN, id=4)
    reads.moderators_of[4] = ["@mod:hs.example"]
    propagation = _Propagation()
    commands = BotCommands(IDS, store, reads, handle_domain="groups.example",
                           admins=frozenset({"@root:hs.example"}))  # fmt: skip
    commands.attach(propagation=propagation)
    refused = await commands.answer(group, HAZEL, "!imago release 7")
    assert refused == f"{HAZEL}: only a moderator of Garden may release an announcement."
    assert propagation.released == []
    assert "usage" in await commands.answer(group, "@mod:hs.example", "!imago release seven")
    said = await commands.answer(group, "@mod:hs.example", "!imago release 7")
    assert said.startswith("Announcement 7 released by @mod:hs.example: Garden boosts")
    not_held = await commands.answer(group, "@root:hs.example", "!imago release 8")
    assert not_held == "@root:hs.example: the item is accept, not held"
    assert propagation.released == [("garden", 7)]


class RacedHomeserver(AppserviceClient):
    """A homeserver where another process took the space's alias while our
    ``createRoom`` ran: Synapse then answers 409 (M_UNKNOWN), not M_ROOM_IN_USE."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9", "as-token")
        self.aliases: dict[str, str] = {}
        self.made = 0

    async def request(
        self, method: str, endpoint: str, body: dict[str, Any] | None = None,
        *, as_user: str | None = None, query: dict[str, str] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        if endpoint.startswith("v3/directory/room/"):
            alias = unquote(endpoint.removeprefix("v3/directory/room/"))
            if alias not in self.aliases:
                raise MatrixError(404, "M_NOT_FOUND", "no such alias")
            return {"room_id": self.aliases[alias]}
        if endpoint == "v3/createRoom":
            assert body is not None
            self.made += 1
            alias = f"#{body['room_alias_name']}:hs.example"
            if "space" not in str(body.get("creation_content")) or self.made > 1:
                self.aliases[alias] = f"!room{self.made}"
                return {"room_id": f"!room{self.made}"}
            self.aliases[alias] = "!theirs"  # the other process's create won
            raise MatrixError(409, "M_UNKNOWN", f"Room alias {alias} already exists")
        return {"event_id": "$state"}


async def test_a_space_made_by_a_racing_process_is_adopted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The founder's admission and the log reader both make the rooms of a new
    group; the one that loses the alias adopts the winner's space, and saying
    so in the log (at INFO) does not fail the step."""
    store, client = FakeBridgeStore(), RacedHomeserver()
    with caplog.at_level(logging.INFO, logger="imago_fed.matrix.rooms"):
        rooms = await ensure_group_rooms(client, store, IDS, replace(GARDEN, id=1), EPOCH)
    assert rooms["space"] == "!theirs"
    assert set(rooms) == {"space", *CHILD_KINDS}
    assert any(r.getMessage() == "group space ready" for r in caplog.records)

"""The ActivityPub adapter's use cases over in-memory ports: no database, no network.

Inbox processing (Follow -> Accept, posts re-shared, refusals), answering
follow requests, following another group, and publishing's all-or-nothing
rule, each in milliseconds. The same behaviour against PostgreSQL and signed
HTTP is covered by ``test_processing.py`` and the interop tests.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from imago_fed.activitypub.actors import ActorResolver
from imago_fed.activitypub.following import Following
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.membership import FediverseMembers
from imago_fed.activitypub.processing import InboxProcessor
from imago_fed.activitypub.publish import publish
from imago_fed.domain.errors import Conflict, NotFound
from imago_fed.domain.events import EventHandlers, GroupEvent, Kind, MemberInvited
from imago_fed.domain.groups import Group, KeyPair
from imago_fed.services.worker import LocalWakeup
from tests.fakes.federation import MemoryFederation
from tests.fakes.web import EPOCH, FakeGroupRepository, FixedClock

BASE = "https://imago.test"
ALICE = "https://social.example/users/alice"
SHARED = "https://social.example/inbox"


class Unreachable(Exception):
    pass


@dataclass
class World:
    fed: MemoryFederation
    groups: FakeGroupRepository
    ids: Ids
    clock: FixedClock
    documents: dict[str, dict[str, Any]]  # what "fetching" a URL answers
    group: Group

    @property
    def gid(self) -> int:
        assert self.group.id is not None
        return self.group.id

    async def fetch(self, url: str) -> dict[str, Any]:
        if url not in self.documents:
            raise Unreachable(f"no answer from {url}")
        return self.documents[url]

    @property
    def resolver(self) -> ActorResolver:
        return ActorResolver(self.fed.remote_actors, self.fetch, self.clock)

    @property
    def processor(self) -> InboxProcessor:
        return InboxProcessor(
            self.fed, LocalWakeup(), self.resolver, self.groups, self.ids, self.clock
        )

    @property
    def following(self) -> Following:
        return Following(
            self.fed, self.resolver, self.fetch, self.ids, self.clock, allow_http=False
        )

    async def receive(self, activity: dict[str, Any]) -> tuple[str, str | None]:
        """Queue a verified activity, run one processing step, return its outcome."""
        actor = activity["actor"]
        await self.fed.inbox.store(
            activity=activity, actor_uri=actor, group_id=self.gid, now=self.clock.now()
        )
        await self.processor.run_once()
        return self.fed.inbox.state_of(activity["id"])

    def follow(self, actor: str = ALICE, n: int = 1) -> dict[str, Any]:
        return {"id": f"{actor}/follows/{n}", "type": "Follow", "actor": actor,
                "object": self.ids.group(self.group.slug)}  # fmt: skip


async def _world(**group: Any) -> World:
    groups = FakeGroupRepository()
    stored = await groups.add(
        Group(slug="garden", name="Garden", summary="", created_at=EPOCH,
              keys=KeyPair(public_pem="-----FAKE-----", sealed_private=b"sealed"), **group)
    )  # fmt: skip
    return World(MemoryFederation(), groups, Ids(BASE), FixedClock(), {}, stored)


@pytest.fixture
async def world() -> World:
    return await _world()


async def test_a_follow_of_an_open_group_is_accepted_to_the_followers_inbox(world: World) -> None:
    world.fed.remember(ALICE, shared=SHARED, now=EPOCH)
    follow = world.follow()

    assert await world.receive(follow) == ("done", None)

    assert await world.fed.follows.is_follower(world.gid, ALICE)
    [accept] = world.fed.outbox.of_type("Accept")
    assert accept["object"]["id"] == follow["id"] and accept["actor"] == world.ids.group("garden")
    assert await world.fed.outbox.get(accept["id"]) == (accept, False)  # not in the public outbox
    # The Accept goes to the follower's own inbox, not the shared one.
    assert world.fed.deliveries.inboxes(accept["id"]) == [f"{ALICE}/inbox"]


async def test_a_repeated_follow_is_answered_once() -> None:
    world = await _world()
    world.fed.remember(ALICE, now=EPOCH)
    follow = world.follow()
    await world.receive(follow)
    # A redelivery is refused by the queue; a new Follow with a new id is answered again.
    assert not await world.fed.inbox.store(
        activity=follow, actor_uri=ALICE, group_id=world.gid, now=EPOCH
    )
    await world.processor.run_once()
    assert len(world.fed.outbox.of_type("Accept")) == 1


async def test_a_moderator_answers_a_follow_request_of_a_manual_group() -> None:
    world = await _world(manually_approves_followers=True)
    world.fed.remember(ALICE, now=EPOCH)

    assert await world.receive(world.follow()) == ("done", None)
    assert not await world.fed.follows.is_follower(world.gid, ALICE)
    assert world.fed.outbox.of_type("Accept") == []

    await world.following.answer_follower(world.group, ALICE, accept=True)
    assert await world.fed.follows.is_follower(world.gid, ALICE)
    [accept] = world.fed.outbox.of_type("Accept")
    assert world.fed.deliveries.inboxes(accept["id"]) == [f"{ALICE}/inbox"]
    with pytest.raises(Conflict):  # nothing pending any more
        await world.following.answer_follower(world.group, ALICE, accept=True)


async def test_a_blocked_domain_is_rejected_and_does_not_follow(world: World) -> None:
    world.fed.remember(ALICE, now=EPOCH)
    world.fed.moderation.blocks.add((world.gid, "domain", "example"))

    assert await world.receive(world.follow()) == ("done", None)

    assert not await world.fed.follows.is_follower(world.gid, ALICE)
    [reject] = world.fed.outbox.of_type("Reject")
    assert world.fed.deliveries.inboxes(reject["id"]) == [f"{ALICE}/inbox"]
    assert world.fed.outbox.of_type("Accept") == []


async def test_a_followers_post_is_announced_twice_and_told_to_the_other_networks(
    world: World,
) -> None:
    world.fed.remember(ALICE, shared=SHARED, name="Alice", now=EPOCH)
    await world.receive(world.follow())
    note = {"id": f"{ALICE}/notes/1", "type": "Note", "attributedTo": ALICE,
            "content": "<p>hello</p>", "to": [world.ids.group("garden")]}  # fmt: skip
    create = {"id": f"{ALICE}/creates/1", "type": "Create", "actor": ALICE, "object": note}

    assert await world.receive(create) == ("done", None)

    whole, boost = world.fed.outbox.of_type("Announce")
    assert whole["object"] == create and boost["object"] == note["id"]
    assert world.fed.deliveries.inboxes(whole["id"]) == [SHARED]
    assert world.fed.deliveries.inboxes(boost["id"]) == [SHARED]
    [event] = world.fed.events.events
    assert event.kind == Kind.POST_SHARED and event.group_id == world.gid
    assert event.data.author_name == "Alice" and event.data.object_id == note["id"]


async def test_a_post_by_someone_who_does_not_follow_is_not_announced(world: World) -> None:
    world.fed.remember(ALICE, now=EPOCH)
    note = {"id": f"{ALICE}/notes/1", "type": "Note", "attributedTo": ALICE,
            "to": [world.ids.group("garden")]}  # fmt: skip
    create = {"id": f"{ALICE}/creates/1", "type": "Create", "actor": ALICE, "object": note}

    assert await world.receive(create) == ("ignored", "author does not follow the group")
    assert world.fed.outbox.items == [] and world.fed.events.events == []


async def test_an_actor_that_cannot_be_fetched_is_retried_later(world: World) -> None:
    follow = world.follow()  # ALICE is not cached and her server does not answer

    state, error = await world.receive(follow)

    assert state == "queued" and error is not None and "cannot fetch actor" in error
    assert world.fed.outbox.items == []
    world.fed.remember(ALICE, now=EPOCH)  # her server answers again
    world.clock.at = world.clock.at.replace(year=2027)  # past the backoff
    await world.processor.run_once()
    assert world.fed.inbox.state_of(follow["id"]) == ("done", None)
    assert await world.fed.follows.is_follower(world.gid, ALICE)


async def test_a_group_follows_another_and_takes_its_accept(world: World) -> None:
    sea = "https://peer.example/groups/sea"
    world.documents[sea] = {"id": sea, "type": "Group", "inbox": f"{sea}/inbox",
                            "preferredUsername": "sea"}  # fmt: skip

    asked = await world.following.follow(world.group, sea)

    assert asked["state"] == "requested"
    [follow] = world.fed.outbox.of_type("Follow")
    assert world.fed.deliveries.inboxes(follow["id"]) == [f"{sea}/inbox"]
    accept = {"id": f"{sea}/accepts/1", "type": "Accept", "actor": sea, "object": follow["id"]}
    assert await world.receive(accept) == ("done", None)
    assert await world.fed.follows.is_followed(sea)
    # Someone else cannot accept it for them.
    forged = {**accept, "id": f"{ALICE}/accepts/1", "actor": ALICE}
    world.fed.remember(ALICE, now=EPOCH)
    assert await world.receive(forged) == ("ignored", "answer to no follow of ours")


class BrokenQueue:
    async def enqueue(self, **_: Any) -> int:
        raise RuntimeError("the queue is down")


async def test_publishing_stores_nothing_when_the_deliveries_cannot_be_queued(
    world: World,
) -> None:
    world.fed.deliveries = BrokenQueue()  # type: ignore[assignment]
    activity = {"id": f"{BASE}/activities/1", "type": "Announce"}

    with pytest.raises(RuntimeError):
        await publish(world.fed, group_id=1, activity=activity, inboxes=[SHARED], now=EPOCH)

    assert await world.fed.outbox.get(activity["id"]) is None


async def test_publishing_twice_queues_once(world: World) -> None:
    activity = {"id": f"{BASE}/activities/1", "type": "Announce"}
    assert await publish(world.fed, group_id=1, activity=activity, inboxes=[SHARED], now=EPOCH)
    again = await publish(
        world.fed, group_id=1, activity=activity, inboxes=["https://b.example/inbox"], now=EPOCH
    )
    assert not again
    assert world.fed.deliveries.inboxes(activity["id"]) == [SHARED]


async def test_a_fediverse_founder_not_admitted_at_creation_is_admitted_by_the_reader(
    world: World,
) -> None:
    members = FediverseMembers(
        world.fed, world.following, world.resolver, world.ids, world.clock, world.groups
    )
    handlers = EventHandlers.of(members)
    invited = GroupEvent(world.gid, "membership", f"founder|{world.gid}|{ALICE}",
                         MemberInvited(ALICE, "founder of the group"))  # fmt: skip
    # The peer does not answer yet: the handler fails, so the reader keeps the event.
    with pytest.raises(NotFound, match="cannot reach"):
        await handlers.dispatch(invited)
    assert not await world.fed.follows.is_follower(world.gid, ALICE)

    world.fed.remember(ALICE, now=EPOCH)  # it answers now
    assert await handlers.dispatch(invited)
    assert await world.fed.follows.is_follower(world.gid, ALICE)
    [told] = world.fed.outbox.of_type("Create")
    assert "founder of the group" in told["object"]["content"]
    await handlers.dispatch(invited)  # a second delivery of the event changes nothing
    assert len(world.fed.outbox.of_type("Create")) == 1

    # A Matrix person is the Matrix reader's business.
    matrix = GroupEvent(world.gid, "membership", "founder|m", MemberInvited("@bo:hs.example"))
    await handlers.dispatch(matrix)
    assert len(world.fed.outbox.of_type("Create")) == 1


class CountingActors:
    """The remote actor cache, counting reads by key id (each a database read)."""

    def __init__(self, world: World) -> None:
        self.inner, self.reads = world.fed.remote_actors, 0

    async def get_by_uri(self, uri: str) -> Any:
        return await self.inner.get_by_uri(uri)

    async def get_by_key_id(self, key_id: str) -> Any:
        self.reads += 1
        return await self.inner.get_by_key_id(key_id)

    async def upsert(self, actor: Any, document: dict[str, Any]) -> None:
        await self.inner.upsert(actor, document)


async def test_a_parsed_key_is_kept_in_memory_until_it_expires_or_is_refreshed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from imago_fed.activitypub import actors

    def pem() -> str:
        public = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
        return public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def document(key: str) -> dict[str, Any]:
        return {"id": ALICE, "type": "Person", "inbox": f"{ALICE}/inbox",
                "publicKey": {"id": f"{ALICE}#main-key", "owner": ALICE,
                              "publicKeyPem": key}}  # fmt: skip

    first, second = pem(), pem()
    world.documents[ALICE] = document(first)
    counting = CountingActors(world)
    resolver = ActorResolver(counting, world.fetch, world.clock)
    key_id = f"{ALICE}#main-key"
    assert not resolver.knows_key(key_id)
    _, key = await resolver.key(key_id)  # fetched, cached in the database and here
    assert resolver.knows_key(key_id) and counting.reads == 1
    world.documents[ALICE] = document(second)  # the actor rotates its key
    _, again = await resolver.key(key_id)
    assert again is key and counting.reads == 1  # no database read
    _, fresh = await resolver.key(key_id, refresh=True)  # a signature failed: fetched again
    assert fresh.public_numbers() != key.public_numbers()
    _, kept = await resolver.key(key_id)
    assert kept is fresh and counting.reads == 1
    monkeypatch.setattr(actors, "KEY_CACHE_SECONDS", 0.0)  # expired: read again
    assert not resolver.knows_key(key_id)
    await resolver.key(key_id)
    assert counting.reads == 2


async def test_a_batch_runs_each_actors_activities_in_order_and_the_actors_side_by_side(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Alice follows and unfollows in one batch (her Undo must come after her
    Follow); Bob's Follow is handled while Alice's first one waits on the database."""
    world = await _world()
    bob = "https://other.example/users/bob"
    for actor in (ALICE, bob):
        world.fed.remember(actor, now=EPOCH)
    follow = world.follow()
    undo = {"id": f"{ALICE}/undo/1", "type": "Undo", "actor": ALICE, "object": follow}
    for activity in (follow, undo, world.follow(bob)):
        await world.fed.inbox.store(
            activity=activity, actor_uri=activity["actor"], group_id=world.gid, now=EPOCH
        )
    order: list[str] = []
    add, remove = world.fed.follows.add_follower, world.fed.follows.remove_follower

    async def slow_add(group_id: int, actor: str, *args: Any) -> None:
        order.append(f"add {actor}")
        if actor == ALICE:  # a slow round trip: Bob's lane goes meanwhile
            await asyncio.sleep(0.05)
        await add(group_id, actor, *args)

    async def logged_remove(group_id: int, actor: str) -> str | None:
        order.append(f"remove {actor}")
        return await remove(group_id, actor)

    monkeypatch.setattr(world.fed.follows, "add_follower", slow_add)
    monkeypatch.setattr(world.fed.follows, "remove_follower", logged_remove)
    assert await world.processor.run_once() == 3
    assert order == [f"add {ALICE}", f"add {bob}", f"remove {ALICE}"]
    assert not await world.fed.follows.is_follower(world.gid, ALICE)
    assert await world.fed.follows.is_follower(world.gid, bob)
    assert [world.fed.inbox.state_of(a["id"])[0] for a in (follow, undo)] == ["done", "done"]


async def test_accepting_a_relation_reads_the_proposers_actor_afresh(world: World) -> None:
    """A copy cached before the proposer's Matrix space existed would link nothing:
    accepting fetches the actor again; an unreachable proposer keeps its copy."""
    from imago_fed.activitypub.relations import ApGraph
    from imago_fed.domain.graph.relations import Relation
    from imago_fed.domain.ports.relations import StoredRelation

    sent: list[tuple[dict[str, Any], list[str] | None]] = []

    async def publish_it(group_id: int, activity: dict[str, Any], inboxes: list[str] | None,
                         object_id: str | None = None) -> None:  # fmt: skip
        sent.append((activity, inboxes))

    wire = ApGraph(publish_it, world.resolver, world.following, world.ids, world.groups)
    garden = world.ids.group("garden")
    for n, hub in enumerate(("https://far.example/groups/hub", "https://gone.example/groups/x")):
        world.fed.remember(hub, now=EPOCH)  # fetched before: no space
        stored = StoredRelation(n + 1, world.gid, Relation(hub, garden, "subgroup"), hub,
                                f"{hub}/offers/1")  # fmt: skip
        world.documents[hub] = {
            "id": hub, "type": "Group", "inbox": f"{hub}/inbox",
            "matrixSpace": {"matrixRoomId": "!hubSpace", "matrixServer": "hs.far.example"},
        }  # fmt: skip
        if "gone" in hub:
            del world.documents[hub]
        await wire.answer("garden", stored, accept=True)
    far = await world.fed.remote_actors.get_by_uri("https://far.example/groups/hub")
    gone = await world.fed.remote_actors.get_by_uri("https://gone.example/groups/x")
    assert far is not None and (far.space, far.space_server) == ("!hubSpace", "hs.far.example")
    assert gone is not None and gone.space == "" and gone.type == "Person"  # the cached copy
    assert [(a["type"], inboxes) for a, inboxes in sent] == [
        ("Accept", ["https://far.example/groups/hub/inbox"]),
        ("Accept", ["https://gone.example/groups/x/inbox"]),
    ]


async def test_a_batch_reads_what_its_posts_share_once_and_again_after_a_follow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three posts in one batch read the author's standing (following, blocks),
    the group's followers' inboxes and the author once; Bob's Follow in the
    batch makes the posts after it read them again, so his own post, after his
    Follow in his lane, reaches his inbox."""
    world = await _world()
    bob, bob_inbox = "https://other.example/users/bob", "https://other.example/inbox"
    world.fed.remember(ALICE, shared=SHARED, name="Alice", now=EPOCH)
    world.fed.remember(bob, shared=bob_inbox, now=EPOCH)
    await world.receive(world.follow())

    def post(actor: str, n: int) -> dict[str, Any]:
        note = {"id": f"{actor}/notes/{n}", "type": "Note", "attributedTo": actor,
                "to": [world.ids.group("garden")]}  # fmt: skip
        return {"id": f"{actor}/creates/{n}", "type": "Create", "actor": actor, "object": note}

    reads: list[str] = []
    inboxes, actor = world.fed.follows.follower_delivery_inboxes, world.fed.remote_actors.get_by_uri

    async def counted_inboxes(group_id: int, *, exclude: str | None) -> list[str]:
        reads.append("inboxes")
        return await inboxes(group_id, exclude=exclude)

    async def counted_actor(uri: str) -> Any:
        reads.append(uri)
        return await actor(uri)

    standing = world.fed.standing

    async def counted_standing(group_id: int, actor: str, host: str) -> tuple[bool, bool]:
        reads.append(f"standing of {actor}")
        return await standing(group_id, actor, host)

    monkeypatch.setattr(world.fed, "standing", counted_standing)
    monkeypatch.setattr(world.fed.follows, "follower_delivery_inboxes", counted_inboxes)
    monkeypatch.setattr(world.fed.remote_actors, "get_by_uri", counted_actor)
    for activity in (post(ALICE, 1), post(ALICE, 2), post(ALICE, 3)):
        await world.fed.inbox.store(activity=activity, actor_uri=ALICE, group_id=world.gid,
                                    now=EPOCH)  # fmt: skip
    assert await world.processor.run_once() == 3
    assert reads == [f"standing of {ALICE}", "inboxes", ALICE]
    assert len(world.fed.outbox.of_type("Announce")) == 6

    reads.clear()
    for activity in (post(ALICE, 4), world.follow(bob), post(bob, 1)):
        await world.fed.inbox.store(activity=activity, actor_uri=activity["actor"],
                                    group_id=world.gid, now=EPOCH)  # fmt: skip
    assert await world.processor.run_once() == 3
    assert reads.count("inboxes") == 2  # Alice's post, then Bob's after his Follow
    assert world.fed.inbox.state_of(post(bob, 1)["id"]) == ("done", None)
    whole = next(a for a in world.fed.outbox.of_type("Announce")
                 if a["object"] == post(bob, 1))  # fmt: skip
    assert world.fed.deliveries.inboxes(whole["id"]) == sorted([SHARED, bob_inbox])


async def test_a_batchs_posts_are_re_shared_together_and_an_edit_after_its_post(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Posts are published in one go with the batch's others; an edit reads what
    was re-shared, so its post goes out before it; a share that fails alone
    puts its row back for a later try, and the others are done."""
    world = await _world()
    world.fed.remember(ALICE, shared=SHARED, now=EPOCH)
    await world.receive(world.follow())

    def post(n: int) -> dict[str, Any]:
        note = {"id": f"{ALICE}/notes/{n}", "type": "Note", "attributedTo": ALICE,
                "to": [world.ids.group("garden")]}  # fmt: skip
        return {"id": f"{ALICE}/creates/{n}", "type": "Create", "actor": ALICE, "object": note}

    update = {"id": f"{ALICE}/updates/2", "type": "Update", "actor": ALICE,
              "object": {**post(2)["object"], "content": "edited"}}  # fmt: skip
    calls: list[list[str]] = []
    share = world.fed.share

    async def logged(shares: Any, *, now: datetime) -> int:
        names = [a["object"]["id"] if isinstance(a["object"], dict) else a["object"]
                 for s in shares for a, _ in s.activities[:1]]  # fmt: skip
        calls.append(names)
        if len(shares) > 1 and post(4)["id"] in names:
            raise RuntimeError("one of them fails the statement")
        if names == [post(4)["id"]]:
            raise RuntimeError("its group went away")
        return await share(shares, now=now)

    monkeypatch.setattr(world.fed, "share", logged)
    for activity in (post(1), post(2), update, post(3), post(4)):
        await world.fed.inbox.store(activity=activity, actor_uri=ALICE, group_id=world.gid,
                                    now=EPOCH)  # fmt: skip
    assert await world.processor.run_once() == 5
    one, two, three, four = (post(n)["id"] for n in (1, 2, 3, 4))
    assert calls == [
        [one, two],  # together, before the edit of the second
        [update["id"], three, four],  # at the end; failed, so each alone:
        [update["id"]], [three], [four],
    ]  # fmt: skip
    states = [world.fed.inbox.state_of(a["id"]) for a in (post(1), post(2), update, post(3))]
    assert states == [("done", None)] * 4
    state, error = world.fed.inbox.state_of(four)
    assert state == "queued" and error == "RuntimeError: its group went away"
    assert len(world.fed.outbox.of_type("Announce")) == 7  # 3 posts twice, the edit once

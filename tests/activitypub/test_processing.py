"""FEP-1b12 group behaviour, from signed inbound activities to queued deliveries.

Inbound requests are real (signed by a loopback remote server's actors); the
inbox processor runs step by step; what the group emits is read back from the
outbox and the delivery queue.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client

from imago_fed.app import create_app
from imago_fed.web.runtime import EXTENSION_KEY, Runtime
from tests.activitypub.actor_host import ActorHost, RemoteActor, actor_host


class World:
    def __init__(self, rt: Runtime, client: Client, host: ActorHost) -> None:
        self.rt, self.client, self.host = rt, client, host
        self.group = rt.ids.group("garden")

    async def send(
        self, actor: RemoteActor, activity: dict[str, Any], path: str = "/inbox"
    ) -> None:
        body = json.dumps(activity).encode()
        url = self.rt.settings.instance.base_url + path
        response = await self.client.post(
            path,
            data=body,
            headers={"Host": self.rt.settings.instance.domain, **actor.sign(url, body)},
        )
        assert response.status_code == 202, await response.get_data()
        await self.rt.inbox_processor.run_once()

    async def emitted(self, kind: str | None = None) -> list[dict[str, Any]]:
        rows = await self.rt.pool.fetch("SELECT body FROM outbox ORDER BY id")
        docs = [json.loads(r["body"]) for r in rows]
        return [d for d in docs if kind is None or d["type"] == kind]

    async def deliveries(self, activity_id: str) -> list[str]:
        rows = await self.rt.pool.fetch(
            "SELECT inbox FROM deliveries WHERE activity_id = $1 ORDER BY inbox", activity_id
        )
        return [r["inbox"] for r in rows]

    async def outcome(self, activity_id: str) -> tuple[str, str | None]:
        row = await self.rt.pool.fetchrow(
            "SELECT state, error FROM inbox_activities WHERE activity_id = $1", activity_id
        )
        return row["state"], row["error"]

    def note(self, actor: RemoteActor, n: int = 1, **extra: Any) -> dict[str, Any]:
        return {"id": f"{actor.id}/notes/{n}", "type": "Note", "attributedTo": actor.id,
                "content": "hello", "to": [self.group], **extra}  # fmt: skip

    async def follow(self, actor: RemoteActor) -> dict[str, Any]:
        follow = actor.activity("Follow", self.group)
        await self.send(actor, follow, "/groups/garden/inbox")
        return follow


@pytest.fixture
async def world(migrated_db: str, make_settings) -> AsyncIterator[World]:
    settings = make_settings(
        migrated_db,
        IMAGO_FEDERATION_ALLOW_HTTP="true",
        IMAGO_FEDERATION_ALLOW_PRIVATE_ADDRESSES="true",
        IMAGO_FEDERATION_WORKERS_IN_SERVE="false",
    )
    app = create_app(settings, migrated_db)
    async with actor_host() as host, app.test_app() as test_app:
        rt: Runtime = app.extensions[EXTENSION_KEY]
        await rt.groups.create("garden", "Garden")
        yield World(rt, test_app.test_client(), host)


async def test_follow_is_accepted_and_posts_are_announced_twice(world: World) -> None:
    alice, bob = world.host.add("alice", 0), world.host.add("bob", 1)
    follow = await world.follow(alice)
    [accept] = await world.emitted("Accept")
    assert accept["object"]["id"] == follow["id"] and accept["actor"] == world.group
    assert await world.deliveries(accept["id"]) == [alice.document()["inbox"]]
    await world.follow(bob)

    create = alice.activity("Create", world.note(alice), to=[world.group])
    await world.send(alice, create)
    announces = await world.emitted("Announce")
    assert [a["object"] for a in announces] == [create, create["object"]["id"]]
    for announce in announces:
        assert announce["audience"] == world.group
        # Both followers share one shared inbox: one delivery row, not two.
        assert await world.deliveries(announce["id"]) == [f"{world.host.base_url}/inbox"]

    # Processing the same activity again emits nothing new (stable ids).
    await world.rt.pool.execute("UPDATE inbox_activities SET state = 'queued'")
    await world.rt.inbox_processor.run_once()
    assert len(await world.emitted("Announce")) == 2


async def test_non_followers_are_not_announced_and_blocked_authors_neither(world: World) -> None:
    alice, mallory = world.host.add("alice", 0), world.host.add("mallory", 1)
    create = mallory.activity("Create", world.note(mallory), to=[world.group])
    await world.send(mallory, create)
    assert await world.outcome(create["id"]) == ("ignored", "author does not follow the group")

    await world.follow(mallory)
    group = await world.rt.groups.get("garden")
    await world.rt.pool.execute(
        "INSERT INTO blocks (group_id, kind, value, created_at) VALUES ($1, 'actor', $2, now())",
        group.id, mallory.id,
    )  # fmt: skip
    again = mallory.activity("Create", world.note(mallory, 2), to=[world.group])
    await world.send(mallory, again)
    assert await world.outcome(again["id"]) == ("ignored", "author blocked")
    assert await world.emitted("Announce") == []
    del alice


async def test_updates_deletes_and_likes_are_forwarded_only_from_the_right_people(
    world: World,
) -> None:
    alice, bob = world.host.add("alice", 0), world.host.add("bob", 1)
    await world.follow(alice)
    await world.follow(bob)
    note = world.note(alice)
    await world.send(alice, alice.activity("Create", note, to=[world.group]))

    forged = bob.activity("Update", {**note, "content": "pwned", "attributedTo": bob.id})
    await world.send(bob, forged)
    assert await world.outcome(forged["id"]) == ("ignored", "only the author may edit or delete")

    update = alice.activity("Update", {**note, "content": "edited"})
    like = bob.activity("Like", note["id"])
    delete = alice.activity("Delete", note["id"])
    for actor, activity in ((alice, update), (bob, like), (alice, delete)):
        await world.send(actor, activity)
        assert await world.outcome(activity["id"]) == ("done", None)
    forwarded = [
        a["object"]["id"] for a in await world.emitted("Announce") if isinstance(a["object"], dict)
    ]
    assert forwarded[-3:] == [update["id"], like["id"], delete["id"]]


async def test_manual_approval_through_the_admin_api(world: World) -> None:
    alice = world.host.add("alice", 0)
    await world.rt.pool.execute("UPDATE groups SET manually_approves_followers = true")
    await world.follow(alice)
    assert await world.emitted("Accept") == []
    auth = {"Authorization": f"Bearer {world.rt.settings.instance.admin_token.value}"}
    pending = await world.client.get("/api/v1/groups/garden/followers?state=pending", headers=auth)
    assert (await pending.get_json())["items"] == [alice.id]
    accepted = await world.client.post(
        "/api/v1/groups/garden/followers/accept", json={"actor": alice.id}, headers=auth
    )
    assert accepted.status_code == 204
    assert len(await world.emitted("Accept")) == 1
    again = await world.client.post(
        "/api/v1/groups/garden/followers/accept", json={"actor": alice.id}, headers=auth
    )
    assert again.status_code == 409


async def test_unfollow_flag_and_block(world: World) -> None:
    alice, bob = world.host.add("alice", 0), world.host.add("bob", 1)
    follow = await world.follow(alice)
    await world.follow(bob)
    await world.send(alice, alice.activity("Undo", follow))
    group = await world.rt.groups.get("garden")
    followers = await world.rt.pool.fetch(
        "SELECT actor_uri FROM group_followers WHERE group_id = $1", group.id
    )
    assert [r["actor_uri"] for r in followers] == [bob.id]

    flag = bob.activity("Flag", [world.group, f"{alice.id}/notes/1"], content="spam")
    await world.send(bob, flag)
    report = await world.rt.pool.fetchrow("SELECT reporter, content FROM reports")
    assert (report["reporter"], report["content"]) == (bob.id, "spam")

    await world.send(bob, bob.activity("Block", world.group))
    blocked = await world.rt.pool.fetchval("SELECT actor_uri FROM blocked_by")
    assert blocked == bob.id
    # bob no longer receives anything from the group
    create = bob.activity("Create", world.note(bob), to=[world.group])
    await world.send(bob, create)
    assert await world.emitted("Announce") == []


async def test_moderators_are_listed_announced_and_see_the_followers(world: World) -> None:
    alice, bob = world.host.add("alice", 0), world.host.add("bob", 1)
    await world.follow(alice)
    auth = {"Authorization": f"Bearer {world.rt.settings.instance.admin_token.value}"}
    added = await world.client.post(
        "/api/v1/groups/garden/moderators", json={"actor": bob.id}, headers=auth
    )
    assert added.status_code == 201
    [add] = await world.emitted("Add")
    assert add["object"] == bob.id and add["target"] == world.rt.ids.group_collection(
        "garden", "moderators"
    )
    collection = await (await world.client.get("/groups/garden/moderators")).get_json()
    assert collection["orderedItems"] == [bob.id]
    # The follower list: a count for everyone, the items only for a moderator's signed GET.
    anonymous = await (await world.client.get("/groups/garden/followers?page=1")).get_json()
    assert anonymous["totalItems"] == 1 and "orderedItems" not in anonymous
    path = "/groups/garden/followers?page=1"
    signed = bob.sign_get(world.rt.settings.instance.base_url + path)
    page = await world.client.get(
        path, headers={"Host": world.rt.settings.instance.domain, **signed}
    )
    assert (await page.get_json())["orderedItems"] == [alice.id]
    removed = await world.client.delete(
        f"/api/v1/groups/garden/moderators?actor={bob.id}", headers=auth
    )
    assert removed.status_code == 204
    assert len(await world.emitted("Remove")) == 1


async def test_a_member_opens_a_proposal_by_post_and_votes_the_mastodon_way(world: World) -> None:
    alice, bob = world.host.add("alice", 0), world.host.add("bob", 1)
    await world.follow(alice)
    post = alice.activity(
        "Create",
        world.note(
            alice,
            content='<p><span class="h-card">@garden</span> !propose moderate '
            "Block spam.example</p>",
        ),
        to=[world.group],
    )
    await world.send(alice, post)
    assert await world.outcome(post["id"]) == ("done", None)
    group = await world.rt.groups.get("garden")
    [proposal] = await world.rt.governance_store.list(group.id)
    assert (proposal.title, proposal.action.value, proposal.author) == (
        "Block spam.example", "moderate", alice.id,
    )  # fmt: skip
    assert await world.emitted("Announce") == []  # a command, not a post to re-share
    question = world.rt.ids.proposal("garden", proposal.id)
    vote = alice.activity(
        "Create",
        {"id": f"{alice.id}#votes/1", "type": "Note", "name": "against",
         "attributedTo": alice.id, "inReplyTo": question, "to": world.group},
        to=world.group,
    )  # fmt: skip
    await world.send(alice, vote, "/groups/garden/inbox")
    assert await world.outcome(vote["id"]) == ("done", None)
    assert await world.rt.governance_store.ballots(proposal.id) == {alice.id: (1,)}
    unknown = alice.activity(
        "Create",
        {"id": f"{alice.id}#votes/2", "type": "Note", "name": "maybe",
         "attributedTo": alice.id, "inReplyTo": question, "to": world.group},
        to=world.group,
    )  # fmt: skip
    await world.send(alice, unknown, "/groups/garden/inbox")
    state, reason = await world.outcome(unknown["id"])
    assert state == "ignored" and "exactly one of the options" in reason
    stranger = bob.activity(
        "Create",
        {"id": f"{bob.id}#votes/1", "type": "Note", "name": "for",
         "attributedTo": bob.id, "inReplyTo": question, "to": world.group},
        to=world.group,
    )  # fmt: skip
    await world.send(bob, stranger, "/groups/garden/inbox")
    assert await world.outcome(stranger["id"]) == (
        "ignored", "not counted: not a member of the group",
    )  # fmt: skip

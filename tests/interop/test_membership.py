"""Membership decisions observed on the networks: a real Synapse, real Fedify peers.

garden is created with hazel (Matrix) as founder ──> invited, joins, moderator (PL 50)
alice (Fedify) follows; "admit ivy" (do-ocracy) ──> ivy invited into the space and rooms
"publish" ──> a signed Note from the Group at alice, a message in announcements
alice posts; "moderate: remove it" ──> the puppet's event redacted, Undo(Announce) at alice
bob (not a member) posts ──> a reply from the group saying why it was not shared
rights: only moderators post ──> general's events_default 50: ivy refused, hazel not
"remove ivy" ──> banned from the rooms; "remove alice" ──> Reject, and no more posts
club (approval needed): dave's follow with an invitation code ──> Accept; a used-up
code leaves the request pending
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx

from imago_fed.domain.governance.table import default_table
from tests.interop.fedify_peer import FedifyPeer
from tests.interop.instance import Instance, bridged_instance
from tests.interop.test_matrix import poll, resolve
from tests.matrix_hs.synapse import Synapse

DOOCRACY = {"protocol": "doocracy", "window_s": 3600,
            "fallback": {"protocol": "democracy", "duration_s": 60}}  # fmt: skip


async def act_at_once(dsn: str, slug: str, *kinds: str) -> None:
    """Make ``kinds`` do-ocracy acts in the group's table (a shortcut past amend_table)."""
    table = default_table().to_dict()
    for kind in kinds:
        table[kind] = DOOCRACY
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO control_tables (group_id, rules, updated_at) "
            "SELECT id, $1::jsonb, now() FROM groups WHERE slug = $2 "
            "ON CONFLICT (group_id) DO UPDATE SET rules = EXCLUDED.rules",
            json.dumps(table), slug,
        )  # fmt: skip
    finally:
        await conn.close()


async def join(client: httpx.AsyncClient, alias: str) -> str:
    async def attempt() -> str | None:
        response = await client.post(f"/_matrix/client/v3/join/{quote(alias)}", json={})
        return response.json()["room_id"] if response.is_success else None

    return await poll(attempt, what=f"joining {alias}")


async def membership_of(client: httpx.AsyncClient, room_id: str, user_id: str) -> str | None:
    response = await client.get(
        f"/_matrix/client/v3/rooms/{quote(room_id)}/state/m.room.member/{quote(user_id)}"
    )
    return response.json().get("membership") if response.is_success else None


async def events(client: httpx.AsyncClient, room_id: str) -> list[dict[str, Any]]:
    response = await client.get(
        f"/_matrix/client/v3/rooms/{quote(room_id)}/messages", params={"dir": "b", "limit": 50}
    )
    assert response.status_code == 200, response.text
    return response.json()["chunk"]


async def decide(server: Instance, slug: str, **body: Any) -> dict[str, Any]:
    created = await server.api("POST", f"/groups/{slug}/proposals", json=body)
    assert created.status_code == 201, created.text
    proposal = created.json()
    assert proposal["state"] == "executed", proposal
    return proposal


async def effects(server: Instance, proposal_id: int) -> list[dict[str, Any]]:
    return (await server.api("GET", f"/proposals/{proposal_id}")).json()["effects"]


async def test_membership_decisions_take_effect_on_both_networks(
    tmp_path: Path, pg_admin_dsn: str, synapse_factory
) -> None:
    async with bridged_instance("mb", tmp_path, pg_admin_dsn, synapse_factory) as running:
        server, hs, registration, dsn = running
        hazel_id, hazel_token = await hs.aregister_user("hazel", "pw-hazel-123")
        ivy_id, ivy_token = await hs.aregister_user("ivy", "pw-ivy-1234")
        with FedifyPeer("alice") as alice, FedifyPeer("bob") as bob, \
                FedifyPeer("carl") as carl, FedifyPeer("dave") as dave:  # fmt: skip
            async with hs.async_client(hazel_token) as hazel, hs.async_client(ivy_token) as ivy:
                general = await scenario(server, dsn, hs, registration["as_token"], hazel_id,
                                         hazel, ivy_id, ivy, alice, bob, carl)  # fmt: skip
                await invitations_in_follow_requests(server, dave)
                await bot_commands(server, hazel_id, hazel, general)


async def scenario(
    server: Instance, dsn: str, hs: Synapse, as_token: str, hazel_id: str,
    hazel: httpx.AsyncClient,
    ivy_id: str, ivy: httpx.AsyncClient, alice: FedifyPeer, bob: FedifyPeer, carl: FedifyPeer,
) -> str:  # fmt: skip
    # The founder: moderator, invited into the space and its rooms by creation alone.
    created = await server.create_group("garden", founder=hazel_id)
    assert created["founder"]["role"] == "moderator", created
    admitted = created["founder"]["admitted"]
    assert admitted.startswith((f"invited {hazel_id}", "queued, to be retried")), created
    news = server.actor("garden")
    space = await poll(lambda: resolve(hazel, "#_imago_garden:localhost"), what="the space")

    async def invited() -> bool:  # the invite itself, before hazel does anything
        # Read from the room's state (as the bot, its creator), not from hazel's
        # /sync: Synapse caches a /sync answer for two minutes and gives the same
        # one to the same request, so a poll that began before the invite would
        # not see it for two minutes.
        async with hs.async_client(as_token) as bot:
            return await membership_of(bot, space, hazel_id) == "invite"

    # Queued (the homeserver not ready): the event reader retries within seconds.
    await poll(invited, what="hazel invited into the space", timeout=60)
    await join(hazel, "#_imago_garden:localhost")
    general = await join(hazel, "#_imago_garden_general:localhost")
    announcements = await join(hazel, "#_imago_garden_announcements:localhost")

    async def roster() -> dict[str, dict[str, Any]]:
        items = (await server.api("GET", "/groups/garden/roster")).json()["items"]
        return {m["id"]: m for m in items}

    await poll(lambda: _has(roster, hazel_id, role="moderator", state="member"),
               what="hazel a member and moderator")  # fmt: skip

    async def hazel_level() -> bool:
        response = await hazel.get(
            f"/_matrix/client/v3/rooms/{quote(general)}/state/m.room.power_levels/"
        )
        return response.json().get("users", {}).get(hazel_id) == 50

    await poll(hazel_level, what="hazel at power level 50 in general")

    await act_at_once(dsn, "garden", "admit", "publish", "moderate", "remove_member",
                      "amend_table")  # fmt: skip
    for peer in (alice, carl):
        await peer.afollow(news)
        await peer.await_for_type("Accept", timeout=30)

    # admit: ivy is invited into the space and its rooms
    admitted = await decide(server, "garden", action="admit", title="Admit Ivy",
                            params={"member": ivy_id})  # fmt: skip
    assert admitted["result"]["executed"].startswith(f"admitted {ivy_id} (matrix): invited")
    assert await membership_of(hazel, general, ivy_id) == "invite"
    await join(ivy, "#_imago_garden:localhost")
    await join(ivy, "#_imago_garden_general:localhost")
    await poll(lambda: _has(roster, ivy_id, role="member", state="member"), what="ivy in")

    # publish: a Note from the Group, signed, at alice; the text in announcements
    said = await decide(server, "garden", action="publish", title="Spring fair",
                        params={"text": "The fair is on Sunday."})  # fmt: skip
    [effect] = await effects(server, said["id"])
    assert effect["state"] == "done", effect

    def group_note(text: str):
        def match(record: dict) -> bool:
            obj = record["activity"].get("object")
            return (
                record["type"] == "Create" and isinstance(obj, dict)
                and obj.get("attributedTo") == news and text in obj.get("content", "")
            )  # fmt: skip

        return match

    note = await alice.await_for(group_note("The fair is on Sunday."), timeout=30)
    assert note["http_signature"]["verified"] is True
    note_url = note["activity"]["object"]["id"]
    async with httpx.AsyncClient() as web:
        served = await web.get(note_url, headers={"Accept": "application/activity+json"})
    assert served.json()["content"] == "<p>The fair is on Sunday.</p>"

    async def announced() -> bool:
        return any(e["content"].get("body") == "The fair is on Sunday."
                   for e in await events(hazel, announcements))  # fmt: skip

    await poll(announced, what="the text in the announcements room")

    # moderate: alice's post, bridged into general by her puppet, is taken down on both sides
    posted = await alice.apost(news, "Buy cheap watches")
    post_id = posted["note_id"]

    async def bridged() -> str | None:
        for event in await events(hazel, general):
            if "cheap watches" in str(event["content"].get("body", "")):
                return event["event_id"]
        return None

    event_id = await poll(bridged, what="alice's post in general")
    removed = await decide(server, "garden", action="moderate", title="Spam",
                           params={"remove": post_id})  # fmt: skip
    assert "redacted" in removed["result"]["executed"], removed

    async def redacted() -> bool:
        response = await hazel.get(
            f"/_matrix/client/v3/rooms/{quote(general)}/event/{quote(event_id)}"
        )
        return response.is_success and response.json()["content"] == {}

    await poll(redacted, what="the bridged event redacted")

    def undo_of_announce(record: dict) -> bool:
        inner = record["activity"].get("object")
        return (record["type"] == "Undo" and isinstance(inner, dict)
                and inner.get("type") == "Announce" and record["actor"] == news)  # fmt: skip

    await carl.await_for(undo_of_announce, timeout=30)

    # rights: bob is no member; his post to the group is refused with a reply
    refused = await bob.apost(news, "Hello, may I post here?")

    def refusal(record: dict) -> bool:
        obj = record["activity"].get("object")
        return (record["type"] == "Create" and isinstance(obj, dict)
                and obj.get("inReplyTo") == refused["note_id"])  # fmt: skip

    reply = await bob.await_for(refusal, timeout=30)
    assert (
        "did not share your post: author does not follow the group"
        in (reply["activity"]["object"]["content"])
    )
    assert reply["http_signature"]["verified"] is True

    # bob uses an invitation from his server: "!join <code>" mentioning the group
    code = (await server.api("POST", "/groups/garden/invitations", json={})).json()["code"]
    await bob.apost(news, f"!join {code}")

    def welcome(record: dict) -> bool:
        obj = record["activity"].get("object")
        return (
            record["type"] == "Create" and isinstance(obj, dict)
            and "You are now a member of garden" in obj.get("content", "")
        )  # fmt: skip

    await bob.await_for(welcome, timeout=30)
    await poll(lambda: _has(roster, bob.actor_url, role="member"), what="bob a member")

    # rights: only moderators post -> Matrix power levels; ivy is refused, hazel is not
    amended = await decide(
        server, "garden", action="amend_table", title="Only moderators post",
        params={"changes": {"permissions": {"post": "moderators"}}},
    )  # fmt: skip
    assert "Matrix power levels: general: moderators post" in amended["result"]["executed"]
    said_by_ivy = await ivy.put(
        f"/_matrix/client/v3/rooms/{quote(general)}/send/m.room.message/ivy1",
        json={"msgtype": "m.text", "body": "can I?"},
    )
    assert said_by_ivy.status_code == 403, said_by_ivy.text
    said_by_hazel = await hazel.put(
        f"/_matrix/client/v3/rooms/{quote(general)}/send/m.room.message/hazel1",
        json={"msgtype": "m.text", "body": "moderators may"},
    )
    assert said_by_hazel.is_success, said_by_hazel.text

    # remove ivy: banned from the space and the rooms, with the reason; out of the roster
    out = await decide(server, "garden", action="remove_member", title="Ivy leaves",
                       params={"member": ivy_id})  # fmt: skip
    assert out["result"]["executed"].startswith(f"removed {ivy_id} (matrix): banned")
    assert await membership_of(hazel, general, ivy_id) == "ban"
    ban = await hazel.get(
        f"/_matrix/client/v3/rooms/{quote(general)}/state/m.room.member/{quote(ivy_id)}"
    )
    assert ban.json()["reason"] == f"decision {out['id']}: Ivy leaves"
    assert ivy_id not in await roster()

    # remove alice: Reject(Follow), and the group's next post reaches carl, not her;
    # carl's vote, delegated to her, is his own again
    given = await server.api(
        "POST",
        "/groups/garden/delegations",
        json={"delegator": carl.actor_url, "delegate": alice.actor_url},
    )
    assert given.status_code == 204, given.text
    gone = await decide(server, "garden", action="remove_member", title="Alice leaves",
                        params={"member": alice.actor_url})  # fmt: skip
    assert "Reject" in gone["result"]["executed"]
    assert gone["result"]["executed"].endswith("; 1 delegation(s) revoked"), gone["result"]
    graph = (await server.api("GET", "/groups/garden/delegations")).json()
    assert alice.actor_url not in json.dumps(graph)
    await alice.await_for_type("Reject", timeout=30)
    await decide(server, "garden", action="publish", title="Second",
                 params={"text": "Only for members."})  # fmt: skip
    await carl.await_for(group_note("Only for members."), timeout=30)
    await asyncio.sleep(1.0)  # what was queued with carl's copy would have arrived
    assert not [r for r in await alice.areceived() if group_note("Only for members.")(r)]

    # a remove of someone who is no member is refused before anything opens
    refused_removal = await server.api(
        "POST", "/groups/garden/proposals",
        json={"action": "remove_member", "title": "Again", "params": {"member": ivy_id}},
    )  # fmt: skip
    assert refused_removal.status_code == 422
    return general


async def invitations_in_follow_requests(server: Instance, dave: FedifyPeer) -> None:
    await server.create_group("club", manually_approves_followers=True)
    club = server.actor("club")
    code = (await server.api(
        "POST", "/groups/club/invitations", json={"max_uses": 1, "expires_in_days": 1}
    )).json()["code"]  # fmt: skip
    await dave.asend(club, {"type": "Follow", "object": club, "content": f"invitation {code}"})
    accept = await dave.await_for_type("Accept", timeout=30)
    assert accept["actor"] == club
    members = (await server.api("GET", "/groups/club/roster")).json()["items"]
    assert [m["id"] for m in members] == [dave.actor_url]
    used = (await server.api("GET", "/groups/club/invitations")).json()["items"]
    assert used[0]["uses"] == 1
    # the same code again, by someone else: used up, the request waits for a moderator
    with FedifyPeer("erin") as erin:
        await erin.asend(club, {"type": "Follow", "object": club, "content": f"invite {code}"})

        async def pending() -> bool:
            waiting = (await server.api("GET", "/groups/club/followers?state=pending")).json()
            return erin.actor_url in waiting["items"]

        await poll(pending, what="erin's request pending")
        assert not [r for r in await erin.areceived() if r["type"] == "Accept"]


async def bot_commands(
    server: Instance, hazel_id: str, hazel: httpx.AsyncClient, general: str
) -> None:
    """The bot makes invitations for members, and takes a code from any of its rooms."""

    async def ask(text: str, txn: str, answer: str) -> str:
        sent = await hazel.put(
            f"/_matrix/client/v3/rooms/{quote(general)}/send/m.room.message/{txn}",
            json={"msgtype": "m.text", "body": text},
        )
        assert sent.is_success, sent.text

        async def notice() -> str | None:
            for event in await events(hazel, general):
                body = str(event["content"].get("body", ""))
                if event["content"].get("msgtype") == "m.notice" and answer in body:
                    return body
            return None

        return await poll(notice, what=f"the bot's answer to {text!r}")

    made = await ask("!imago invite 2 3", "inv1", "Invitation ")
    code = re.search(r"!imago join (\S+)", made)
    assert code, made
    listed = (await server.api("GET", "/groups/garden/invitations")).json()["items"]
    mine = next(i for i in listed if i["code"] == code.group(1))
    assert (mine["max_uses"], mine["created_by"]) == (2, hazel_id)
    roster = await ask("!imago members", "mem1", "(matrix, moderator")
    assert f"{hazel_id} (matrix, moderator, since" in roster

    club_code = (await server.api("POST", "/groups/club/invitations", json={})).json()["code"]
    welcome = await ask(f"!imago join {club_code}", "join1", "Welcome to club")
    assert f"invited {hazel_id}" in welcome
    await join(hazel, "#_imago_club:localhost")  # a knock-only space: the invite lets her in

    async def in_club() -> bool:
        items = (await server.api("GET", "/groups/club/roster")).json()["items"]
        return any(m["id"] == hazel_id and m["state"] == "member" for m in items)

    await poll(in_club, what="hazel a member of club")
    again = await ask(f"!imago join {club_code}", "join2", "already a member")
    assert "already a member of club" in again


async def _has(roster, member: str, **fields: str) -> bool:
    found = (await roster()).get(member)
    return found is not None and all(found[k] == v for k, v in fields.items())

"""A group as a Matrix space, against a real Synapse, bridged with a real Fedify peer.

create group ──> space #_imago_garden + general/decisions/resources/announcements
Matrix user joins the space ──> group member (admin API)
alice (Fedify) posts to the group ──> Announce ──> puppet says it in general
Matrix user writes in general ──> Note by a Person of ours, Announced to alice
replayed / malformed transactions, wrong tokens, a restart: no duplicates
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx

from tests.interop.fedify_peer import FedifyPeer
from tests.interop.instance import Instance, bridged_instance

SPACE = "#_imago_garden:localhost"
GENERAL = "#_imago_garden_general:localhost"


async def poll(probe, *, timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not met within {timeout} s")
        await asyncio.sleep(0.25)


async def resolve(client: httpx.AsyncClient, alias: str) -> str | None:
    response = await client.get(f"/_matrix/client/v3/directory/room/{quote(alias)}")
    return response.json().get("room_id") if response.status_code == 200 else None


_SYNCS = itertools.count(1)


async def fresh_sync(client: httpx.AsyncClient) -> dict[str, Any]:
    """An initial /sync answered now: Synapse keeps a /sync answer for two minutes
    and gives it again to the same request, so each call asks a slightly different
    one (its timeline limit), or a poll begun before an invite would not see it."""
    limit = 1 + next(_SYNCS) % 1000
    params = {"timeout": "0", "filter": json.dumps({"room": {"timeline": {"limit": limit}}})}
    response = await client.get("/_matrix/client/v3/sync", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def messages(client: httpx.AsyncClient, room_id: str) -> list[dict[str, Any]]:
    response = await client.get(
        f"/_matrix/client/v3/rooms/{quote(room_id)}/messages", params={"dir": "b", "limit": 50}
    )
    assert response.status_code == 200, response.text
    return [e for e in response.json()["chunk"] if e["type"] == "m.room.message"]


async def test_group_space_membership_and_messages_both_ways(
    tmp_path: Path, pg_admin_dsn: str, synapse_factory
) -> None:
    async with bridged_instance("m", tmp_path, pg_admin_dsn, synapse_factory) as running:
        await scenario(*running)


async def scenario(server: Instance, hs, registration: dict, dsn: str) -> None:
    await server.create_group("garden", summary="We grow things.")
    user_id, token = await hs.aregister_user("hazel", "pw-hazel-123")
    async with hs.async_client(token) as human:
        # The space exists; joining it makes a member; it lists its four rooms.
        space = await poll(lambda: resolve(human, SPACE), what="space alias")

        # (The alias exists a moment before the room's initial state is complete:
        # a client that joins at that instant is told to retry, as here.)
        async def join(alias: str) -> httpx.Response | None:
            response = await human.post(f"/_matrix/client/v3/join/{quote(alias)}", json={})
            return response if response.is_success else None

        await poll(lambda: join(SPACE), what="joining the space")

        async def hierarchy() -> list[dict]:
            response = await human.get(f"/_matrix/client/v1/rooms/{quote(space)}/hierarchy")
            assert response.status_code == 200, response.text
            rooms = response.json()["rooms"]
            return rooms if len(rooms) == 5 else []

        rooms = await poll(hierarchy, what="space with four rooms")
        assert rooms[0]["room_type"] == "m.space" and rooms[0]["name"] == "garden"
        names = sorted(r["name"] for r in rooms[1:])
        assert names == [
            f"garden: {k}" for k in ("Announcements", "Decisions", "General", "Resources")
        ]

        async def is_member() -> bool:
            items = (await server.api("GET", "/groups/garden/members")).json()["items"]
            return {"network": "matrix", "id": user_id} in items

        await poll(is_member, what="Matrix member listed")
        joined = await poll(lambda: join(GENERAL), what="joining the general room")
        general = joined.json()["room_id"]

        with FedifyPeer("alice") as alice:
            news = server.actor("garden")
            await alice.afollow(news)
            await alice.await_for_type("Accept", timeout=30)

            # fediverse -> Matrix: the post arrives from alice's puppet.
            post = await alice.apost(news, "<p>Seed swap on Saturday</p>", public=True)

            async def bridged_in() -> list[dict]:
                return [
                    m
                    for m in await messages(human, general)
                    if m["sender"].startswith("@_imago_")
                    and "Seed swap" in m["content"].get("body", "")
                ]

            [message] = await poll(bridged_in, what="fediverse post in Matrix")
            assert post["note_id"] in message["content"]["body"]

            # Matrix -> fediverse: hazel's message, Announced by the group to alice.
            sent = await human.put(
                f"/_matrix/client/v3/rooms/{quote(general)}/send/m.room.message/t1",
                json={"msgtype": "m.text", "body": "Count me in!"},
            )
            assert sent.is_success, sent.text

            def from_matrix(record: dict) -> bool:
                activity = record["activity"]
                obj = activity.get("object")
                return (
                    record["type"] == "Announce" and record["actor"] == news
                    and isinstance(obj, dict) and "Count me in!" in str(obj.get("object"))
                )  # fmt: skip

            announce = await alice.await_for(from_matrix, timeout=30)
            assert announce["http_signature"]["verified"] is True
            note = announce["activity"]["object"]["object"]
            assert note["attributedTo"].startswith(f"{server.base_url}/people/hazel")
            # and the Note itself is served at its id, to anyone who fetches it
            async with httpx.AsyncClient() as fetcher:
                fetched = await fetcher.get(
                    note["id"], headers={"Accept": "application/activity+json"}
                )
            assert fetched.status_code == 200 and fetched.json()["content"] == note["content"]

            # An edit and a redaction in Matrix become Update and Delete, re-shared.
            original = sent.json()["event_id"]
            edited = await human.put(
                f"/_matrix/client/v3/rooms/{quote(general)}/send/m.room.message/t3",
                json={
                    "msgtype": "m.text", "body": "* Count me in twice!",
                    "m.new_content": {"msgtype": "m.text", "body": "Count me in twice!"},
                    "m.relates_to": {"rel_type": "m.replace", "event_id": original},
                },
            )  # fmt: skip
            assert edited.is_success, edited.text

            def wrapped(kind: str):
                def match(record: dict) -> bool:
                    obj = record["activity"].get("object")
                    return (
                        record["type"] == "Announce" and isinstance(obj, dict)
                        and obj.get("type") == kind and record["actor"] == news
                    )  # fmt: skip

                return match

            update = await alice.await_for(wrapped("Update"), timeout=30)
            assert update["activity"]["object"]["object"]["id"] == note["id"]
            assert "twice" in update["activity"]["object"]["object"]["content"]
            redacted = await human.put(
                f"/_matrix/client/v3/rooms/{quote(general)}/redact/{quote(original)}/t4", json={}
            )
            assert redacted.is_success, redacted.text
            delete = await alice.await_for(wrapped("Delete"), timeout=30)
            assert delete["activity"]["object"]["object"] == note["id"]

            # Nothing we sent came back: one bridged message in Matrix, one Note out.
            await asyncio.sleep(2)
            assert len(await bridged_in()) == 1
            outs = [r for r in await alice.areceived("Announce") if from_matrix(r)]
            assert len(outs) == 1

        await appservice_transport(server, registration, general, dsn)

        # An invite-only group: a Matrix user knocks, an admin lets them in.
        await server.create_group("circle", manually_approves_followers=True)
        circle = "#_imago_circle:localhost"
        await poll(lambda: resolve(human, circle), what="invite-only space")

        async def knock() -> httpx.Response | None:
            response = await human.post(f"/_matrix/client/v3/knock/{quote(circle)}", json={})
            return response if response.is_success else None

        await poll(knock, what="knocking")

        async def pending() -> bool:
            response = await server.api("GET", "/groups/circle/members?state=pending")
            return {"network": "matrix", "id": user_id} in response.json()["items"]

        await poll(pending, what="knock listed as pending")
        admitted = await server.api("POST", "/groups/circle/members/accept", json={"id": user_id})
        assert admitted.status_code == 204, admitted.text
        await poll(lambda: join(circle), what="joining after the invite")

        async def circle_member() -> bool:
            items = (await server.api("GET", "/groups/circle/members")).json()["items"]
            return {"network": "matrix", "id": user_id} in items

        await poll(circle_member, what="admitted member")

        # The bot answers commands in the room.
        await human.put(
            f"/_matrix/client/v3/rooms/{quote(general)}/send/m.room.message/t2",
            json={"msgtype": "m.text", "body": "!imago info"},
        )

        async def bot_said() -> list[dict]:
            return [
                m for m in await messages(human, general)
                if m["sender"] == "@imago:localhost" and "@garden@" in m["content"].get("body", "")
            ]  # fmt: skip

        [info] = await poll(bot_said, what="!imago info answered")
        assert "1 fediverse followers, 1 Matrix members" in info["content"]["body"]

        # Renaming the group renames the space.
        renamed = await server.api("PATCH", "/groups/garden", json={"name": "Community garden"})
        assert renamed.status_code == 200, renamed.text

        async def space_name() -> bool:
            response = await human.get(
                f"/_matrix/client/v3/rooms/{quote(space)}/state/m.room.name/"
            )
            return response.json().get("name") == "Community garden"

        await poll(space_name, what="space renamed")

        # A Matrix moderator of the group gets power level 50 in its rooms.
        made = await server.api("POST", "/groups/garden/moderators", json={"actor": user_id})
        assert made.status_code == 201, made.text

        async def level(expected: int | None) -> bool:
            response = await human.get(
                f"/_matrix/client/v3/rooms/{quote(general)}/state/m.room.power_levels/"
            )
            return response.json().get("users", {}).get(user_id) == expected

        await poll(lambda: level(50), what="moderator power level")
        unmade = await server.api("DELETE", f"/groups/garden/moderators?actor={quote(user_id)}")
        assert unmade.status_code == 204
        await poll(lambda: level(None), what="moderator power level removed")

        # A restart creates no room twice.
        server.stop()
        server.start()
        await asyncio.sleep(2)
        assert len(await hierarchy()) == 5
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SELECT count(*) FROM matrix_rooms") == 10  # 2 groups
        finally:
            await conn.close()

        # Leaving the space leaves the group.
        left = await human.post(f"/_matrix/client/v3/rooms/{quote(space)}/leave", json={})
        assert left.is_success

        async def not_member() -> bool:
            items = (await server.api("GET", "/groups/garden/members")).json()["items"]
            return {"network": "matrix", "id": user_id} not in items

        await poll(not_member, what="member removed after leaving")

        # Deleting the group closes its rooms with a notice.
        assert (await server.api("DELETE", "/groups/garden")).status_code == 204

        async def closed() -> bool:
            notices = [
                m
                for m in await messages(human, general)
                if "was deleted" in m["content"].get("body", "")
            ]
            rules = await human.get(
                f"/_matrix/client/v3/rooms/{quote(general)}/state/m.room.join_rules/"
            )
            return bool(notices) and rules.json().get("join_rule") == "invite"

        await poll(closed, what="rooms closed after deletion")


async def appservice_transport(server: Instance, registration: dict, room: str, dsn: str) -> None:
    """The AS API as Synapse sees it: auth, replays, a malformed event."""
    url = f"{server.base_url}/_matrix/app/v1/transactions/"
    event = {
        "event_id": "$replayed-1", "room_id": room, "type": "m.room.message",
        "sender": "@hazel:localhost", "content": {"msgtype": "m.text", "body": "replayed"},
        "origin_server_ts": 1,
    }  # fmt: skip
    body = {"events": [{"type": "m.room.message", "content": "no ids at all"}, event]}
    good = {"Authorization": f"Bearer {registration['hs_token']}"}
    async with httpx.AsyncClient() as client:
        assert (await client.put(url + "x1", json=body)).status_code == 401
        wrong = await client.put(url + "x1", json=body, headers={"Authorization": "Bearer no"})
        assert wrong.status_code == 403 and wrong.json()["errcode"] == "M_FORBIDDEN"
        for _ in range(3):  # the first stores, the replays store nothing
            response = await client.put(url + "x1", json=body, headers=good)
            assert response.status_code == 200 and response.json() == {}
        unknown = await client.get(f"{server.base_url}/_matrix/app/v1/nothing", headers=good)
        assert unknown.status_code == 404 and unknown.json()["errcode"] == "M_UNRECOGNIZED"

    conn = await asyncpg.connect(dsn)
    try:

        async def processed() -> bool:
            state = await conn.fetchval(
                "SELECT state FROM matrix_events WHERE event_id = '$replayed-1'"
            )
            return state == "done"

        await poll(processed, what="replayed transaction processed")
        count = await conn.fetchval(
            "SELECT count(*) FROM group_events WHERE payload->>'message_id' = '$replayed-1'"
        )
        assert count == 1
    finally:
        await conn.close()

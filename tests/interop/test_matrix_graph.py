"""The graph of groups in Matrix, against a real Synapse.

orchard ──subgroup of──> valley     orchard's space becomes a child space of
                                    valley's (m.space.child / m.space.parent);
                                    removing the relation unlinks them
news ◀──partner──▶ valley           hazel writes in news's general room, news
                                    propagates the note, valley holds it: its
                                    announcements room says so, with the
                                    !imago release command; a member is refused,
                                    a moderator releases it
!imago status                       costs for hazel; health too for ivan, an
                                    instance admin ([matrix] admins)

Across instances (two servers, each with its own Synapse, and one without
Matrix): a sub-group on B of a group on A nests too, each server writing its
half in its own space, named from the space the other's actor publishes; a
plain sub-group (no space published) links nothing and fails nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx

from tests.interop.instance import Instance, bridged_instance, running_instance
from tests.interop.test_matrix import fresh_sync, messages, poll, resolve

BOT = "@imago:localhost"


async def join(client: httpx.AsyncClient, alias: str) -> str:
    """Join a room by alias (retried: the alias exists a moment before the room is ready)."""

    async def attempt() -> str | None:
        response = await client.post(f"/_matrix/client/v3/join/{quote(alias)}", json={})
        return response.json()["room_id"] if response.is_success else None

    return await poll(attempt, what=f"joining {alias}")


async def state(client: httpx.AsyncClient, room: str, kind: str, key: str) -> dict[str, Any]:
    response = await client.get(f"/_matrix/client/v3/rooms/{quote(room)}/state/{kind}/{quote(key)}")
    return response.json() if response.status_code == 200 else {"missing": response.status_code}


async def said(client: httpx.AsyncClient, room: str, words: str, sender: str = BOT) -> list[dict]:
    return [m for m in await messages(client, room)
            if m["sender"] == sender and words in m["content"].get("body", "")]  # fmt: skip


async def command(client: httpx.AsyncClient, room: str, text: str, txn: str) -> None:
    sent = await client.put(
        f"/_matrix/client/v3/rooms/{quote(room)}/send/m.room.message/{txn}",
        json={"msgtype": "m.text", "body": text},
    )
    assert sent.is_success, sent.text


async def invited(client: httpx.AsyncClient, name: str) -> str | None:
    """The id of a room named ``name`` the user is invited to."""
    for room_id, room in (await fresh_sync(client)).get("rooms", {}).get("invite", {}).items():
        for event in room.get("invite_state", {}).get("events", []):
            if event["type"] == "m.room.name" and event["content"].get("name") == name:
                return str(room_id)
    return None


async def announced_notes(dsn: str, slug: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT o.object_id FROM outbox o JOIN groups g ON g.id = o.group_id"
            " WHERE g.slug = $1 AND o.type = 'Announce' AND o.object_id IS NOT NULL ORDER BY o.id",
            slug,
        )
    finally:
        await conn.close()
    return list(dict.fromkeys(r["object_id"] for r in rows))


async def relate(server: Instance, source: str, target: str, kind: str) -> int:
    """``source`` proposes, ``target`` accepts (both here, default tables); the target's row id."""
    proposed = await server.api(
        "POST", f"/groups/{source}/relations",
        json={"target": f"@{target}@{server.domain}", "kind": kind},
    )  # fmt: skip
    assert proposed.status_code == 202, proposed.text
    listed = await server.api("GET", f"/groups/{target}/relations", params={"state": "proposed"})
    [incoming] = listed.json()["items"]
    accepted = await server.api("POST", f"/groups/{target}/relations/{incoming['id']}/accept",
                                json={})  # fmt: skip
    assert accepted.status_code == 202, accepted.text
    return int(incoming["id"])


async def test_child_spaces_announcements_release_and_status(
    tmp_path: Path, pg_admin_dsn: str, synapse_factory
) -> None:
    async with bridged_instance(
        "mg", tmp_path, pg_admin_dsn, synapse_factory, IMAGO_MATRIX_ADMINS="@ivan:localhost"
    ) as (server, hs, _registration, dsn):
        for slug in ("valley", "orchard", "news"):
            await server.create_group(slug)
        hazel_id, hazel_token = await hs.aregister_user("hazel", "pw-hazel-123")
        _, ivan_token = await hs.aregister_user("ivan", "pw-ivan-1234")
        async with hs.async_client(hazel_token) as hazel, hs.async_client(ivan_token) as ivan:
            spaces = {}
            for slug in ("valley", "orchard", "news"):
                alias = f"#_imago_{slug}:localhost"
                await poll(lambda a=alias: resolve(hazel, a), what=f"{slug} space")
                spaces[slug] = await join(hazel, alias)
            announcements = await join(hazel, "#_imago_valley_announcements:localhost")
            valley_general = await join(hazel, "#_imago_valley_general:localhost")
            news_general = await join(hazel, "#_imago_news_general:localhost")

            # --- a sub-group's space nests in its parent's, both ways
            edge = await relate(server, "orchard", "valley", "subgroup")

            async def nested() -> bool:
                child = await state(hazel, spaces["valley"], "m.space.child", spaces["orchard"])
                parent = await state(hazel, spaces["orchard"], "m.space.parent", spaces["valley"])
                return child == {"via": ["localhost"]} and parent == {"via": ["localhost"]}

            await poll(nested, what="orchard's space linked into valley's")
            hierarchy = await hazel.get(
                f"/_matrix/client/v1/rooms/{quote(spaces['valley'])}/hierarchy"
            )
            children = {r["room_id"]: r.get("room_type") for r in hierarchy.json()["rooms"]}
            assert children[spaces["orchard"]] == "m.space"
            await poll(lambda: said(hazel, announcements, "is now a subgroup of this group"),
                       what="the relation told in the announcements room")  # fmt: skip

            # --- an announcement held for valley's moderators, shown with how to release it
            await relate(server, "news", "valley", "partner")
            await command(hazel, news_general, "Apple press on Sunday, bring jars", "n1")
            conn = await asyncpg.connect(dsn)
            try:

                async def announced() -> str | None:
                    return await conn.fetchval(
                        "SELECT o.object_id FROM outbox o JOIN groups g ON g.id = o.group_id"
                        " WHERE g.slug = 'news' AND o.type = 'Announce' LIMIT 1"
                    )

                note = await poll(announced, what="news announced hazel's note")
            finally:
                await conn.close()
            sent = await server.api("POST", "/groups/news/propagations",
                                    json={"object": note, "criteria": {}})  # fmt: skip
            assert sent.status_code == 202, sent.text
            listed = await server.api("GET", "/groups/valley/propagations")
            [held] = listed.json()["items"]
            assert held["verdict"] == "hold" and held["object_id"] == note
            [shown] = await poll(lambda: said(hazel, announcements, "Held for moderators"),
                                 what="held item in the announcements room")  # fmt: skip
            release = f"!imago release {held['id']}"
            assert note in shown["content"]["body"] and release in shown["content"]["body"]
            assert f'href="{note}"' in shown["content"]["formatted_body"]

            # a member who does not moderate the group is refused; a moderator releases
            await command(hazel, valley_general, release, "r1")
            await poll(lambda: said(hazel, valley_general, "only a moderator of valley"),
                       what="release refused to a member")  # fmt: skip
            assert (await server.api("GET", "/groups/valley/propagations")).json()["items"][0][
                "verdict"
            ] == "hold"
            made = await server.api("POST", "/groups/valley/moderators", json={"actor": hazel_id})
            assert made.status_code == 201, made.text
            await command(hazel, valley_general, release, "r2")
            await poll(lambda: said(hazel, valley_general, f"Announcement {held['id']} released"),
                       what="release answered")  # fmt: skip
            after = (await server.api("GET", "/groups/valley/propagations")).json()["items"]
            assert after[0]["verdict"] == "released"
            await poll(lambda: said(hazel, announcements, "Released by a moderator"),
                       what="the release told in the announcements room")  # fmt: skip

            # --- !imago status: costs for a member, health too for an instance admin
            await command(hazel, valley_general, "!imago status", "s1")
            [member_view] = await poll(lambda: said(hazel, valley_general, "No bill is recorded"),
                                       what="status for a member")  # fmt: skip
            assert "Health" not in member_view["content"]["body"]
            await join(ivan, "#_imago_valley:localhost")
            await join(ivan, "#_imago_valley_general:localhost")
            await command(ivan, valley_general, "!imago status", "s2")
            [admin_view] = await poll(lambda: said(hazel, valley_general, "Health:"),
                                      what="status for an admin")  # fmt: skip
            body = admin_view["content"]["body"]
            assert "- Matrix homeserver: SUCCESS" in body, body
            assert f"Dashboard: {server.base_url}/admin/status" in body
            assert "No bill is recorded" in body

            # --- a personal feed: the backlog, then live items, oldest first
            define = f"!imago feed add mine groups=@news@{server.domain}"
            await command(hazel, valley_general, define, "f1")
            await poll(lambda: said(hazel, valley_general, "feed mine takes groups"),
                       what="feed defined")  # fmt: skip
            feed_room = await poll(lambda: invited(hazel, "Feed: mine"), what="feed room invite")
            joined = await hazel.post(f"/_matrix/client/v3/rooms/{quote(feed_room)}/join", json={})
            assert joined.is_success, joined.text
            [old] = await poll(lambda: said(hazel, feed_room, note), what="backlog in the feed")
            assert old["content"]["body"].startswith(f"From {server.actor('news')}:")
            await command(hazel, news_general, "Cider tasting next week", "n2")
            fresh = await poll(
                lambda: _second_note(dsn, note), what="news announced the second note"
            )
            sent = await server.api("POST", "/groups/news/propagations",
                                    json={"object": fresh, "criteria": {}})  # fmt: skip
            assert sent.status_code == 202, sent.text
            await poll(lambda: said(hazel, feed_room, fresh), what="live item in the feed")
            shown = [
                m["content"].get("external_url") for m in await said(hazel, feed_room, "From ")
            ]
            assert shown[::-1] == [note, fresh]  # messages come newest first: oldest posted first
            # the commands work in the feed room itself
            await command(hazel, feed_room, "!imago feed list", "f2")
            await poll(lambda: said(hazel, feed_room, f"mine: groups {server.actor('news')}"),
                       what="feeds listed")  # fmt: skip
            await command(hazel, feed_room, "!imago feed add mine colour=red", "f3")
            await poll(lambda: said(hazel, feed_room, "unknown word 'colour=red'"),
                       what="bad words refused")  # fmt: skip
            await command(hazel, feed_room, "!imago feed remove mine", "f4")
            await poll(lambda: said(hazel, feed_room, "nothing more is posted here"),
                       what="feed removed")  # fmt: skip

            # --- removing the relation unlinks the spaces
            removed = await server.api("DELETE", f"/groups/valley/relations/{edge}")
            assert removed.status_code == 202, removed.text

            async def unlinked() -> bool:
                child = await state(hazel, spaces["valley"], "m.space.child", spaces["orchard"])
                parent = await state(hazel, spaces["orchard"], "m.space.parent", spaces["valley"])
                return child == {} and parent == {}

            await poll(unlinked, what="spaces unlinked")
            await poll(lambda: said(hazel, announcements, "is no longer a subgroup"),
                       what="the removal told")  # fmt: skip


async def _second_note(dsn: str, first: str) -> str | None:
    notes = [n for n in await announced_notes(dsn, "news") if n != first]
    return notes[0] if notes else None


async def actor_of(instance: Instance, slug: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(
            instance.actor(slug), headers={"Accept": "application/activity+json"}
        )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def relate_across(child: Instance, sub: str, parent: Instance, top: str) -> tuple[int, int]:
    """``sub`` (on ``child``) proposes to be ``top``'s subgroup; ``top`` accepts.
    The relation's row ids on each side (child's, parent's)."""
    body = {"target": f"@{top}@{parent.domain}", "kind": "subgroup"}
    proposed = await child.api("POST", f"/groups/{sub}/relations", json=body)
    assert proposed.status_code == 202, proposed.text

    async def offered() -> list[dict[str, Any]]:
        listed = await parent.api("GET", f"/groups/{top}/relations", params={"state": "proposed"})
        return [r for r in listed.json()["items"] if r["other"] == child.actor(sub)]

    [incoming] = await parent.wait_for(offered, what=f"{top} received {sub}'s Offer")
    accepted = await parent.api("POST", f"/groups/{top}/relations/{incoming['id']}/accept",
                                json={})  # fmt: skip
    assert accepted.status_code == 202, accepted.text

    async def accepted_by_child() -> list[dict[str, Any]]:
        listed = await child.api("GET", f"/groups/{sub}/relations", params={"state": "accepted"})
        return [r for r in listed.json()["items"] if r["other"] == parent.actor(top)]

    [mine] = await child.wait_for(accepted_by_child, what=f"{sub} saw {top}'s Accept")
    return int(mine["id"]), int(incoming["id"])


async def linked_children(client: httpx.AsyncClient, space: str) -> dict[str, Any]:
    """The space's ``m.space.child`` links that are set (non-empty content)."""
    response = await client.get(f"/_matrix/client/v3/rooms/{quote(space)}/state")
    assert response.status_code == 200, response.text
    return {e["state_key"]: e["content"] for e in response.json()
            if e["type"] == "m.space.child" and e["content"]}  # fmt: skip


async def test_spaces_nest_across_instances_each_with_its_own_homeserver(
    tmp_path: Path, pg_admin_dsn: str, synapse_factory
) -> None:
    async with (
        bridged_instance("xa", tmp_path, pg_admin_dsn, synapse_factory,
                         hs_name="hs-a.test") as (a, hs_a, reg_a, _),
        bridged_instance("xb", tmp_path, pg_admin_dsn, synapse_factory,
                         hs_name="hs-b.test") as (b, hs_b, reg_b, _),
        running_instance("xc", tmp_path, pg_admin_dsn) as c,
    ):  # fmt: skip
        await a.create_group("valley")
        await b.create_group("orchard")
        await c.create_group("plain")
        async with (
            hs_a.async_client(reg_a["as_token"]) as bot_a,
            hs_b.async_client(reg_b["as_token"]) as bot_b,
        ):
            valley = await poll(lambda: resolve(bot_a, "#_imago_valley:hs-a.test"),
                                what="valley's space on A")  # fmt: skip
            orchard = await poll(lambda: resolve(bot_b, "#_imago_orchard:hs-b.test"),
                                 what="orchard's space on B")  # fmt: skip

            # --- each actor publishes its space once it exists; a plain instance none
            async def published(instance: Instance, slug: str) -> dict[str, Any] | None:
                space = (await actor_of(instance, slug)).get("matrixSpace")
                return space if space and "matrixRoomId" in space else None

            valley_space = await poll(lambda: published(a, "valley"), what="valley's published")
            assert valley_space == {
                "matrixAlias": "#_imago_valley:hs-a.test", "matrixRoomId": valley,
                "matrixServer": "hs-a.test",
            }  # fmt: skip
            orchard_space = await poll(lambda: published(b, "orchard"), what="orchard's published")
            assert orchard_space["matrixRoomId"] == orchard
            assert "matrixSpace" not in await actor_of(c, "plain")

            async def own_rooms_linked() -> dict[str, Any] | None:
                children = await linked_children(bot_a, valley)
                return children if len(children) == 4 else None  # general, decisions...

            own_rooms = await poll(own_rooms_linked, what="valley's own rooms in its space")

            # --- orchard (B) becomes valley's (A) subgroup: each side writes its half
            orchard_edge, _ = await relate_across(b, "orchard", a, "valley")

            async def nested() -> bool:
                child = await state(bot_a, valley, "m.space.child", orchard)
                parent = await state(bot_b, orchard, "m.space.parent", valley)
                return child == {"via": ["hs-b.test"]} and parent == {"via": ["hs-a.test"]}

            await poll(nested, what="orchard's space nested in valley's, across homeservers")
            # each wrote only in its own space
            assert (await state(bot_b, orchard, "m.space.child", valley)).get("missing") == 404
            announcements = await resolve(bot_a, "#_imago_valley_announcements:hs-a.test")
            assert announcements
            await poll(lambda: said(bot_a, announcements, "is now a subgroup of this group",
                                    sender="@imago:hs-a.test"),
                       what="the relation told in valley's announcements")  # fmt: skip

            # --- a plain group (no Matrix on C) as a subgroup: said, linked nowhere
            await relate_across(c, "plain", a, "valley")
            await poll(lambda: _said_twice(bot_a, announcements),
                       what="the plain subgroup told in valley's announcements")  # fmt: skip
            assert await linked_children(bot_a, valley) == {
                **own_rooms, orchard: {"via": ["hs-b.test"]},
            }  # fmt: skip

            # --- the child removes the relation: both halves are emptied
            removed = await b.api("DELETE", f"/groups/orchard/relations/{orchard_edge}")
            assert removed.status_code == 202, removed.text

            async def unlinked() -> bool:
                child = await state(bot_a, valley, "m.space.child", orchard)
                parent = await state(bot_b, orchard, "m.space.parent", valley)
                return child == {} and parent == {}

            await poll(unlinked, what="the spaces unlinked on both homeservers")
            assert await linked_children(bot_a, valley) == own_rooms


async def _said_twice(client: httpx.AsyncClient, room: str) -> bool:
    told = await said(client, room, "is now a subgroup of this group", sender="@imago:hs-a.test")
    return len(told) >= 2

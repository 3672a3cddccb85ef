"""Offers and needs in the groups' Matrix resources rooms, against a real Synapse.

garden offers 3 bicycles ──> a notice in garden's resources room, with its fields
workshop needs 2         ──> its notice; a match notice in both rooms
agreement for 2 accepted ──> garden's notice edited in place: "1 one left"
garden withdraws         ──> edited again: withdrawn
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx

from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.protocols import Doocracy
from imago_fed.domain.governance.table import default_table
from tests.interop.instance import Instance, bridged_instance
from tests.interop.test_matrix import poll

BIKES = {"purpose": "offer", "action": "transfer", "resource_conforms_to": "Q11442",
         "name": "Bicycles", "quantity": {"value": 3, "unit": "one"}}  # fmt: skip


async def do_at_once(dsn: str) -> None:
    table = default_table().amended(
        {ActionKind.PUBLISH_OFFER: Doocracy(), ActionKind.SPEND: Doocracy()}
    )
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO control_tables (group_id, rules, updated_at)"
            " SELECT id, $1::jsonb, now() FROM groups",
            json.dumps(table.to_dict()),
        )
    finally:
        await conn.close()


async def events(client: httpx.AsyncClient, room: str) -> list[dict[str, Any]]:
    response = await client.get(
        f"/_matrix/client/v3/rooms/{quote(room)}/messages", params={"dir": "f", "limit": 100}
    )
    assert response.status_code == 200, response.text
    return [e for e in response.json()["chunk"] if e["type"] == "m.room.message"]


async def api(server: Instance, method: str, path: str, body: Any, status: int) -> Any:
    response = await server.api(method, path, json=body)
    assert response.status_code == status, response.text
    return response.json()


async def test_offers_needs_and_matches_in_the_resources_rooms(
    tmp_path: Path, pg_admin_dsn: str, synapse_factory
) -> None:
    async with bridged_instance("r", tmp_path, pg_admin_dsn, synapse_factory) as running:
        server, hs, _, dsn = running
        await server.create_group("garden")
        await server.create_group("workshop")
        await do_at_once(dsn)
        _, token = await hs.aregister_user("hazel", "pw-hazel-123")
        async with hs.async_client(token) as human:

            async def join(alias: str) -> str | None:
                response = await human.post(f"/_matrix/client/v3/join/{quote(alias)}", json={})
                return response.json()["room_id"] if response.is_success else None

            rooms = {}
            for slug in ("garden", "workshop"):
                await poll(lambda s=slug: join(f"#_imago_{s}:localhost"), what=f"{slug} space")
                rooms[slug] = await poll(
                    lambda s=slug: join(f"#_imago_{s}_resources:localhost"),
                    what=f"{slug} resources room",
                )

            offer = await api(server, "POST", "/groups/garden/intents", BIKES, 201)

            async def notice(room: str, words: str) -> dict[str, Any] | None:
                for event in await events(human, room):
                    if words in event["content"].get("body", ""):
                        return event
                return None

            posted = await poll(lambda: notice(rooms["garden"], "Offer (transfer): 3 one Bicycles"),
                                what="the offer in garden's room")  # fmt: skip
            fields = posted["content"]["org.imago.intent"]
            assert fields["ap_id"] == offer["ap_id"] and fields["state"] == "open"
            assert fields["resource"] == "http://www.wikidata.org/entity/Q11442"

            need = await api(server, "POST", "/groups/workshop/intents",
                             {**BIKES, "purpose": "request", "name": "Bikes",
                              "quantity": {"value": 2, "unit": "one"}}, 201)  # fmt: skip
            await poll(lambda: notice(rooms["workshop"], "Need (transfer): 2 one Bikes"),
                       what="the need in workshop's room")  # fmt: skip
            told = await poll(lambda: notice(rooms["workshop"], "Suggested match"),
                              what="the match in workshop's room")  # fmt: skip
            assert (
                "Bicycles" in told["content"]["body"]
                and f"intent {offer['id']}" in told["content"]["body"]
            )
            told = await poll(lambda: notice(rooms["garden"], "Suggested match"),
                              what="the match in garden's room")  # fmt: skip
            assert f"intent {need['id']}" in told["content"]["body"]

            await api(server, "POST", "/groups/workshop/agreements", {"intent_id": offer["id"]
                      , "quantity": {"value": 2, "unit": "one"}}, 202)  # fmt: skip
            offered = (await server.api("GET", "/groups/garden/agreements")).json()["items"]
            await api(
                server, "POST", f"/groups/garden/agreements/{offered[0]['id']}/accept", {}, 202
            )

            async def edited(words: str) -> dict[str, Any] | None:
                for event in await events(human, rooms["garden"]):
                    relates = event["content"].get("m.relates_to", {})
                    new = event["content"].get("m.new_content", {})
                    if relates.get("event_id") == posted["event_id"] and words in new.get(
                        "body", ""
                    ):
                        return event
                return None

            changed = await poll(lambda: edited("1 one left"), what="the offer edited in place")
            assert changed["content"]["m.relates_to"]["rel_type"] == "m.replace"
            assert changed["content"]["m.new_content"]["org.imago.intent"]["remaining"] == "1 one"
            # The same from Matrix: the bot answers and the rooms follow.
            said = iter(range(1000))

            async def say(room: str, text: str) -> None:
                txn = f"t{next(said)}"
                response = await human.put(
                    f"/_matrix/client/v3/rooms/{quote(room)}/send/m.room.message/{txn}",
                    json={"msgtype": "m.text", "body": text},
                )
                assert response.status_code == 200, response.text

            await say(rooms["workshop"], "!imago need A ladder qty=1 type=Q190 action=use")
            reply = await poll(lambda: notice(rooms["workshop"], ": need "),
                               what="the bot's answer to !imago need")  # fmt: skip
            assert "is open" in reply["content"]["body"]
            await poll(lambda: notice(rooms["workshop"], "Need (use): 1 one A ladder"),
                       what="the ladder need's notice")  # fmt: skip
            await say(rooms["workshop"], f"!imago answer {offer['id']} qty=1")
            await poll(lambda: notice(rooms["workshop"], "agreement offered to local group garden"),
                       what="the bot's answer to !imago answer")  # fmt: skip
            offered = (await server.api("GET", "/groups/garden/agreements",
                                        params={"state": "offered"})).json()["items"]  # fmt: skip
            await say(rooms["garden"], f"!imago accept {offered[0]['id']}")
            await poll(lambda: edited("agreed"), what="the offer edited: agreed")
            await say(rooms["garden"], f"!imago fulfilled {offered[0]['id']}")
            await poll(lambda: notice(rooms["garden"], "fulfilled; stocks updated"),
                       what="the bot's answer to !imago fulfilled")  # fmt: skip
            await say(rooms["workshop"], f"!imago withdraw {need['id']}")
            await poll(lambda: notice(rooms["workshop"], f"request {need['id']} withdrawn"),
                       what="the bot's answer to !imago withdraw")  # fmt: skip
            await say(rooms["workshop"], "!imago answer nine")
            await poll(lambda: notice(rooms["workshop"], "usage: !imago answer"),
                       what="a usage line for a bad command")  # fmt: skip

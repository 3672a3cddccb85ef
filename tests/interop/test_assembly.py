"""An assembly end to end: Synapse members in its room, a fediverse member voting.

hazel convenes "Spring" from the general room (convene: do-ocracy, so at once)
  -> an assembly room in the space, with a call widget and the agenda
hazel, ivy and jun join it; jun then leaves the group: no longer a member
ivy speaks, hazel queues (twice: refused), jun asks: refused
hazel moves "Plant beans", cannot second it herself; ivy seconds
  -> a motion proposal: a poll in the decisions room, a Question to alice
alice votes from Fedify, hazel with !imago vote, ivy with a poll response
  -> one tally (both networks), the result said in the assembly room
hazel adjourns -> the minutes in the announcements room and a Note to alice
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.interop.fedify_peer import FedifyPeer
from tests.interop.instance import bridged_instance
from tests.interop.test_decisions import join
from tests.interop.test_matrix import poll


async def say(client: Any, room: str, text: str, txn: str) -> None:
    sent = await client.put(
        f"/_matrix/client/v3/rooms/{quote(room)}/send/m.room.message/{txn}",
        json={"msgtype": "m.text", "body": text},
    )
    assert sent.is_success, sent.text


async def notices(client: Any, room: str) -> list[str]:
    response = await client.get(
        f"/_matrix/client/v3/rooms/{quote(room)}/messages", params={"dir": "b", "limit": 100}
    )
    return [
        e["content"].get("body", "")
        for e in reversed(response.json()["chunk"])
        if e["type"] == "m.room.message" and e["content"].get("msgtype") == "m.notice"
    ]


async def heard(client: Any, room: str, fragment: str, what: str, timeout: float = 30) -> str:
    async def probe() -> str | None:
        return next((n for n in await notices(client, room) if fragment in n), None)

    return await poll(probe, what=what, timeout=timeout)


async def test_an_assembly_runs_from_convening_to_minutes(
    tmp_path: Path, pg_admin_dsn: str, synapse_factory: Any
) -> None:
    async with bridged_instance("asm", tmp_path, pg_admin_dsn, synapse_factory) as running:
        server, hs, _, _ = running
        await server.create_group("garden")
        news = server.actor("garden")
        hazel_id, hazel_token = await hs.aregister_user("hazel", "pw-hazel-123")
        ivy_id, ivy_token = await hs.aregister_user("ivy", "pw-ivy-1234")
        jun_id, jun_token = await hs.aregister_user("jun", "pw-jun-1234")
        with FedifyPeer("alice") as alice:
            async with (
                hs.async_client(hazel_token) as hazel,
                hs.async_client(ivy_token) as ivy,
                hs.async_client(jun_token) as jun,
            ):
                space = ""
                for client in (hazel, ivy, jun):
                    space = (await join(client, "#_imago_garden:localhost")).json()["room_id"]
                general = (await join(hazel, "#_imago_garden_general:localhost")).json()["room_id"]
                await join(ivy, "#_imago_garden_decisions:localhost")

                async def members() -> set[str]:
                    items = (await server.api("GET", "/groups/garden/members")).json()["items"]
                    return {i["id"] for i in items}

                await poll(lambda: _has(members, {hazel_id, ivy_id, jun_id}), what="members")
                await alice.afollow(news)
                await alice.await_for_type("Accept", timeout=30)

                await say(
                    hazel, general, "!imago convene quorum=2 vote=30 Spring | Budget | Garden", "c1"
                )
                await heard(hazel, general, "convened", "the bot confirms the convening")
                room = (await join(hazel, "#_imago_garden_assembly1:localhost")).json()["room_id"]
                agenda = await heard(hazel, room, "Agenda:", "the agenda in the assembly room")
                assert "1. Budget\n2. Garden" in agenda and hazel_id in agenda
                state = (await hazel.get(f"/_matrix/client/v3/rooms/{quote(room)}/state")).json()
                [widget] = [e for e in state if e["type"] == "im.vector.modular.widgets"]
                assert widget["content"]["type"] == "jitsi"
                children = (
                    await hazel.get(f"/_matrix/client/v3/rooms/{quote(space)}/state")
                ).json()
                assert room in {e["state_key"] for e in children if e["type"] == "m.space.child"}
                await join(ivy, room)
                await join(jun, room)
                left = await jun.post(f"/_matrix/client/v3/rooms/{quote(space)}/leave", json={})
                assert left.is_success
                await poll(lambda: _lacks(members, jun_id), what="jun is no longer a member")
                await heard(hazel, room, "is open", "the assembly opens")

                await say(ivy, room, "!imago speak", "s1")
                await heard(hazel, room, f"{ivy_id} has the floor", "ivy speaks")
                await say(hazel, room, "!imago speak", "s2")
                await heard(hazel, room, f"{hazel_id} is in the queue (position 1)", "hazel waits")
                await say(hazel, room, "!imago speak", "s3")
                await heard(hazel, room, "in the queue already", "a double request is refused")
                await say(jun, room, "!imago speak", "s4")
                await heard(hazel, room, f"{jun_id}: only the group's members", "jun is refused")
                await say(ivy, room, "!imago done", "s5")
                await heard(hazel, room, f"{hazel_id} has the floor", "the floor passes on")

                await say(hazel, room, "!imago move Plant beans", "m1")
                await heard(hazel, room, "It needs a seconder", "the motion waits for a seconder")
                await say(hazel, room, "!imago second 1", "m2")
                await heard(hazel, room, "cannot second their own motion", "no self-seconding")
                await say(ivy, room, "!imago second 1", "m3")
                put = await heard(hazel, room, "is put to the vote as proposal", "the vote opens")
                proposal_id = int(put.split("as proposal ")[1].split()[0])
                question_id = f"{news}/proposals/{proposal_id}"

                def question_created(record: dict) -> bool:
                    obj = record["activity"].get("object")
                    return record["type"] == "Create" and isinstance(obj, dict) and (
                        obj.get("id") == question_id
                    )  # fmt: skip

                question = await alice.await_for(question_created, timeout=30)
                assert "Plant beans" in question["activity"]["object"]["name"]
                await alice.asend(news, {
                    "type": "Create", "to": news,
                    "object": {"id": f"{alice.actor_url}#votes/1", "type": "Note", "name": "for",
                               "attributedTo": alice.actor_url, "inReplyTo": question_id,
                               "to": news},
                })  # fmt: skip
                await say(hazel, room, f"!imago vote {proposal_id} 1", "v1")
                decisions = (await join(ivy, "#_imago_garden_decisions:localhost")).json()[
                    "room_id"
                ]

                async def poll_start() -> str | None:
                    response = await ivy.get(
                        f"/_matrix/client/v3/rooms/{quote(decisions)}/messages",
                        params={"dir": "b", "limit": 50},
                    )
                    starts = [e["event_id"] for e in response.json()["chunk"]
                              if e["type"] == "org.matrix.msc3381.poll.start"]  # fmt: skip
                    return starts[0] if starts else None

                start = await poll(poll_start, what="the motion's poll")
                answered = await ivy.put(
                    f"/_matrix/client/v3/rooms/{quote(decisions)}/send/"
                    "org.matrix.msc3381.poll.response/r1",
                    json={"m.relates_to": {"rel_type": "m.reference", "event_id": start},
                          "org.matrix.msc3381.poll.response": {"answers": ["o0"]}},
                )  # fmt: skip
                assert answered.is_success

                async def counted() -> dict | None:
                    detail = (await server.api("GET", f"/proposals/{proposal_id}")).json()
                    return (
                        detail if len([v for v in detail["votes"] if v["counted"]]) == 3 else None
                    )

                detail = await poll(counted, what="three votes counted", timeout=30)
                assert {v["network"] for v in detail["votes"]} == {"fediverse", "matrix"}
                result = await heard(hazel, room, "Motion 1 (Plant beans): adopted", "the result",
                                     timeout=60)  # fmt: skip
                assert "3 for" in result

                await say(ivy, room, "!imago adjourn", "a1")
                await heard(hazel, room, "only the chair", "only the chair adjourns")
                await say(hazel, room, "!imago adjourn", "a2")
                announcements = (
                    await join(hazel, "#_imago_garden_announcements:localhost")
                ).json()["room_id"]
                minutes = await heard(hazel, announcements, "Minutes of the assembly", "minutes")
                # jun came while still a member
                assert f"Present (3): {hazel_id}, {ivy_id}, {jun_id}" in minutes
                assert "Plant beans \u2014 adopted" in minutes

                def minutes_note(record: dict) -> bool:
                    obj = record["activity"].get("object")
                    return record["type"] == "Create" and isinstance(obj, dict) and (
                        "Minutes of the assembly" in str(obj.get("content", ""))
                    )  # fmt: skip

                note = await alice.await_for(minutes_note, timeout=30)
                assert note["http_signature"]["verified"] is True
                assert note["activity"]["actor"] == news


async def _has(members: Any, wanted: set[str]) -> bool:
    return wanted <= await members()


async def _lacks(members: Any, who: str) -> bool:
    return who not in await members()

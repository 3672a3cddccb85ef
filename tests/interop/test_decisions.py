"""One proposal, voted from Mastodon's side and from Element's side, one tally.

admin opens "Block spam.example" (moderate: democracy, yes/no)
  -> a Question by the group reaches alice (Fedify), a poll opens in the
     decisions room (MSC3381)
alice votes "for" the Mastodon way (Create(Note{name, inReplyTo}) to the group)
hazel votes "for" and ivy "against" with poll responses in Matrix
at the end: 2 for, 1 against -> adopted -> executed (the domain is blocked)
  -> alice gets Update(Question) with closed and the counts;
     the poll gets poll.end with the result text
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import asyncpg
import pytest

from imago_fed.domain.governance.table import default_table
from tests.interop.fedify_peer import FedifyPeer
from tests.interop.instance import Instance, bridged_instance
from tests.interop.test_matrix import poll

START = "org.matrix.msc3381.poll.start"


@pytest.mark.parametrize("protocol", ["democracy", "oligarchy", "consensus"])
async def test_a_proposal_voted_from_both_networks_is_executed_and_announced(
    tmp_path: Path, pg_admin_dsn: str, synapse_factory, protocol: str
) -> None:
    async with bridged_instance("d", tmp_path, pg_admin_dsn, synapse_factory) as running:
        server, hs, _, dsn = running
        await scenario(server, hs, protocol, dsn)


async def join(client, alias: str):
    async def attempt():
        response = await client.post(f"/_matrix/client/v3/join/{quote(alias)}", json={})
        return response if response.is_success else None

    return await poll(attempt, what=f"joining {alias}")


async def set_protocol(dsn: str, rules: dict) -> None:
    """Put the case's protocol in the table (a test shortcut past amend_table)."""
    table = default_table().to_dict()
    table["moderate"] = rules
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO control_tables (group_id, rules, updated_at) "
            "SELECT id, $1::jsonb, now() FROM groups WHERE slug = 'garden'",
            json.dumps(table),
        )
    finally:
        await conn.close()


async def scenario(server: Instance, hs, protocol: str, dsn: str) -> None:
    await server.create_group("garden")
    news = server.actor("garden")
    hazel_id, hazel_token = await hs.aregister_user("hazel", "pw-hazel-123")
    ivy_id, ivy_token = await hs.aregister_user("ivy", "pw-ivy-1234")
    async with hs.async_client(hazel_token) as hazel, hs.async_client(ivy_token) as ivy:
        decisions = None
        for client in (hazel, ivy):
            await join(client, "#_imago_garden:localhost")
            joined = await join(client, "#_imago_garden_decisions:localhost")
            decisions = joined.json()["room_id"]

        async def members() -> bool:
            items = (await server.api("GET", "/groups/garden/members")).json()["items"]
            return {hazel_id, ivy_id} <= {i["id"] for i in items}

        await poll(members, what="both Matrix users are members")

        with FedifyPeer("alice") as alice:
            await alice.afollow(news)
            await alice.await_for_type("Accept", timeout=30)
            options, alice_choice, answers = {
                "democracy": (["for", "against", "abstain"], "for", {"hazel": "o0"}),
                "oligarchy": (["approve", "refuse"], "approve", {"hazel": "o0", "ivy": "o1"}),
                "consensus": (["agree", "stand aside", "block"], "agree",
                              {"hazel": "o0", "ivy": "o1"}),
            }[protocol]  # fmt: skip
            if protocol == "oligarchy":
                rules = {"protocol": "oligarchy", "deciders": [alice.actor_url, hazel_id], "k": 2}
                await set_protocol(dsn, rules)
            elif protocol == "consensus":
                await set_protocol(dsn, {"protocol": "consensus", "window_s": 12})
            else:  # ivy's vote follows alice's, by a command in the room
                said = await ivy.put(
                    f"/_matrix/client/v3/rooms/{quote(decisions)}/send/m.room.message/d1",
                    json={"msgtype": "m.text",
                          "body": f"!imago delegate {alice.actor_url} moderate"},
                )  # fmt: skip
                assert said.is_success

                async def delegated() -> bool:
                    found = (await server.api("GET", "/groups/garden/delegations")).json()
                    return bool(found["items"])

                await poll(delegated, what="ivy's delegation recorded")

            created = await server.api(
                "POST", "/groups/garden/proposals",
                json={"action": "moderate", "title": "Block spam.example",
                      "params": {"block_domain": "spam.example"}, "duration_s": 12},
            )  # fmt: skip
            assert created.status_code == 201, created.text
            proposal = created.json()
            question_id = f"{news}/proposals/{proposal['id']}"

            # The fediverse side: a Question by the group, voted the Mastodon way.
            def question_created(record: dict) -> bool:
                obj = record["activity"].get("object")
                return (
                    record["type"] == "Create"
                    and isinstance(obj, dict)
                    and obj.get("id") == question_id
                )

            question = await alice.await_for(question_created, timeout=30)
            assert [o["name"] for o in question["activity"]["object"]["oneOf"]] == options
            assert question["activity"]["object"]["attributedTo"] == news
            await alice.asend(
                news,
                {
                    "type": "Create",
                    "to": news,
                    "object": {
                        "id": f"{alice.actor_url}#votes/1",
                        "type": "Note",
                        "name": alice_choice,
                        "attributedTo": alice.actor_url,
                        "inReplyTo": question_id,
                        "to": news,
                    },
                },
            )

            # The Matrix side: a poll in the decisions room.
            async def poll_started() -> str | None:
                response = await hazel.get(
                    f"/_matrix/client/v3/rooms/{quote(decisions)}/messages",
                    params={"dir": "b", "limit": 50},
                )
                for event in response.json()["chunk"]:
                    if event["type"] == START:
                        return event["event_id"]
                return None

            start = await poll(poll_started, what="poll in the decisions room")
            clients = {"hazel": hazel, "ivy": ivy}
            for n, (who, answer) in enumerate(answers.items()):
                client = clients[who]
                sent = await client.put(
                    f"/_matrix/client/v3/rooms/{quote(decisions)}/send/"
                    f"org.matrix.msc3381.poll.response/r{n}",
                    json={
                        "m.relates_to": {"rel_type": "m.reference", "event_id": start},
                        "org.matrix.msc3381.poll.response": {"answers": [answer]},
                    },
                )
                assert sent.is_success, sent.text

            async def tally() -> dict | None:
                detail = (await server.api("GET", f"/proposals/{proposal['id']}")).json()
                counted = [v for v in detail["votes"] if v["counted"]]
                return detail if len(counted) == 1 + len(answers) else None

            detail = await poll(tally, what="three votes counted", timeout=60)
            assert {v["network"] for v in detail["votes"]} == {"fediverse", "matrix"}

            # The end: adopted, executed, and told on both sides.
            async def executed() -> dict | None:
                detail = (await server.api("GET", f"/proposals/{proposal['id']}")).json()
                return detail if detail["state"] == "executed" else None

            final = await poll(executed, what="proposal executed", timeout=30)
            tally = final["result"]["tally"]
            if protocol == "democracy":
                assert tally["direct"] == {"for": 2, "against": 0, "abstain": 0}
                assert tally["delegated"] == {"for": 1, "against": 0, "abstain": 0}
            elif protocol == "oligarchy":
                assert sorted(tally["approve"]) == sorted([alice.actor_url, hazel_id])
                assert tally["refuse"] == []  # ivy is not a decider
            else:
                assert tally["stand_aside"] == [ivy_id] and tally["block"] == []
            assert final["result"]["executed"] == "blocked domain spam.example"
            blocks = (await server.api("GET", "/blocks")).json()["items"]
            assert [b["value"] for b in blocks] == ["spam.example"]

            def closed_update(record: dict) -> bool:
                obj = record["activity"].get("object")
                return (
                    record["type"] == "Update" and isinstance(obj, dict)
                    and obj.get("id") == question_id and bool(obj.get("closed"))
                )  # fmt: skip

            update = await alice.await_for(closed_update, timeout=30)
            question_options = update["activity"]["object"]["oneOf"]
            counts = {o["name"]: o["replies"]["totalItems"] for o in question_options}
            expected = {
                "democracy": {"for": 2, "against": 0, "abstain": 0},
                "oligarchy": {"approve": 2, "refuse": 1},
                "consensus": {"agree": 2, "stand aside": 1, "block": 0},
            }[protocol]
            assert counts == expected
            assert update["http_signature"]["verified"] is True

            async def poll_ended() -> list[dict]:
                response = await hazel.get(
                    f"/_matrix/client/v3/rooms/{quote(decisions)}/messages",
                    params={"dir": "b", "limit": 50},
                )
                return [e for e in response.json()["chunk"]
                        if e["type"] == "org.matrix.msc3381.poll.end"]  # fmt: skip

            [end] = await poll(poll_ended, what="poll.end in Matrix")
            text = end["content"]["org.matrix.msc1767.text"]
            assert "adopted" in text and "spam.example" in text


async def test_a_doocracy_act_challenged_from_the_fediverse_is_undone_by_a_matrix_vote(
    tmp_path: Path, pg_admin_dsn: str, synapse_factory
) -> None:
    """Do-ocracy: the block happens at once; alice challenges it from her Mastodon-like
    client; the fallback vote opens on both sides; hazel (Matrix) and alice vote it
    down; the block is undone and the result told on both sides."""
    async with bridged_instance("o", tmp_path, pg_admin_dsn, synapse_factory) as running:
        server, hs, _, dsn = running
        await server.create_group("garden")
        news = server.actor("garden")
        _hazel_id, hazel_token = await hs.aregister_user("hazel", "pw-hazel-123")
        async with hs.async_client(hazel_token) as hazel:
            await join(hazel, "#_imago_garden:localhost")
            decisions = (await join(hazel, "#_imago_garden_decisions:localhost")).json()["room_id"]
            with FedifyPeer("alice") as alice:
                await alice.afollow(news)
                await alice.await_for_type("Accept", timeout=30)
                await set_protocol(dsn, {
                    "protocol": "doocracy", "window_s": 3600,
                    "fallback": {"protocol": "democracy", "quorum": "0", "duration_s": 12},
                })  # fmt: skip
                act = (await server.api(
                    "POST", "/groups/garden/proposals",
                    json={"action": "moderate", "title": "Block spam.example",
                          "params": {"block_domain": "spam.example"}},
                )).json()  # fmt: skip
                assert act["state"] == "executed"
                assert [
                    b["value"] for b in (await server.api("GET", "/blocks")).json()["items"]
                ] == ["spam.example"]
                # alice challenges, voting "challenge" on the act's question
                await alice.asend(news, {
                    "type": "Create", "to": news,
                    "object": {"id": f"{alice.actor_url}#votes/c", "type": "Note",
                               "name": "challenge", "attributedTo": alice.actor_url,
                               "inReplyTo": f"{news}/proposals/{act['id']}", "to": news},
                })  # fmt: skip

                async def fallback() -> dict | None:
                    items = (await server.api("GET", "/groups/garden/proposals")).json()["items"]
                    return items[0] if items[0]["id"] != act["id"] else None

                vote = await poll(fallback, what="the challenge opens a vote")
                assert vote["title"] == "Challenged: Block spam.example"
                question_id = f"{news}/proposals/{vote['id']}"
                await alice.asend(news, {
                    "type": "Create", "to": news,
                    "object": {"id": f"{alice.actor_url}#votes/v", "type": "Note",
                               "name": "against", "attributedTo": alice.actor_url,
                               "inReplyTo": question_id, "to": news},
                })  # fmt: skip

                async def new_poll() -> str | None:
                    response = await hazel.get(
                        f"/_matrix/client/v3/rooms/{quote(decisions)}/messages",
                        params={"dir": "b", "limit": 50},
                    )
                    for event in response.json()["chunk"]:
                        text = str(event["content"])
                        if event["type"] == START and f"(proposal {vote['id']})" in text:
                            return event["event_id"]
                    return None

                start = await poll(new_poll, what="the fallback vote's poll")
                sent = await hazel.put(
                    f"/_matrix/client/v3/rooms/{quote(decisions)}/send/"
                    "org.matrix.msc3381.poll.response/v1",
                    json={"m.relates_to": {"rel_type": "m.reference", "event_id": start},
                          "org.matrix.msc3381.poll.response": {"answers": ["o1"]}},
                )  # fmt: skip
                assert sent.is_success

                async def decided() -> dict | None:
                    detail = (await server.api("GET", f"/proposals/{vote['id']}")).json()
                    return detail if detail["state"] == "rejected" else None

                final = await poll(decided, what="the act not upheld", timeout=40)
                assert final["result"]["tally"]["direct"]["against"] == 2
                assert final["result"]["undone"] == "unblocked domain spam.example"
                assert (await server.api("GET", "/blocks")).json()["items"] == []

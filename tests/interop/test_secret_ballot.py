"""A secret Majority Judgment decision, end to end, across both federations.

garden's table says "spend" is decided by a secret MJ vote. Its members:
hazel and ivy (Matrix, on a real Synapse) and alice (a real Fedify peer).

admin opens "Which tool?" and sets up its election: 3 trustees (hazel, ivy,
  alice), any 2 of whom decrypt; ``deliver`` sends each voter's credential
  privately: hazel and ivy get a direct room from the bot, alice a direct
  Note from the group (signed; the peer verifies it). None is returned.
the trustees make the 2-of-3 key on their "machines" (the CLI, reading the
  ceremony from the server's public URL)
each voter encrypts a ballot with ``imago-fed ballot`` and the credential
  from the message, and finds its tracker on the board
the box closes; ivy is away: alice and hazel decrypt; the result closes the
  proposal, a result Note reaches alice, a notice reaches the decisions room;
  belenios-tool verifies the served board
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx

from imago_fed.domain.governance.table import default_table
from imago_fed.domain.voting.crypto import verify_archive_bytes
from tests.domain.voting.crypto.belenios import ToolElection, tool_path
from tests.interop.fedify_peer import FedifyPeer
from tests.interop.instance import Instance, bridged_instance
from tests.interop.test_decisions import join
from tests.interop.test_matrix import fresh_sync, poll

CREDENTIAL = re.compile(r"\b[1-9A-HJ-NP-Za-km-z]{3}(?:-[1-9A-HJ-NP-Za-km-z]{3}){4}\b")
SECRET_MJ = {"protocol": "democracy", "method": "majority_judgment", "secret": True,
             "quorum": "1/2", "duration_s": 3600}  # fmt: skip


def imago(*args: str) -> str:
    """``imago-fed`` as a trustee or voter runs it on their own machine (no config)."""
    done = subprocess.run(
        [sys.executable, "-m", "imago_fed.cli", *args],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def run(*args: str) -> str:
    return await asyncio.to_thread(imago, *args)


async def secret_spending(dsn: str) -> None:
    table = default_table().to_dict()
    table["spend"] = SECRET_MJ
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO control_tables (group_id, rules, updated_at) "
            "SELECT id, $1::jsonb, now() FROM groups WHERE slug = 'garden'",
            json.dumps(table),
        )
    finally:
        await conn.close()


async def matrix_credential(client, since: str | None = None) -> str:
    """Accept the bot's direct-room invite and read the credential in it."""

    async def invited() -> str | None:
        synced = await fresh_sync(client)
        rooms = synced.get("rooms", {}).get("invite", {})
        return next(iter(rooms), None)

    room_id = await poll(invited, what="an invite to a direct room", timeout=30)
    assert (
        await client.post(f"/_matrix/client/v3/rooms/{quote(room_id)}/join", json={})
    ).is_success

    async def text() -> str | None:
        response = await client.get(
            f"/_matrix/client/v3/rooms/{quote(room_id)}/messages", params={"dir": "b"}
        )
        for event in response.json()["chunk"]:
            if event["type"] == "m.room.message":
                return event["content"]["body"]
        return None

    return await poll(text, what="the credential message")


async def test_a_secret_majority_judgment_decision_across_both_networks(
    tmp_path: Path, pg_admin_dsn: str, synapse_factory
) -> None:
    async with bridged_instance("v", tmp_path, pg_admin_dsn, synapse_factory) as running:
        server, hs, _, dsn = running
        await scenario(server, hs, dsn, tmp_path)


async def scenario(server: Instance, hs, dsn: str, tmp_path: Path) -> None:
    await server.create_group("garden")
    await secret_spending(dsn)
    news = server.actor("garden")
    hazel_id, hazel_token = await hs.aregister_user("hazel", "pw-hazel-123")
    ivy_id, ivy_token = await hs.aregister_user("ivy", "pw-ivy-1234")
    async with hs.async_client(hazel_token) as hazel, hs.async_client(ivy_token) as ivy:
        for client in (hazel, ivy):
            await join(client, "#_imago_garden:localhost")
        decisions = (await join(hazel, "#_imago_garden_decisions:localhost")).json()["room_id"]
        with FedifyPeer("alice") as alice:
            await alice.afollow(news)
            await alice.await_for_type("Accept", timeout=30)

            async def members() -> bool:
                items = (await server.api("GET", "/groups/garden/members")).json()["items"]
                return {hazel_id, ivy_id, alice.actor_url} <= {i["id"] for i in items}

            await poll(members, what="three members on two networks")

            proposal = (await server.api(
                "POST", "/groups/garden/proposals",
                json={"action": "spend", "title": "Which tool?", "options": ["saw", "drill"]},
            )).json()  # fmt: skip
            trustees = [hazel_id, ivy_id, alice.actor_url]
            created = await server.api(
                "POST", f"/proposals/{proposal['id']}/election",
                json={"trustees": trustees, "threshold": 2, "deliver": True},
            )  # fmt: skip
            assert created.status_code == 201, created.text
            election = created.json()
            eid = election["id"]
            assert sorted(election["delivered"]) == sorted(trustees)
            assert election["undelivered"] == {} and election["credentials"] == {}

            # credentials, each through its own network's private channel
            credentials = {
                "hazel": CREDENTIAL.search(await matrix_credential(hazel)).group(0),
                "ivy": CREDENTIAL.search(await matrix_credential(ivy)).group(0),
            }

            def direct_note(record: dict) -> bool:
                obj = record["activity"].get("object")
                return (
                    record["type"] == "Create" and isinstance(obj, dict)
                    and obj.get("type") == "Note" and "credential" in obj.get("content", "")
                )  # fmt: skip

            note = await alice.await_for(direct_note, timeout=30)
            assert note["http_signature"]["verified"] is True
            assert note["activity"]["to"] == [alice.actor_url]  # to alice only
            assert "https://www.w3.org/ns/activitystreams#Public" not in json.dumps(
                note["activity"]
            )
            credentials["alice"] = CREDENTIAL.search(note["activity"]["object"]["content"]).group(0)
            assert len(set(credentials.values())) == 3
            stored = (await server.api("GET", f"/elections/{eid}")).text
            assert not any(c in stored for c in credentials.values())

            # the 2-of-3 key, each trustee on its own machine
            url = f"{server.base_url}/elections/{eid}"
            machines = {who: tmp_path / f"machine-{who}" for who in ("hazel", "ivy", "alice")}
            for position, machine in enumerate(machines.values(), 1):
                await run("trustee", "threshold", "cert", "--dir", str(machine))
                cert = next(machine.glob("*.cert")).read_text()
                sent = await server.api(
                    "POST", f"/elections/{eid}/trustees/{position}/ceremony/cert", content=cert
                )
                assert sent.status_code == 200, sent.text
            for step in ("polynomial", "verification"):
                for position, machine in enumerate(machines.values(), 1):
                    seed = str(next(machine.glob("*.seed")))
                    message = await run("trustee", "threshold", step, "--seed", seed,
                                        "--ceremony", f"{url}/ceremony")  # fmt: skip
                    sent = await server.api(
                        "POST", f"/elections/{eid}/trustees/{position}/ceremony/{step}",
                        content=message,
                    )  # fmt: skip
                    assert sent.status_code == 200, sent.text
            assert sent.json()["state"] == "open"

            # ballots, encrypted on each voter's machine
            grades = {"hazel": [1, 3], "ivy": [2, 2], "alice": [2, 4]}
            trackers = {}
            for who, choice in grades.items():
                path = tmp_path / f"{who}.credential"
                path.write_text(credentials[who] + "\n")
                out = await run("ballot", "--election", url, "--credential", str(path),
                                "--choices", json.dumps(choice))  # fmt: skip
                trackers[who] = out.strip().rsplit(" ", 1)[-1]
            async with httpx.AsyncClient() as web:
                page = await web.get(f"{url}/trackers", params={"tracker": trackers["alice"]})
            assert page.status_code == 200 and "found, counted" in page.text

            closed = await server.api("POST", f"/elections/{eid}/close")
            assert closed.json()["state"] == "tallied"

            # ivy is away: alice (3) and hazel (1) decrypt
            board = tmp_path / "board.bel"
            for who, position in (("alice", 3), ("hazel", 1)):
                async with httpx.AsyncClient() as web:
                    board.write_bytes((await web.get(f"{url}/archive")).content)
                seed = str(next(machines[who].glob("*.seed")))
                share = await run("trustee", "decrypt", str(board), "--seed", seed,
                                  "--ceremony", f"{url}/ceremony", "--jobs", "1")  # fmt: skip
                sent = await server.api(
                    "POST", f"/elections/{eid}/trustees/{position}/decryption", content=share
                )
                assert sent.status_code == 200, sent.text
            expected = [[1, 2, 0, 0, 0], [0, 1, 1, 1, 0]]  # saw 1,2,2; drill 3,2,4
            assert sent.json()["state"] == "done" and sent.json()["result"] == expected

            detail = (await server.api("GET", f"/proposals/{proposal['id']}")).json()
            assert detail["state"] == "executed"
            assert detail["result"]["tally"]["winner"] == "saw"

            def result_note(record: dict) -> bool:
                obj = record["activity"].get("object")
                return (
                    record["type"] == "Create" and isinstance(obj, dict)
                    and obj.get("inReplyTo") == f"{news}/proposals/{proposal['id']}"
                )  # fmt: skip

            told = await alice.await_for(result_note, timeout=30)
            assert told["http_signature"]["verified"] is True
            assert "saw" in told["activity"]["object"]["content"]

            async def notice() -> str | None:
                response = await hazel.get(
                    f"/_matrix/client/v3/rooms/{quote(decisions)}/messages",
                    params={"dir": "b", "limit": 50},
                )
                for event in response.json()["chunk"]:
                    body = event["content"].get("body", "")
                    if (
                        event["type"] == "m.room.message"
                        and "Which tool?" in body
                        and "saw" in body
                    ):
                        return body
                return None

            await poll(notice, what="the result in the decisions room", timeout=30)

            async with httpx.AsyncClient() as web:
                archive = (await web.get(f"{url}/archive")).content
            assert verify_archive_bytes(archive).ok
            (tmp_path / "tool").mkdir()
            e = ToolElection(tmp_path / "tool", tool_path(), uuid=election["uuid"])
            e.archive.write_bytes(archive)
            assert "all checks passed" in e.verify()

"""The Matrix homeserver away for a while, and our server away while it pushes.

    fediverse post ──> group ──> puppet message in the group's general room
                                   (Synapse stopped: kept, retried, sent when back)
    Synapse restarted: its transaction ids start again at 1 (SQLite keeps no
                       counter once nothing is pending); new events under a
                       known id are stored, not dropped as a replay
    our server stopped: Synapse keeps the transaction and pushes it again
                       after our start (we ping it); processed once

A real Synapse and a real ``imago-fed serve``; the fediverse side is a
loopback actor host and a recording follower inbox.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx

from tests.activitypub.actor_host import actor_host
from tests.chaos.world import SLUG, Recorder, add_member, follow, send, signed_creates
from tests.interop.instance import Instance, bridged_instance
from tests.receiver import receiver

SPACE = f"#_imago_{SLUG}:localhost"
GENERAL = f"#_imago_{SLUG}_general:localhost"
AWAY_S = 8.0


async def poll(probe, *, timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not met within {timeout} s")
        await asyncio.sleep(0.25)


async def joined(human: httpx.AsyncClient, alias: str) -> str | None:
    response = await human.post(f"/_matrix/client/v3/join/{quote(alias)}", json={})
    return response.json()["room_id"] if response.is_success else None


async def bodies(human: httpx.AsyncClient, room_id: str) -> list[str]:
    response = await human.get(
        f"/_matrix/client/v3/rooms/{quote(room_id)}/messages", params={"dir": "b", "limit": 100}
    )
    assert response.status_code == 200, response.text
    return [
        e["content"].get("body", "")
        for e in response.json()["chunk"]
        if e["type"] == "m.room.message" and e["sender"].startswith("@_imago_")
    ]


def notes_from_matrix(follower: Recorder, text: str) -> list[dict[str, Any]]:
    """Announces the follower got of a Note (from Matrix) containing ``text``."""
    return [
        a for a in follower.received
        if a.get("type") == "Announce" and isinstance(a.get("object"), dict)
        and text in str(a["object"].get("object"))
    ]  # fmt: skip


async def test_homeserver_away_and_back(
    tmp_path: Path, pg_admin_dsn: str, synapse_factory, report
) -> None:
    follower = Recorder()
    async with (
        receiver(follower) as follower_rx,
        actor_host() as host,
        bridged_instance("hsaway", tmp_path, pg_admin_dsn, synapse_factory) as running,
    ):
        server, hs, _, dsn = running
        await _scenario(server, hs, dsn, host, follower, f"{follower_rx.base_url}/inbox", report)


async def _scenario(server: Instance, hs, dsn: str, host, follower: Recorder, inbox: str,
                    report) -> None:  # fmt: skip
    await server.create_group(SLUG, posting_policy="anyone")
    await follow(server, add_member(host, "reader", 0, inbox))
    poster = add_member(host, "poster", 1)
    _, token = await hs.aregister_user("hazel", "pw-hazel-123")
    async with hs.async_client(token) as human:
        await poll(lambda: joined(human, SPACE), what="joining the space")
        general = await poll(lambda: joined(human, GENERAL), what="joining general")

        posts = signed_creates(poster, server, 4, "hs")
        async with httpx.AsyncClient(timeout=30) as client:
            assert await send(client, posts[0]) == 202
        await poll(lambda: _said(human, general, ["chaos hs-0"]), what="the first post bridged")

        # 1. The homeserver goes away; what the group shares meanwhile waits.
        await hs.astop()
        async with httpx.AsyncClient(timeout=30) as client:
            for post in posts[1:]:
                assert await send(client, post) == 202
        await asyncio.sleep(AWAY_S)
        tries_while_away = _log(server).count("events-matrix: step failed")
        await hs.astart()
        texts = [f"chaos hs-{n}" for n in range(4)]
        await poll(lambda: _said(human, general, texts), timeout=90, what="sent when back")
        said = await bodies(human, general)
        duplicated = {t: n for t in texts if (n := sum(t in b for b in said)) != 1}
        assert duplicated == {}, duplicated

        # 2. After its restart Synapse numbers its transactions from 1 again.
        sent = await human.put(
            f"/_matrix/client/v3/rooms/{quote(general)}/send/m.room.message/after-restart",
            json={"msgtype": "m.text", "body": "Back after the restart"},
        )
        assert sent.is_success, sent.text
        await poll(
            lambda: _true(notes_from_matrix(follower, "Back after the restart")),
            what="a message after Synapse's restart reaches the fediverse",
        )

        # 3. Our server away while Synapse pushes: the transaction comes again.
        server.stop()
        sent = await human.put(
            f"/_matrix/client/v3/rooms/{quote(general)}/send/m.room.message/while-away",
            json={"msgtype": "m.text", "body": "Written while the bridge was away"},
        )
        assert sent.is_success, sent.text
        event_id = sent.json()["event_id"]
        await asyncio.sleep(3)  # Synapse tries, fails, backs off
        server.start()
        await poll(
            lambda: _true(notes_from_matrix(follower, "Written while the bridge")),
            timeout=90,
            what="a message pushed while we were away reaches the fediverse",
        )
        await asyncio.sleep(3)  # a duplicate, if any, would arrive now
        conn = await asyncpg.connect(dsn)
        try:
            stored = await conn.fetchval(
                "SELECT count(*) FROM matrix_events WHERE event_id = $1", event_id
            )
            shared = await conn.fetchval(
                "SELECT count(*) FROM group_events WHERE payload->>'message_id' = $1", event_id
            )
        finally:
            await conn.close()
        reused = _log(server).count("transaction id reused with new events")
        report(
            "figures",
            fediverse_posts_while_hs_away=3,
            our_tries_while_away=tries_while_away,
            delivered_when_back=sum(1 for t in texts[1:] if any(t in b for b in said)),
            duplicated_in_matrix=len(duplicated),
            transaction_ids_reused_by_synapse=reused,
            pushed_while_we_were_away_stored=stored,
            recorded=shared,
            announced=len(notes_from_matrix(follower, "Written while the bridge")),
        )
        assert tries_while_away >= 1  # we did try, and did not give up
        assert stored == 1 and shared == 1
        assert len(notes_from_matrix(follower, "Written while the bridge")) == 1


async def _said(human: httpx.AsyncClient, room_id: str, texts: list[str]) -> bool:
    said = await bodies(human, room_id)
    return all(any(t in b for b in said) for t in texts)


async def _true(value: object) -> bool:
    return bool(value)


def _log(server: Instance) -> str:
    return server.log_path.read_text(errors="replace")

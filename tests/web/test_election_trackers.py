"""The voters' tracker page (HTML) and its JSON list, through a whole election."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
from quart.typing import TestClientProtocol as Client

from imago_fed.commands.ballot import encrypt_ballot
from imago_fed.domain.voting.elections import BoardEntry, board_entries, tracker_status
from imago_fed.web.runtime import Runtime
from tests.web.test_elections import AUTH, MEMBERS, decrypt, garden, keygen, ok

SECRET_PLURALITY = {"protocol": "democracy", "method": "plurality", "secret": True,
                    "quorum": "1/2", "duration_s": 3600}  # fmt: skip
TITLE = 'Saw <b>or</b> drill & "co"'


@pytest.fixture
async def setup(migrated_db: str, make_settings) -> AsyncIterator[tuple[Runtime, Client]]:
    async with garden(migrated_db, make_settings, SECRET_PLURALITY) as running:
        yield running


def test_the_last_ballot_per_credential_counts() -> None:
    raws = ['{"credential":"1","x":1}', '{"credential":"2"}', '{"credential":"1","x":2}']
    entries = board_entries(raws)
    assert [e.counted for e in entries] == [False, True, True]
    assert tracker_status(entries, entries[0].tracker) == "replaced"
    assert tracker_status(entries, " " + entries[2].tracker + "\n") == "counted"
    assert tracker_status(entries, "nope") == "not_found"
    plus = [BoardEntry("a+b/c", True)]
    assert tracker_status(plus, "a b/c") == "counted"  # "+" read from a URL as a space


async def page(client: Client, eid: int, tracker: str | None = None) -> str:
    url = f"/elections/{eid}/trackers"
    if tracker is not None:
        url += "?tracker=" + quote(tracker, safe="")
    response = await client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    return await response.get_data(as_text=True)


async def test_voters_find_their_trackers(setup, tmp_path: Path) -> None:
    _rt, client = setup
    body = {"action": "spend", "title": TITLE, "options": ["saw", "drill"]}
    proposal = await ok(
        await client.post("/api/v1/groups/garden/proposals", headers=AUTH, json=body), 201
    )
    election = await ok(
        await client.post(
            f"/api/v1/proposals/{proposal['id']}/election", headers=AUTH,
            json={"trustees": MEMBERS[:1]},
        ),
        201,
    )  # fmt: skip
    eid, credentials = election["id"], election["credentials"]

    waiting = await page(client, eid)
    assert "<b>" not in waiting and html.escape(TITLE) in waiting
    assert "waiting for the trustees" in waiting and "/archive" not in waiting
    listed = await ok(await client.get(f"/elections/{eid}/ballots"))
    assert listed == {"election": eid, "state": "keys", "counted": 0, "ballots": []}

    private, public = keygen(tmp_path / "trustee1")
    await ok(
        await client.post(
            f"/api/v1/elections/{eid}/trustees/1/key", headers=AUTH, data=public.read_text()
        )
    )
    params = await ok(await client.get(f"/elections/{eid}"))
    votes = [(MEMBERS[0], [0]), (MEMBERS[1], [1]), (MEMBERS[1], [0])]  # m1 changes their mind
    trackers = []
    for member, choice in votes:
        raw = encrypt_ballot(params, credentials[member], choice)
        cast = await ok(await client.post(f"/elections/{eid}/ballots", data=raw), 201)
        trackers.append(cast["tracker"])

    listed = await ok(await client.get(f"/elections/{eid}/ballots"))
    assert listed["state"] == "open" and listed["counted"] == 2
    assert listed["ballots"] == [
        {"tracker": trackers[0], "counted": True},
        {"tracker": trackers[1], "counted": False},
        {"tracker": trackers[2], "counted": True},
    ]
    looked = await ok(await client.get(f"/elections/{eid}/ballots?tracker={quote(trackers[1])}"))
    assert looked["lookup"] == {"tracker": trackers[1], "status": "replaced"}

    board = await page(client, eid)
    assert all(html.escape(t) in board for t in trackers)
    assert "3 accepted, 2 counted" in board and f'href="/elections/{eid}/archive"' in board
    assert "<script" not in board
    assert "found, counted" in await page(client, eid, trackers[0])
    assert "replaced by a later ballot" in await page(client, eid, trackers[1])
    # a tracker pasted into the address bar: its "+" arrives as a space
    spaced = trackers[0].replace("+", " ")  # the same, whether or not it holds a "+"
    assert "found, counted" in await page(client, eid, spaced)
    hostile = await page(client, eid, '<script>alert("x")</script>')
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile
    assert re.search(r'id="lookup" class="not_found">.*<strong>not found</strong>', hostile)

    await ok(await client.post(f"/api/v1/elections/{eid}/close", headers=AUTH))
    assert "the trustees are decrypting" in await page(client, eid)
    archive = tmp_path / "board.bel"
    archive.write_bytes(await (await client.get(f"/elections/{eid}/archive")).get_data())
    await ok(
        await client.post(
            f"/api/v1/elections/{eid}/trustees/1/decryption", headers=AUTH,
            data=decrypt(archive, private, 1),
        )
    )  # fmt: skip
    done = await page(client, eid, trackers[2])
    assert "(the result is decrypted" in done and "found, counted" in done
    assert "<h2>Result</h2>" in done and "winner: <strong>saw</strong>" in done
    assert "<li>saw: 2</li><li>drill: 0</li>" in done

    assert (await client.get("/elections/999/trackers")).status_code == 404
    assert (await client.get("/elections/999/ballots")).status_code == 404

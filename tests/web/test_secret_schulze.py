"""A secret Schulze vote end to end: pairwise questions, real crypto, real database.

The ballot has one 0/1 question per pair of options; the decrypted tally is
the pairwise matrix, counted by the same Schulze code as an open vote. The
served board must pass belenios-tool's ``election verify``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from quart.typing import TestClientProtocol as Client

from imago_fed.commands.ballot import encrypt_ballot
from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.voting.counting import schulze
from imago_fed.domain.voting.crypto import verify_archive_bytes
from imago_fed.domain.voting.elections import pairwise_matrix
from imago_fed.web.runtime import Runtime
from tests.domain.voting.crypto.belenios import ToolElection, tool_path
from tests.web.test_elections import AUTH, MEMBERS, ballot_via_cli, decrypt, garden, keygen, ok

SECRET_SCHULZE = {"protocol": "democracy", "method": "schulze", "secret": True,
                  "quorum": "1/2", "duration_s": 3600}  # fmt: skip
OPTIONS = ["saw", "drill", "plane"]


@pytest.fixture
async def setup(migrated_db: str, make_settings) -> AsyncIterator[tuple[Runtime, Client]]:
    async with garden(migrated_db, make_settings, SECRET_SCHULZE) as running:
        yield running


async def test_a_secret_schulze_vote(setup, tmp_path: Path) -> None:
    _rt, client = setup
    body = {"action": "spend", "title": "Which tool?", "options": OPTIONS}
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
    private, public = keygen(tmp_path / "trustee1")
    opened = await ok(
        await client.post(
            f"/api/v1/elections/{eid}/trustees/1/key", headers=AUTH, data=public.read_text()
        )
    )
    assert opened["state"] == "open"
    params = await ok(await client.get(f"/elections/{eid}"))
    assert params["method"] == "schulze"
    questions = json.loads(params["election"])["questions"]
    assert questions[0]["answers"] == ["saw preferred to drill", "drill preferred to saw"]
    assert len(questions) == 3 and all((q["min"], q["max"]) == (0, 1) for q in questions)

    rankings = {MEMBERS[0]: [1, 3, 2], MEMBERS[1]: [2, 1, 3], MEMBERS[2]: [3, 1, 2]}
    raws = {m: encrypt_ballot(params, credentials[m], r) for m, r in rankings.items()}
    raws[MEMBERS[1]] = ballot_via_cli(params, credentials[MEMBERS[1]], [2, 1, 3], tmp_path)
    for raw in raws.values():
        await ok(await client.post(f"/elections/{eid}/ballots", data=raw), 201)
    rankings[MEMBERS[2]] = [1, 0, 0]  # a revote: saw first, the other two unranked
    revote = encrypt_ballot(params, credentials[MEMBERS[2]], rankings[MEMBERS[2]])
    await ok(await client.post(f"/elections/{eid}/ballots", data=revote), 201)
    with pytest.raises(InvalidInput, match="one rank per option"):
        encrypt_ballot(params, credentials[MEMBERS[0]], [1, 2])

    await ok(await client.post(f"/api/v1/elections/{eid}/close", headers=AUTH))
    board = tmp_path / "board.bel"
    board.write_bytes(await (await client.get(f"/elections/{eid}/archive")).get_data())
    done = await ok(
        await client.post(
            f"/api/v1/elections/{eid}/trustees/1/decryption", headers=AUTH,
            data=decrypt(board, private, 1),
        )
    )  # fmt: skip
    assert done["state"] == "done"

    open_count = schulze(list(rankings.values()), nchoices=3, blank_allowed=True)
    assert pairwise_matrix(3, done["result"]) == [list(row) for row in open_count.raw]

    archive = await (await client.get(f"/elections/{eid}/archive")).get_data()
    report = verify_archive_bytes(archive)
    assert report.ok and report.ballots == 4
    (tmp_path / "tool").mkdir()
    tool = ToolElection(tmp_path / "tool", tool_path(), uuid=election["uuid"])
    tool.archive.write_bytes(archive)
    assert "all checks passed" in tool.verify()

    detail = await ok(await client.get(f"/api/v1/proposals/{proposal['id']}", headers=AUTH))
    tally = detail["result"]["tally"]
    assert tally["winner"] == "saw" == OPTIONS[open_count.winners[0][0]]
    assert tally["count"]["winners"] == [list(g) for g in open_count.winners]
    assert tally["count"]["beatpaths"] == json.loads(json.dumps(open_count.beatpaths))
    assert detail["state"] == "executed" and tally["turnout"] == 3

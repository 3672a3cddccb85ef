"""A secret Majority Judgment vote end to end, over HTTP, a real database and real crypto.

Trustees make their keys and partial decryptions with the CLI, as on their
own machines; voters encrypt with the ballot command's function; the board
the server serves is verified by us and by belenios-tool.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from quart.typing import TestClientProtocol as Client

from imago_fed.app import create_app
from imago_fed.commands.ballot import ballot, encrypt_ballot
from imago_fed.commands.election import trustee
from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.proposals import Proposal, options_for
from imago_fed.domain.governance.protocols import Democracy
from imago_fed.domain.governance.table import parse_changes
from imago_fed.domain.voting.crypto import generate_credential, verify_archive_bytes
from imago_fed.domain.voting.crypto.encoding import compact
from imago_fed.domain.voting.elections import (
    choices_for,
    method_of,
    questions_for,
    secret_outcome,
)
from imago_fed.store import follows
from imago_fed.web.runtime import EXTENSION_KEY, Runtime
from tests.conftest import TEST_ADMIN_TOKEN
from tests.domain.voting.crypto.belenios import ToolElection, tool_path

AUTH = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}
MEMBERS = [f"https://social.example/users/m{i}" for i in range(3)]
SECRET_MJ = {"protocol": "democracy", "method": "majority_judgment", "secret": True,
             "quorum": "1/2", "duration_s": 3600}  # fmt: skip


@contextlib.asynccontextmanager
async def garden(
    migrated_db: str, make_settings, spend_rule: dict
) -> AsyncIterator[tuple[Runtime, Client]]:
    """An app whose group garden has MEMBERS as followers and ``spend_rule`` in its table."""
    settings = make_settings(migrated_db, IMAGO_FEDERATION_WORKERS_IN_SERVE="false")
    app = create_app(settings, migrated_db)
    async with app.test_app() as test_app:
        rt: Runtime = app.extensions[EXTENSION_KEY]
        group = await rt.groups.create("garden", "Garden")
        for member in MEMBERS:
            await follows.add_follower(
                rt.pool, group.id, member, member + "#f", "accepted", datetime.now(UTC)
            )
        changes = parse_changes({"spend": spend_rule})
        table = (await rt.governance.table(group.id)).amended(changes)
        await rt.governance_store.save_table(group.id, table, datetime.now(UTC))
        yield rt, test_app.test_client()


@pytest.fixture
async def setup(migrated_db: str, make_settings) -> AsyncIterator[tuple[Runtime, Client]]:
    async with garden(migrated_db, make_settings, SECRET_MJ) as running:
        yield running


def keygen(directory: Path) -> tuple[Path, Path]:
    result = CliRunner().invoke(trustee, ["keygen", "--dir", str(directory)])
    assert result.exit_code == 0, result.output
    (private,) = directory.glob("*.privkey")
    (public,) = directory.glob("*.pubkey")
    return private, public


def decrypt(board: Path, private: Path, position: int) -> str:
    args = ["decrypt", str(board), "--privkey", str(private), "--trustee-id", str(position)]
    result = CliRunner().invoke(trustee, [*args, "--jobs", "1"])
    assert result.exit_code == 0, result.output
    return result.output


def ballot_via_cli(params: dict, credential: str, grades: list[int], tmp_path: Path) -> str:
    """Run ``imago-fed ballot`` against a stand-in server; return the ballot it posted."""
    posted: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=params)
        posted.append(request.content.decode())
        return httpx.Response(201, json={"tracker": "T"})

    real_client = httpx.Client
    path = tmp_path / "credential.txt"
    path.write_text(credential + "\n")
    args = ["--election", "https://groups.test/elections/1", "--credential", str(path)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            httpx, "Client", lambda **kw: real_client(transport=httpx.MockTransport(server), **kw)
        )
        result = CliRunner().invoke(ballot, [*args, "--choices", json.dumps(grades)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "ballot cast; tracker T"
    return posted[0]


async def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, await response.get_data(as_text=True)
    return await response.get_json()


async def spend_proposal(client: Client, title: str, options: list[str], **extra) -> dict:
    """A "spend" proposal on garden (a secret vote in these tests' table)."""
    body = {"action": "spend", "title": title, "options": options, **extra}
    return await ok(await client.post("/api/v1/groups/garden/proposals", headers=AUTH,
                                      json=body), 201)  # fmt: skip


async def test_a_secret_majority_judgment_vote(setup, tmp_path: Path) -> None:
    rt, client = setup
    proposal = await spend_proposal(client, "Which tool?", ["saw", "drill"])
    pid = proposal["id"]
    trustees = MEMBERS[:2]
    setup_body = await ok(
        await client.post(
            f"/api/v1/proposals/{pid}/election", headers=AUTH, json={"trustees": trustees}
        ),
        201,
    )
    eid, credentials = setup_body["id"], setup_body["credentials"]
    assert setup_body["state"] == "keys" and sorted(credentials) == sorted(MEMBERS)
    stored = json.dumps(await rt.pool.fetchval("SELECT row_to_json(e) FROM elections e"))
    assert not any(c in stored for c in credentials.values())  # only public credentials kept

    keys = [keygen(tmp_path / f"trustee{i}") for i in (1, 2)]
    for position, (_private, public) in enumerate(keys, 1):
        added = await ok(
            await client.post(
                f"/api/v1/elections/{eid}/trustees/{position}/key", headers=AUTH,
                data=public.read_text(),
            )
        )  # fmt: skip
    assert added["state"] == "open"

    params = await ok(await client.get(f"/elections/{eid}"))
    assert params["method"] == "majority_judgment" and params["options"] == ["saw", "drill"]

    async def cast(raw: str, status: int = 201) -> dict:
        return await ok(await client.post(f"/elections/{eid}/ballots", data=raw), status)

    grades = {MEMBERS[0]: [1, 3], MEMBERS[1]: [2, 2], MEMBERS[2]: [5, 1]}
    raws = {m: encrypt_ballot(params, credentials[m], g) for m, g in grades.items()}
    raws[MEMBERS[1]] = ballot_via_cli(params, credentials[MEMBERS[1]], grades[MEMBERS[1]], tmp_path)
    trackers = {m: (await cast(raw))["tracker"] for m, raw in raws.items()}
    assert len(set(trackers.values())) == 3

    tampered = json.loads(raws[MEMBERS[0]])
    answer = tampered["answers"][0]
    answer["choices"][0], answer["choices"][1] = answer["choices"][1], answer["choices"][0]
    refused = await cast(compact(tampered), 422)
    assert "ballot refused" in refused["error"]["message"]
    stranger = await cast(encrypt_ballot(params, generate_credential(), [1, 1]), 422)
    assert "ballot.credential" in stranger["error"]["message"]

    revote = encrypt_ballot(params, credentials[MEMBERS[2]], [2, 4])  # last ballot counts
    assert (await cast(revote))["tracker"] != trackers[MEMBERS[2]]

    closed = await ok(await client.post(f"/api/v1/elections/{eid}/close", headers=AUTH))
    assert closed["state"] == "tallied"
    assert (await client.post(f"/elections/{eid}/ballots", data=revote)).status_code == 409

    board = tmp_path / "board.bel"
    for position, (private, _public) in enumerate(keys, 1):
        board.write_bytes(await (await client.get(f"/elections/{eid}/archive")).get_data())
        share = decrypt(board, private, position)
        done = await ok(
            await client.post(
                f"/api/v1/elections/{eid}/trustees/{position}/decryption", headers=AUTH,
                data=share,
            )
        )  # fmt: skip
    # saw: grades 1, 2, 2; drill: 3, 2, 4 (m2's first ballot replaced)
    expected = [[1, 2, 0, 0, 0], [0, 1, 1, 1, 0]]
    assert done["state"] == "done" and done["result"] == expected

    archive = await (await client.get(f"/elections/{eid}/archive")).get_data()
    report = verify_archive_bytes(archive)
    assert report.ok and report.result == expected and report.ballots == 4
    (tmp_path / "tool").mkdir()
    e = ToolElection(tmp_path / "tool", tool_path(), uuid=setup_body["uuid"])
    e.archive.write_bytes(archive)
    assert "all checks passed" in e.verify()

    detail = await ok(await client.get(f"/api/v1/proposals/{pid}", headers=AUTH))
    assert detail["state"] == "executed"
    tally = detail["result"]["tally"]
    assert tally["winner"] == "saw" and tally["secret"] is True and tally["turnout"] == 3
    assert tally["count"]["raw"] == expected
    assert detail["votes"] == []  # no open ballot was ever stored


async def test_setup_refuses_open_votes_and_strangers(setup) -> None:
    rt, client = setup
    group_id = (await rt.groups.get("garden")).id
    open_mj = {**SECRET_MJ, "secret": False}
    table = (await rt.governance.table(group_id)).amended(parse_changes({"spend": open_mj}))
    await rt.governance_store.save_table(group_id, table, datetime.now(UTC))
    proposal = await spend_proposal(client, "x", ["a", "b"])
    response = await client.post(
        f"/api/v1/proposals/{proposal['id']}/election", headers=AUTH,
        json={"trustees": [MEMBERS[0]]},
    )  # fmt: skip
    assert response.status_code == 422
    assert (await client.get("/elections/999")).status_code == 404


def _proposal(method: str, options: tuple[str, ...]) -> Proposal:
    protocol = Democracy(quorum=Fraction(1, 2), method=method, secret=True)
    return Proposal(
        group_id=1, action=ActionKind.SPEND, title="t", protocol=protocol,
        options=options_for(protocol, options), author="a", created_at=datetime.now(UTC), id=1,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("method", "options", "ballots", "winner"),
    [
        ("approval", ("a", "b", "c"), [[0, 1], [1], [1, 2]], "b"),
        ("plurality", ("a", "b"), [[0], [1], [1]], "b"),
        ("plurality", (), [[0], [0], [1]], None),  # yes/no: 2 for, 1 against -> adopted
        ("majority_judgment", ("a", "b"), [[1, 3], [2, 2], [1, 4]], "a"),
        ("schulze", ("a", "b", "c"), [[1, 3, 2], [2, 1, 3], [1, 2, 0]], "a"),
    ],
)
def test_secret_results_are_counted_by_the_proposal_method(
    method: str, options: tuple[str, ...], ballots: list[list[int]], winner: str | None
) -> None:
    """Totals per answer, as decrypted, decide as the same ballots would in the open."""
    proposal = _proposal(method, options)
    kind = method_of(proposal)
    questions = questions_for(kind, proposal.options)
    plaintexts = [choices_for(kind, proposal.options, b) for b in ballots]
    result = [
        [sum(p[q][a] for p in plaintexts) for a in range(questions[q].width)]
        for q in range(len(questions))
    ]
    outcome = secret_outcome(proposal, electorate=4, voters=len(ballots), result=result)
    assert outcome.verdict == "adopted"
    assert outcome.tally.get("winner") == winner
    assert secret_outcome(proposal, electorate=7, voters=3, result=result).verdict == "expired"


def test_open_votes_and_big_schulze_votes_have_no_election() -> None:
    assert method_of(_proposal("schulze", ("a", "b"))) == "schulze"  # pairwise encoding
    with pytest.raises(InvalidInput, match="2 to 10 options"):
        method_of(_proposal("schulze", tuple("abcdefghijk")))
    open_vote = replace(_proposal("approval", ("a", "b")), protocol=Democracy(method="approval"))
    with pytest.raises(InvalidInput):
        method_of(open_vote)


async def test_at_the_end_the_box_closes_or_the_proposal_expires(setup, tmp_path: Path) -> None:
    rt, client = setup
    elections = rt.elections
    body = {"action": "spend", "title": "Which tool?", "options": ["saw", "drill"],
            "duration_s": 1}  # fmt: skip
    without = await ok(await client.post("/api/v1/groups/garden/proposals", headers=AUTH,
                                         json=body), 201)  # fmt: skip
    with_box = await ok(await client.post("/api/v1/groups/garden/proposals", headers=AUTH,
                                          json=body), 201)  # fmt: skip
    setup_body = await ok(
        await client.post(f"/api/v1/proposals/{with_box['id']}/election", headers=AUTH,
                          json={"trustees": MEMBERS[:1]}),
        201,
    )  # fmt: skip
    _private, public = keygen(tmp_path / "trustee1")
    await ok(await client.post(f"/api/v1/elections/{setup_body['id']}/trustees/1/key",
                               headers=AUTH, data=public.read_text()))  # fmt: skip
    await asyncio.sleep(1.1)
    assert await elections.close_due() == 2
    expired = await rt.governance.get(without["id"])
    assert (
        expired.state == "expired" and expired.result["tally"]["reason"] == "no election was set up"
    )
    record = await elections.get(setup_body["id"])
    assert record.state == "tallied" and record.encrypted_tally is not None
    assert await elections.close_due() == 0  # nothing more to do until the trustees decrypt

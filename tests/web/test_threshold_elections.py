"""A secret Majority Judgment vote whose 2-of-3 trustee key is made on three "machines".

Each trustee only ever runs the CLI (``imago-fed trustee threshold …`` and
``trustee decrypt --seed``) on files it holds and on the ceremony document
the server publishes; the administrator relays the outputs. Two of the three
decrypt; the board passes our verifier and belenios-tool.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from click.testing import CliRunner

from imago_fed.commands.ballot import encrypt_ballot
from imago_fed.commands.election import trustee
from imago_fed.domain.voting.crypto import BELENIOS_2048, verify_archive_bytes
from imago_fed.domain.voting.crypto.ceremony import CeremonyTrustee
from imago_fed.store import follows
from tests.domain.voting.crypto.belenios import ToolElection, tool_path
from tests.web.test_elections import (  # noqa: F401 (setup: a fixture)
    AUTH,
    MEMBERS,
    ok,
    setup,
    spend_proposal,
)


def cli(*args: str) -> str:
    result = CliRunner().invoke(trustee, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


async def test_two_of_three_trustees_from_separate_machines(setup, tmp_path: Path) -> None:  # noqa: F811
    rt, client = setup
    proposal = await spend_proposal(client, "Which tool?", ["saw", "drill"])
    created = await ok(
        await client.post(
            f"/api/v1/proposals/{proposal['id']}/election", headers=AUTH,
            json={"trustees": MEMBERS, "threshold": 2},
        ),
        201,
    )  # fmt: skip
    eid, credentials = created["id"], created["credentials"]
    assert created["threshold"] == 2 and created["ceremony_step"] == "cert"
    # these members' servers do not exist: nothing delivered, every credential returned once
    assert created["delivered"] == [] and sorted(created["undelivered"]) == sorted(MEMBERS)
    assert sorted(credentials) == sorted(MEMBERS)
    admin = f"/api/v1/elections/{eid}/trustees"

    async def send(position: int, step: str, body: str, status: int = 200) -> dict:
        return await ok(
            await client.post(f"{admin}/{position}/ceremony/{step}", headers=AUTH, data=body),
            status,
        )

    ceremony_file = tmp_path / "ceremony.json"

    async def refresh() -> str:
        ceremony_file.write_text(await (await client.get(f"/elections/{eid}/ceremony")).get_data(
            as_text=True))  # fmt: skip
        return str(ceremony_file)

    machines = [tmp_path / f"trustee{i}" for i in (1, 2, 3)]
    # round 1: a seed stays on each machine, the cert goes to the server
    for position, machine in enumerate(machines, 1):
        cli("threshold", "cert", "--dir", str(machine))
        (cert,) = machine.glob("*.cert")
        if position == 2:  # too early for round 3
            await send(2, "polynomial", "{}", 409)
        state = await send(position, "cert", cert.read_text())
    assert state["ceremony_step"] == "polynomial"
    await send(1, "cert", next(machines[0].glob("*.cert")).read_text(), 409)  # once only
    assert (await client.post(f"{admin}/1/key", headers=AUTH, data="{}")).status_code == 409

    def seed(machine: Path) -> str:
        return str(next(machine.glob("*.seed")))

    # round 3: signed coefficients and shares sealed to each trustee
    source = await refresh()
    for position, machine in enumerate(machines, 1):
        message = cli("threshold", "polynomial", "--seed", seed(machine), "--ceremony", source)
        if position == 1:  # trustee 1's message offered as trustee 2's: its signature fails
            refused = await send(2, "polynomial", message, 422)
            assert "signature" in refused["error"]["message"]
        state = await send(position, "polynomial", message)
    assert state["ceremony_step"] == "verification"

    # round 5: each checks the shares it received and publishes X_j
    source = await refresh()
    for position, machine in enumerate(machines, 1):
        message = cli("threshold", "verification", "--seed", seed(machine), "--ceremony", source)
        state = await send(position, "verification", message)
    assert state["state"] == "open" and state["ceremony_step"] is None

    # the server never saw a trustee's decryption key
    source = await refresh()
    ceremony = json.loads(ceremony_file.read_text())
    dump = json.dumps(
        [dict(r) for r in await rt.pool.fetch("SELECT * FROM election_trustees")], default=str
    )
    for position, machine in enumerate(machines, 1):
        me = CeremonyTrustee.from_seed(BELENIOS_2048, Path(seed(machine)).read_text())
        x = me.private_key(ceremony["uuid"], position,
                           ceremony["trustees"][position - 1]["verification"])  # fmt: skip
        assert str(x) not in dump and me.trustee.seed not in dump

    params = await ok(await client.get(f"/elections/{eid}"))
    assert params["threshold"] == 2
    grades = {MEMBERS[0]: [1, 3], MEMBERS[1]: [2, 2], MEMBERS[2]: [1, 4]}
    for member, g in grades.items():
        raw = encrypt_ballot(params, credentials[member], g)
        await ok(await client.post(f"/elections/{eid}/ballots", data=raw), 201)
    await ok(await client.post(f"/api/v1/elections/{eid}/close", headers=AUTH))
    for statement in ("UPDATE election_ballots SET raw = 'x'", "DELETE FROM election_ballots"):
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await rt.pool.execute(statement)  # the database itself keeps the box a log

    # trustee 2 is unreachable: 1 and 3 decrypt
    board = tmp_path / "board.bel"
    for position in (3, 1):
        board.write_bytes(await (await client.get(f"/elections/{eid}/archive")).get_data())
        share = cli("decrypt", str(board), "--seed", seed(machines[position - 1]),
                    "--ceremony", source, "--jobs", "1")  # fmt: skip
        done = await ok(
            await client.post(f"{admin}/{position}/decryption", headers=AUTH, data=share)
        )
        if position == 3:
            assert done["state"] == "tallied"  # one share is not enough
    expected = [[2, 1, 0, 0, 0], [0, 1, 1, 1, 0]]
    assert done["state"] == "done" and done["result"] == expected
    late = await client.post(f"{admin}/2/decryption", headers=AUTH, data=share)
    assert late.status_code == 409

    archive = await (await client.get(f"/elections/{eid}/archive")).get_data()
    report = verify_archive_bytes(archive)
    assert report.ok and report.result == expected
    (tmp_path / "tool").mkdir()
    e = ToolElection(tmp_path / "tool", tool_path(), uuid=created["uuid"])
    e.archive.write_bytes(archive)
    assert "all checks passed" in e.verify()
    detail = await ok(await client.get(f"/api/v1/proposals/{proposal['id']}", headers=AUTH))
    assert detail["state"] == "executed" and detail["result"]["tally"]["winner"] == "saw"


async def test_a_threshold_needs_two_trustees_or_more(setup) -> None:  # noqa: F811
    _rt, client = setup
    proposal = await spend_proposal(client, "x", ["a", "b"])
    for trustees, threshold in ((MEMBERS[:1], 1), (MEMBERS, 4), (MEMBERS, 0)):
        response = await client.post(
            f"/api/v1/proposals/{proposal['id']}/election", headers=AUTH,
            json={"trustees": trustees, "threshold": threshold},
        )  # fmt: skip
        assert response.status_code == 422, trustees
    assert (await client.get("/elections/999/ceremony")).status_code == 404


async def test_the_electorate_is_who_was_a_member_when_the_proposal_opened(setup) -> None:  # noqa: F811
    rt, client = setup
    proposal = await spend_proposal(client, "x", ["a", "b"])
    newcomer = "https://social.example/users/late"
    group = await rt.groups.get("garden")
    await follows.add_follower(
        rt.pool, group.id, newcomer, newcomer + "#f", "accepted", datetime.now(UTC)
    )
    url = f"/api/v1/proposals/{proposal['id']}/election"
    refused = await client.post(url, headers=AUTH, json={"trustees": [newcomer]})
    assert refused.status_code == 422  # not a member when the proposal opened
    created = await ok(
        await client.post(url, headers=AUTH, json={"trustees": MEMBERS[:1], "deliver": False}),
        201,
    )
    assert sorted(created["credentials"]) == sorted(MEMBERS) and created["voters"] == 3

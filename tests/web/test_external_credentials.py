"""An external credential authority: the server never sees a private credential.

The authority here is belenios-tool itself (``setup generate-credentials``),
then our own ``imago-fed credentials generate``: the server receives only the
public list, checks it against the electorate, and opens the box once the
trustees' key is in too.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from imago_fed.commands.ballot import encrypt_ballot
from imago_fed.commands.election import credentials as credentials_command
from imago_fed.domain.voting.crypto import BELENIOS_2048, verify_archive_bytes
from imago_fed.domain.voting.crypto.credentials import format_public_credential, public_credential
from tests.domain.voting.crypto.belenios import ToolElection, tool_path
from tests.web.test_elections import (  # noqa: F401 (setup: a fixture)
    AUTH,
    MEMBERS,
    decrypt,
    keygen,
    ok,
    setup,
    spend_proposal,
)


async def open_external(client, tmp_path: Path) -> tuple[dict, dict]:
    proposal = await spend_proposal(client, "Which tool?", ["saw", "drill"])
    created = await ok(
        await client.post(
            f"/api/v1/proposals/{proposal['id']}/election", headers=AUTH,
            json={"trustees": MEMBERS[:1], "credential_authority": "external"},
        ),
        201,
    )  # fmt: skip
    assert created["credentials"] == {} and sorted(created["electorate"]) == sorted(MEMBERS)
    assert created["credential_authority"] == "external" and created["public_credentials"] == 0
    return proposal, created


async def test_belenios_tool_as_the_credential_authority(setup, tmp_path: Path) -> None:  # noqa: F811
    rt, client = setup
    _proposal, created = await open_external(client, tmp_path)
    eid = created["id"]
    # the authority's own machine: its voter list, belenios-tool, two files
    authority = ToolElection(tmp_path, tool_path(), uuid=created["uuid"])
    (tmp_path / "voters.txt").write_text(
        "".join(f"voter{i}@example.org,voter{i}\n" for i in range(len(created["electorate"])))
    )
    authority.run("setup", "generate-credentials", "--uuid", created["uuid"],
                  "--group", "BELENIOS-2048", "--file", "voters.txt")  # fmt: skip
    (pubcreds,) = tmp_path.glob("*.pubcreds")
    (privcreds,) = tmp_path.glob("*.privcreds")
    privates = [line.split()[-1] for line in privcreds.read_text().splitlines()]

    url = f"/api/v1/elections/{eid}/credentials"
    too_few = json.dumps(json.loads(pubcreds.read_text())[:2])
    refused = await ok(await client.post(url, headers=AUTH, data=too_few), 422)
    assert "2 public credentials for 3 voters" in refused["error"]["message"]
    await ok(await client.post(url, headers=AUTH, data='["12345"]'), 422)  # not in the group
    state = await ok(await client.post(url, headers=AUTH, data=pubcreds.read_text()))
    assert state["public_credentials"] == 3 and state["state"] == "keys"  # no key yet
    await ok(await client.post(url, headers=AUTH, data=pubcreds.read_text()), 409)

    private_key, public_key = keygen(tmp_path / "trustee")
    opened = await ok(await client.post(f"/api/v1/elections/{eid}/trustees/1/key",
                                        headers=AUTH, data=public_key.read_text()))  # fmt: skip
    assert opened["state"] == "open"

    params = await ok(await client.get(f"/elections/{eid}"))
    for credential, grades in zip(privates, ([1, 3], [2, 2], [2, 4]), strict=True):
        raw = encrypt_ballot(params, credential, grades)
        await ok(await client.post(f"/elections/{eid}/ballots", data=raw), 201)
    await ok(await client.post(f"/api/v1/elections/{eid}/close", headers=AUTH))
    board = tmp_path / "trustee" / "board.bel"  # the trustee's machine
    board.write_bytes(await (await client.get(f"/elections/{eid}/archive")).get_data())
    share = decrypt(board, private_key, 1)
    done = await ok(await client.post(f"/api/v1/elections/{eid}/trustees/1/decryption",
                                      headers=AUTH, data=share))  # fmt: skip
    assert done["result"] == [[1, 2, 0, 0, 0], [0, 1, 1, 1, 0]]

    archive = await (await client.get(f"/elections/{eid}/archive")).get_data()
    assert verify_archive_bytes(archive).ok
    authority.archive.write_bytes(archive)
    assert "all checks passed" in authority.verify()
    stored = json.dumps(await rt.pool.fetchval("SELECT row_to_json(e) FROM elections e"))
    assert not any(p in stored for p in privates)


async def test_imago_fed_as_the_credential_authority(setup, tmp_path: Path) -> None:  # noqa: F811
    _rt, client = setup
    _proposal, created = await open_external(client, tmp_path)
    voters = tmp_path / "voters.txt"
    voters.write_text("\n".join(created["electorate"]) + "\n")
    result = CliRunner().invoke(
        credentials_command,
        ["generate", "--uuid", created["uuid"], "--voters", str(voters), "--dir", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    privcreds = tmp_path / f"{created['uuid']}.privcreds"
    assert privcreds.stat().st_mode & 0o077 == 0  # the private file is the authority's alone
    lines = dict(line.split() for line in privcreds.read_text().splitlines())
    assert sorted(lines) == sorted(created["electorate"])
    publics = json.loads((tmp_path / f"{created['uuid']}.pubcreds").read_text())
    assert sorted(publics) == sorted(
        format_public_credential(
            BELENIOS_2048, public_credential(BELENIOS_2048, created["uuid"], c)
        )
        for c in lines.values()
    )
    state = await ok(await client.post(f"/api/v1/elections/{created['id']}/credentials",
                                       headers=AUTH, data=json.dumps(publics)))  # fmt: skip
    assert state["public_credentials"] == 3

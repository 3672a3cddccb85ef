"""Both ways with the real belenios-tool 2.0.

(1) belenios-tool runs elections (one trustee; server key + 2-of-3 Pedersen),
    with weights and a revote: our verifier accepts them and finds the same
    result; forged boards are refused with the right check named.
(2) we run an election (majority-judgment style, threshold): belenios-tool's
    ``election verify`` accepts the board and ``compute-result`` agrees.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from imago_fed.domain.voting.crypto import (
    BELENIOS_2048,
    Election,
    PublicKey,
    create_ballot,
    public_credential,
    verify_archive,
    verify_archive_bytes,
)
from imago_fed.domain.voting.crypto.archive import parse_archive
from imago_fed.domain.voting.crypto.board import ElectionRun
from imago_fed.domain.voting.crypto.encoding import compact
from imago_fed.domain.voting.crypto.groups import native_arithmetic, set_native_arithmetic
from tests.domain.voting.crypto.belenios import (
    EXPECTED,
    VOTES,
    ToolElection,
    setup_election,
    tally_and_decrypt,
    tool_path,
)
from tests.domain.voting.crypto.conftest import MJ_RESULT, write_board
from tests.domain.voting.crypto.rewrite import only, resigned, rewrite


def tool_result(e: ToolElection) -> list[list[int]]:
    archive = parse_archive(e.archive.read_bytes())
    (payload,) = [ev.payload for _, ev in archive.events if ev.type == "Result"]
    return json.loads(archive.get(payload))["result"]


def election_of(data: bytes) -> Election:
    archive = parse_archive(data)
    setup = json.loads(archive.get(archive.events[0][1].payload))
    return Election.parse(archive.get(setup["election"]))


# ----------------------------------------------------------- (1) theirs -> us
def test_the_tool_is_installed() -> None:
    out = subprocess.run([tool_path(), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("2.")


def test_we_verify_a_belenios_tool_election(tool_single: ToolElection) -> None:
    report = verify_archive(tool_single.archive)
    assert report.ok, report.failures
    assert report.result == EXPECTED == tool_result(tool_single)
    assert report.ballots == len(VOTES) + 1  # the revote replaced a ballot
    assert report.counted == len(VOTES)


def test_we_verify_a_belenios_tool_threshold_election(tool_threshold: ToolElection) -> None:
    report = verify_archive(tool_threshold.archive)
    assert report.ok, report.failures
    assert report.result == EXPECTED == tool_result(tool_threshold)
    names = [c.detail for c in report.checks if c.name == "trustees.*"]
    assert "2-of-3 Pedersen" in names[0]
    decrypted = [c.detail for c in report.checks if c.name == "decryption.proof"]
    assert len(decrypted) == 3  # trustees 2 and 4 (Pedersen 1 and 3), and the server


def test_our_writer_reproduces_belenios_tool_bytes(tool_threshold: ToolElection) -> None:
    data = tool_threshold.archive.read_bytes()
    assert rewrite(data, lambda role, body, index: body) == data


_resigned = resigned


def _bump(proof: dict[str, str]) -> None:
    proof["challenge"] = str((int(proof["challenge"]) + 1) % BELENIOS_2048.q)


def _swap_choices(ballot: dict) -> None:
    answer = ballot["answers"][0]
    answer["choices"].reverse()


def _non_member(ballot: dict) -> None:
    ballot["answers"][1]["choices"][2]["beta"] = str(BELENIOS_2048.p - 1)  # order 2


def _flip_result(body: str) -> str:
    value = json.loads(body)
    value["result"][0][0] += 1
    return compact(value)


def _other_factor(body: str) -> str:
    value = json.loads(body)
    value["decryption_factors"][1][2] = str(BELENIOS_2048.g)
    return compact(value)


def _other_tally(body: str) -> str:
    value = json.loads(body)
    value[0][0], value[0][1] = value[0][1], value[0][0]
    return compact(value)


def _other_pok(body: str) -> str:
    value = json.loads(body)
    _bump(value[0][1]["pok"])
    return compact(value)


# ballot index 2 is voter 2's (index 0 is voter 1's replaced ballot)
FORGERIES: dict[str, tuple[str, int, str | Callable]] = {
    "individual proof": ("ballot", 2, lambda b: _bump(b["answers"][0]["individual_proofs"][1][0])),
    "overall proof": ("ballot", 2, lambda b: _bump(b["answers"][0]["overall_proof"][1])),
    "blank proof": ("ballot", 2, lambda b: _bump(b["answers"][1]["blank_proof"][0])),
    "swapped ciphertexts": ("ballot", 2, _swap_choices),
    "non-member": ("ballot", 2, _non_member),
}
EXPECTED_CHECK = {
    "individual proof": "ballot.individual_proof",
    "overall proof": "ballot.overall_proof",
    "blank proof": "ballot.blank_proof",
    "swapped ciphertexts": "ballot.individual_proof",
    "non-member": "ballot.membership",
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_resigned_forged_ballot_fails_its_proof(tool_single: ToolElection, forgery: str) -> None:
    data = tool_single.archive.read_bytes()
    election = election_of(data)
    role, index, change = FORGERIES[forgery]
    edit = _resigned(election, tool_single.credentials[1], change)  # type: ignore[arg-type]
    report = verify_archive_bytes(rewrite(data, only(role, index, edit)))
    assert not report.ok
    assert report.failures[0].name == EXPECTED_CHECK[forgery]
    assert "ballot #3" in report.failures[0].detail


@pytest.mark.skipif(not native_arithmetic(), reason="the C accelerator is not built here")
@pytest.mark.parametrize("forgery", ["none", *sorted(FORGERIES)])
def test_the_accelerator_and_the_pure_path_give_the_same_report(
    tool_single: ToolElection, forgery: str
) -> None:
    data = tool_single.archive.read_bytes()
    if forgery != "none":
        role, index, change = FORGERIES[forgery]
        edit = _resigned(election_of(data), tool_single.credentials[1], change)  # type: ignore[arg-type]
        data = rewrite(data, only(role, index, edit))
    native = verify_archive_bytes(data)
    set_native_arithmetic(False)
    try:
        pure = verify_archive_bytes(data)
    finally:
        set_native_arithmetic(True)
    assert native.checks == pure.checks
    assert native.ok is (forgery == "none")
    assert (native.result, native.counted) == (pure.result, pure.counted)


def test_a_forged_ballot_without_the_credential_fails_the_signature(
    tool_single: ToolElection,
) -> None:
    def change(body: str) -> str:
        ballot = json.loads(body)
        _bump(ballot["answers"][0]["individual_proofs"][0][0])
        return compact(ballot)

    report = verify_archive_bytes(
        rewrite(tool_single.archive.read_bytes(), only("ballot", 1, change))
    )
    assert report.failures[0].name == "ballot.signature"


@pytest.mark.parametrize(
    ("role", "index", "change", "check"),
    [
        ("result", 0, _flip_result, "result"),
        ("partial_decryption", 0, _other_factor, "decryption.proof"),
        ("tally", 0, _other_tally, "tally.encrypted"),
        ("trustees", 0, _other_pok, "trustees.pok"),
    ],
)
def test_forged_tally_decryption_result_and_keys_are_named(
    tool_single: ToolElection, role: str, index: int, change: Callable, check: str
) -> None:
    report = verify_archive_bytes(
        rewrite(tool_single.archive.read_bytes(), only(role, index, change))
    )
    assert not report.ok
    assert report.failures[0].name == check


def test_a_forged_threshold_share_is_named(tool_threshold: ToolElection) -> None:
    data = rewrite(
        tool_threshold.archive.read_bytes(), only("partial_decryption", 1, _other_factor)
    )
    report = verify_archive_bytes(data)
    assert report.failures[0].name == "decryption.proof"
    assert "trustee 4" in report.failures[0].detail  # Pedersen member 3 is owner 4
    # the remaining Pedersen share is one short of the threshold of 2
    assert report.failures[-1].name == "decryption.threshold"


def test_a_byte_edited_archive_fails_its_hashes(tool_single: ToolElection) -> None:
    data = bytearray(tool_single.archive.read_bytes())
    at = data.index(b'"overall_proof"') + 40
    data[at] = ord("1") if data[at] != ord("1") else ord("2")
    report = verify_archive_bytes(bytes(data))
    assert [c.name for c in report.failures] == ["archive.hashes"]


def test_credentials_match_belenios_tool(tmp_path: Path) -> None:
    e = ToolElection(tmp_path, tool_path())
    uuid = e.run("setup", "generate-token").strip()
    e.run(
        "setup", "generate-credentials", "--uuid", uuid, "--group", "BELENIOS-2048", "--count", "4"
    )
    (priv,) = tmp_path.glob("*.privcreds")
    (pub,) = tmp_path.glob("*.pubcreds")
    private = [line.split()[-1] for line in priv.read_text().splitlines()]
    public = {line.split(",")[0] for line in json.loads(pub.read_text())}
    ours = {BELENIOS_2048.encode(public_credential(BELENIOS_2048, uuid, c)) for c in private}
    assert len(private) == 4 and ours == public


# ----------------------------------------------------------- (2) ours -> them
def test_belenios_tool_accepts_our_ballots(tmp_path: Path) -> None:
    e = setup_election(tmp_path, weights=[1, 1, 1])
    election = election_of(e.archive.read_bytes())
    key = PublicKey(election.group, election.public_key)
    for credential, vote in zip(e.credentials, VOTES, strict=False):
        e.add_event("Ballot", create_ballot(election, key, credential, vote))
    assert "all checks passed" in e.verify()
    tally_and_decrypt(e)
    assert tool_result(e) == [[1, 1], [1, 1, 1]]
    assert verify_archive(e.archive).ok


def test_belenios_tool_verifies_our_election(our_mj_run: ElectionRun, tmp_path: Path) -> None:
    write_board(tmp_path, our_mj_run)
    e = ToolElection(tmp_path, tool_path(), uuid=our_mj_run.election.uuid)
    assert "all checks passed" in e.verify()
    computed = json.loads(e.run("election", "compute-result").splitlines()[0])
    assert computed["result"] == our_mj_run.result == MJ_RESULT
    assert verify_archive(e.archive).result == MJ_RESULT


def test_belenios_tool_rejects_our_forged_result(our_mj_run: ElectionRun, tmp_path: Path) -> None:
    forged = rewrite(our_mj_run.archive, only("result", 0, _flip_result))
    path = tmp_path / f"{our_mj_run.election.uuid}.bel"
    path.write_bytes(forged)
    e = ToolElection(tmp_path, tool_path(), uuid=our_mj_run.election.uuid)
    with pytest.raises(AssertionError, match="exited"):
        e.verify()
    assert verify_archive(path).failures[0].name == "result"

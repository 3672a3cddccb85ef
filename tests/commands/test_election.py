"""``election verify`` and ``trustee keygen|decrypt``, including with belenios-tool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from imago_fed.commands.election import election, process_mapper, trustee
from imago_fed.domain.voting.crypto import verify_archive
from imago_fed.domain.voting.crypto.board import ElectionRun
from tests.domain.voting.crypto.belenios import (
    EXPECTED,
    VOTES,
    cast,
    setup_election,
)
from tests.domain.voting.crypto.conftest import mj_run, write_board
from tests.domain.voting.crypto.rewrite import only, rewrite


@pytest.fixture(scope="module")
def our_mj_run() -> ElectionRun:
    """A finished election of ours, 2-of-3 threshold (see tests/domain/voting/crypto/)."""
    return mj_run()


def test_verify_prints_the_checks_and_the_result(our_mj_run: ElectionRun, tmp_path: Path) -> None:
    path = write_board(tmp_path, our_mj_run)
    out = CliRunner().invoke(election, ["verify", str(path), "--jobs", "2"])
    assert out.exit_code == 0, out.output
    assert "ok     ballot.*" in out.output
    assert "How good is Ada? Excellent: 2, Good: 2, Passable: 1, Insufficient: 0" in out.output
    assert out.output.rstrip().endswith("VERIFIED: every check passed.")


def test_verify_exits_1_naming_the_failed_check(our_mj_run: ElectionRun, tmp_path: Path) -> None:
    forged = rewrite(our_mj_run.archive, only("result", 0, lambda b: b.replace("[2,", "[3,", 1)))
    path = tmp_path / "forged.bel"
    path.write_bytes(forged)
    out = CliRunner().invoke(election, ["verify", str(path), "--json"])
    assert out.exit_code == 1
    report = json.loads(out.output)
    assert not report["ok"] and [c["name"] for c in report["checks"] if not c["ok"]] == ["result"]


def test_the_process_mapper_gives_the_same_report(our_mj_run: ElectionRun, tmp_path: Path) -> None:
    path = write_board(tmp_path, our_mj_run)
    assert list(process_mapper(2)(len, [[1], [1, 2], [1, 2, 3]])) == [1, 2, 3]
    parallel = verify_archive(path, mapper=process_mapper(2))
    assert parallel.ok and parallel.checks == verify_archive(path).checks


def test_our_trustee_files_work_with_belenios_tool(tmp_path: Path) -> None:
    """Our keygen's public key in a belenios-tool election; our share added by the tool."""
    keys = tmp_path / "keys"
    out = CliRunner().invoke(trustee, ["keygen", "--dir", str(keys)])
    assert out.exit_code == 0, out.output
    (pubkey,) = keys.glob("*.pubkey")
    (privkey,) = keys.glob("*.privkey")
    assert privkey.stat().st_mode & 0o777 == 0o600
    board = tmp_path / "board"
    board.mkdir()
    (board / "ours.pubkey").write_text(pubkey.read_text())  # joins the server's key
    e = setup_election(board)
    for credential, vote in zip(e.credentials, VOTES, strict=True):
        cast(e, credential, vote)
    e.add_event("EndBallots")
    e.add_event("EncryptedTally", e.run("election", "compute-encrypted-tally"))
    (tool_key,) = board.glob("*.privkey")
    order = [p.name for p in sorted(board.glob("*.pubkey"))]  # public_keys.jsons order
    ours_owner = 1 + order.index("ours.pubkey")
    tool_owner = 3 - ours_owner
    e.add_event(
        "PartialDecryption",
        e.run("election", "decrypt", "--privkey", tool_key.name, "--trustee-id", str(tool_owner)),
    )
    ours = CliRunner().invoke(
        trustee,
        ["decrypt", str(e.archive), "--privkey", str(privkey), "--trustee-id", str(ours_owner)],
    )
    assert ours.exit_code == 0, ours.output
    e.add_event("PartialDecryption", ours.output)
    e.add_event("Result", e.run("election", "compute-result"))
    assert "all checks passed" in e.verify()
    report = verify_archive(e.archive)
    assert report.ok and report.result == EXPECTED
    wrong = CliRunner().invoke(
        trustee,
        ["decrypt", str(e.archive), "--privkey", str(privkey), "--trustee-id", str(tool_owner)],
    )
    assert wrong.exit_code != 0 and "not trustee" in wrong.output


def test_a_board_still_open_verifies_as_far_as_it_goes(tmp_path: Path) -> None:
    from imago_fed.domain.voting.crypto import (
        BELENIOS_2048,
        BoardWriter,
        Election,
        PublicKey,
        Question,
        SingleTrustee,
        create_ballot,
        generate_credential,
        generate_single,
        public_credential,
    )

    _, trustee_key = generate_single(BELENIOS_2048)
    e = Election.build(
        uuid="Xpen7board8uuid9x",
        name="Open",
        description="",
        group=BELENIOS_2048,
        public_key=trustee_key.public_key,
        questions=[Question("Q?", ("a", "b"), 1, 1)],
    )
    credential = generate_credential()
    public = BELENIOS_2048.encode(public_credential(BELENIOS_2048, e.uuid, credential))
    board = BoardWriter(e, [SingleTrustee(trustee_key)], [public], timestamp=1)
    board.add_ballot(create_ballot(e, PublicKey(BELENIOS_2048, e.public_key), credential, [[0, 1]]))
    path = tmp_path / f"{e.uuid}.bel"
    path.write_bytes(board.to_bytes())
    out = CliRunner().invoke(election, ["verify", str(path)])
    assert out.exit_code == 0, out.output
    assert "No result on the board yet" in out.output
    assert "Ballots: 1 on the board, 1 counted" in out.output

"""The booth's JavaScript, run in Node, checked by the server's Python verifier.

The same modules the browser loads (``web/static/booth``) make ballots here;
BallotChecker (what the ballot box runs) must accept them, and the opening
an audit reveals must explain the ciphertexts to the Python check.
"""

from __future__ import annotations

import itertools
import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import imago_fed
from imago_fed.domain.voting.crypto import (
    BELENIOS_2048,
    BallotChecker,
    BallotRejected,
    Election,
    PublicCredentials,
    PublicKey,
    Question,
    generate_credential,
    public_credential,
)
from imago_fed.domain.voting.crypto.audit import check_opening
from imago_fed.domain.voting.crypto.election import new_uuid
from imago_fed.domain.voting.crypto.encoding import sha256_b64
from imago_fed.domain.voting.elections import choices_for, questions_for

STATIC = Path(imago_fed.__file__).parent / "web" / "static"
DRIVER = Path(__file__).with_name("booth_node.mjs")
GROUP = BELENIOS_2048


def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not installed")
    return path


def run_js(request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [node(), str(DRIVER), str(STATIC)], input=json.dumps(request),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def election_with(questions: tuple[Question, ...]) -> Election:
    x = GROUP.random_scalar()
    return Election.build(
        uuid=new_uuid(), name="booth", description="cross-check", group=GROUP,
        public_key=GROUP.g_pow(x), questions=questions,
    )  # fmt: skip


def checker_for(election: Election, credentials: list[str]) -> BallotChecker:
    publics = [GROUP.encode(public_credential(GROUP, election.uuid, c)) for c in credentials]
    return BallotChecker(
        election, PublicKey(GROUP, election.public_key), PublicCredentials(GROUP, publics)
    )


def test_a_majority_judgment_ballot_made_in_js_verifies_in_python() -> None:
    options = ["saw", "drill", "plane", "lathe", "vice"]
    election = election_with(questions_for("majority_judgment", options))
    credential = generate_credential()
    grades = [1, 3, 5, 2, 2]
    made = run_js({"election": election.raw, "credential": credential,
                   "method": "majority_judgment", "options": options, "picks": grades,
                   "grades": 5})  # fmt: skip
    assert made["choices"] == choices_for("majority_judgment", options, grades)
    checked = checker_for(election, [credential]).check(made["raw"])
    assert checked.tracker == made["tracker"] == sha256_b64(made["raw"])
    assert len(checked.ciphertexts) == 5

    # a stranger's credential signs a ballot the box refuses
    with pytest.raises(BallotRejected, match=r"ballot\.credential"):
        checker_for(election, [generate_credential()]).check(made["raw"])


def test_blank_and_approval_questions_and_their_proofs() -> None:
    questions = (
        Question("Pick one or leave blank", ("a", "b", "c"), 1, 1, blank=True),
        Question("Approve any", ("x", "y", "z"), 0, 3),
        Question("Two or three", ("p", "q", "r", "s"), 2, 3, blank=True),
    )
    election = election_with(questions)
    credential = generate_credential()
    checker = checker_for(election, [credential])
    for choices in (
        [[1, 0, 0, 0], [0, 0, 0], [0, 1, 1, 0, 1]],
        [[0, 0, 1, 0], [1, 1, 1], [1, 0, 0, 0, 0]],
    ):
        made = run_js({"election": election.raw, "credential": credential, "choices": choices})
        assert checker.check(made["raw"]).tracker == made["tracker"]


def test_schulze_ranks_encode_as_the_server_encodes_them() -> None:
    options = ["a", "b", "c", "d"]
    election = election_with(questions_for("schulze", options))
    credential = generate_credential()
    rng = random.Random(7)
    rankings = [list(r) for r in itertools.product(range(5), repeat=4)]
    for ranks in [[1, 2, 3, 4], [0, 0, 0, 0], [2, 1, 0, 2], *rng.sample(rankings, 5)]:
        made = run_js({"election": election.raw, "credential": credential, "method": "schulze",
                       "options": options, "picks": ranks})  # fmt: skip
        assert made["choices"] == choices_for("schulze", options, ranks), ranks
    checker_for(election, [credential]).check(made["raw"])


def test_an_audit_opens_the_ballot_and_spoils_it() -> None:
    options = ["saw", "drill", "plane"]
    election = election_with(questions_for("plurality", options))
    made = run_js({"election": election.raw, "credential": generate_credential(),
                   "method": "plurality", "options": options, "picks": [2],
                   "audit": True})  # fmt: skip
    assert made["problems"] == []  # the page's own check
    assert made["refused"] == "an audited ballot can never be cast"
    opening = made["opening"]
    assert opening["plaintexts"] == [[0, 0, 1]]
    assert check_opening(election, made["raw"], opening) == []  # the independent check
    lie = {**opening, "plaintexts": [[0, 1, 0]]}
    assert len(check_opening(election, made["raw"], lie)) == 2
    wrong_r = {**opening, "randomness": [[str(int(r) + 1) for r in opening["randomness"][0]]]}
    assert len(check_opening(election, made["raw"], wrong_r)) == 3

"""Elections run once per session: by belenios-tool, and by us."""

from __future__ import annotations

from pathlib import Path

import pytest

from imago_fed.domain.voting.crypto import BELENIOS_2048, Question, run_election
from imago_fed.domain.voting.crypto.board import ElectionRun
from tests.domain.voting.crypto.belenios import (
    VOTES,
    ToolElection,
    cast,
    setup_election,
    tally_and_decrypt,
)


@pytest.fixture(scope="session")
def tool_single(tmp_path_factory: pytest.TempPathFactory) -> ToolElection:
    """belenios-tool: one trustee, weighted credentials, a revote, tallied."""
    e = setup_election(tmp_path_factory.mktemp("belenios-single"))
    cast(e, e.credentials[0], [[0, 1], [1, 0, 0]])  # replaced by the revote below
    for credential, vote in zip(e.credentials, VOTES, strict=True):
        cast(e, credential, vote)
    tally_and_decrypt(e)
    return e


@pytest.fixture(scope="session")
def tool_threshold(tmp_path_factory: pytest.TempPathFactory) -> ToolElection:
    """belenios-tool: server key + 2-of-3 Pedersen, decrypted by trustees 1 and 3."""
    e = setup_election(tmp_path_factory.mktemp("belenios-threshold"), threshold=(2, 3))
    for credential, vote in zip(e.credentials, VOTES, strict=True):
        cast(e, credential, vote)
    tally_and_decrypt(e, pedersen=[1, 3])
    return e


GRADES = ("Excellent", "Good", "Passable", "Insufficient")
CANDIDATES = ("Ada", "Bob", "Cyd")


def grade(g: int) -> list[int]:
    return [1 if i == g else 0 for i in range(len(GRADES))]


# Majority-judgment style: one question per candidate, exactly one grade each.
MJ_QUESTIONS = [Question(f"How good is {c}?", GRADES, 1, 1) for c in CANDIDATES]
MJ_VOTES = [
    [grade(0), grade(1), grade(3)],
    [grade(1), grade(1), grade(2)],
    [grade(0), grade(2), grade(2)],
    [grade(2), grade(0), grade(3)],
    [grade(1), grade(3), grade(0)],
]
MJ_RESULT = [[2, 2, 1, 0], [1, 2, 1, 1], [1, 0, 2, 2]]


@pytest.fixture(scope="session")
def our_mj_run() -> ElectionRun:
    """Our election, 2-of-3 threshold (trustees 2 and 3 decrypt), five voters."""
    return mj_run()


def mj_run() -> ElectionRun:
    """The election behind ``our_mj_run`` (the CLI's tests run it too)."""
    return run_election(
        BELENIOS_2048,
        MJ_QUESTIONS,
        MJ_VOTES,
        uuid="MJtest9abcdefghijk",
        threshold=(2, 3),
        decrypting=[2, 3],
        name="Who should coordinate?",
        timestamp=1767225600,
    )


def write_board(directory: Path, run: ElectionRun) -> Path:
    path = directory / f"{run.election.uuid}.bel"
    path.write_bytes(run.archive)
    return path

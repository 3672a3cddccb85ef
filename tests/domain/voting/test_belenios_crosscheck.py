"""Our counts against the real ``belenios-tool method`` (Debian belenios-tool 2.0).

A member should be able to recount a published result with belenios-tool and
get ours, so the random profiles below are counted by both and compared field
by field. The tool is required, not optional: CI installs it (.ci/run), and a
missing tool fails here rather than quietly skipping the comparison.

Where the two differ by design, ``test_documented_differences`` pins both
sides, so a change on either side shows up:

- MJ even median: belenios takes the better middle grade; our default is the
  lower one (Balinski-Laraki), ``median="upper"`` matches belenios.
- Schulze: belenios counts every ballot as valid when blanks are not allowed
  (an all-zero ballot then adds nothing) and accepts any integer rank; we
  count all-zero ballots and ranks outside 0..nchoices as invalid.
- ``invalid`` ballots: belenios lists them last-first, we in input order.
- MJ tie groups: belenios' order inside a group follows an unstable sort; ours
  is ascending. Groups are compared as sets.
"""

from __future__ import annotations

import functools
import json
import random
import shutil
import subprocess
from typing import Any

import pytest

from imago_fed.commands.tally import as_json
from imago_fed.domain.voting.counting import Weighted, majority_judgment, schulze

CASES = 30


@functools.cache
def _which() -> str | None:
    return shutil.which("belenios-tool")


def belenios_tool() -> str:
    """The tool's path; called in each test body so a missing tool is FAILED, not skipped."""
    path = _which()
    if path is None:
        pytest.fail(
            "belenios-tool is not installed, so our counts cannot be checked against it: "
            "apt-get install -y belenios-tool (.ci/run does this in CI)",
            pytrace=False,
        )
    return path


def belenios(tool: str, method: str, ballots: list[list[int]], args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [tool, "method", method, *args.split()],
        input=json.dumps(ballots),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, f"belenios-tool {method} {args}: {proc.stderr}"
    return json.loads(proc.stdout)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _copies(ballots: list[list[int]], weights: list[int]) -> list[list[int]]:
    return [b for b, w in zip(ballots, weights, strict=True) for _ in range(w)]


def _weights(rng: random.Random, count: int) -> list[int]:
    """Half the cases weighted (liquid delegation): belenios gets the copies."""
    return [rng.randint(1, 3) if rng.random() < 0.5 else 1 for _ in range(count)]


def _rank_ballot(rng: random.Random, n: int) -> list[int]:
    # Few distinct ranks, so ties and unranked options are common.
    return [rng.randint(0, min(n, rng.randint(1, 3))) for _ in range(n)]


@pytest.mark.parametrize("case", range(CASES))
def test_schulze_matches_belenios(case: int) -> None:
    tool = belenios_tool()
    rng = random.Random(f"schulze-{case}")
    n = rng.randint(2, 6)
    blank_allowed = case % 2 == 0
    ballots = [_rank_ballot(rng, n) for _ in range(rng.randint(0, 14))]
    if blank_allowed:
        ballots += [[0] * n] * rng.randint(0, 2)
        rng.shuffle(ballots)
    else:  # belenios would count these as valid, we as invalid (documented)
        ballots = [b for b in ballots if any(b)]
    weights = _weights(rng, len(ballots))

    ours = schulze(
        [Weighted(tuple(b), w) for b, w in zip(ballots, weights, strict=True)],
        nchoices=n,
        blank_allowed=blank_allowed,
    )
    args = f"--nchoices {n} --blank-allowed {_flag(blank_allowed)}"
    theirs = belenios(tool, "schulze", _copies(ballots, weights), args)
    mine = as_json(ours)
    assert ours.turnout.valid_weight == theirs["valid"]
    assert ours.turnout.blank_weight == theirs.get("blank")
    assert mine["invalid"] == []
    for field in ("raw", "beatpaths", "winners"):
        assert mine[field] == theirs[field], (field, ballots, weights)


def _grade_ballot(rng: random.Random, n: int, g: int) -> list[int]:
    roll = rng.random()
    if roll < 0.08:
        return [0] * n  # blank
    if roll < 0.14:
        ballot = [rng.randint(1, g) for _ in range(n)]
        ballot[rng.randrange(n)] = rng.choice([0, g + 1, -1])  # partial or out of range
        return ballot
    return [rng.randint(1, g) for _ in range(n)]


@pytest.mark.parametrize("case", range(CASES))
def test_majority_judgment_upper_median_matches_belenios(case: int) -> None:
    tool = belenios_tool()
    rng = random.Random(f"mj-{case}")
    n, g = rng.randint(1, 5), rng.randint(2, 5)
    blank_allowed = case % 2 == 0
    ballots = [_grade_ballot(rng, n, g) for _ in range(rng.randint(0, 16))]
    weights = _weights(rng, len(ballots))

    ours = majority_judgment(
        [Weighted(tuple(b), w) for b, w in zip(ballots, weights, strict=True)],
        nchoices=n,
        ngrades=g,
        blank_allowed=blank_allowed,
        median="upper",
    )
    args = f"--nchoices {n} --ngrades {g} --blank-allowed {_flag(blank_allowed)}"
    theirs = belenios(tool, "majority-judgment", _copies(ballots, weights), args)
    mine = as_json(ours)
    assert mine["raw"] == theirs["raw"], (ballots, weights)
    assert ours.turnout.valid_weight == theirs["valid"]
    assert ours.turnout.blank_weight == theirs.get("blank")
    invalid = [list(b.ballot) for b in ours.turnout.invalid for _ in range(b.weight)]
    assert sorted(invalid) == sorted(theirs["invalid"])
    assert mine["winners"] == [sorted(group) for group in theirs["winners"]], (ballots, weights)


def test_unweighted_output_is_belenios_output() -> None:
    """Without weights and on belenios' own conventions the JSON is the same, field for field."""
    tool = belenios_tool()
    ballots = [[1, 2, 0], [2, 1, 3], [1, 1, 1], [0, 0, 0], [3, 2, 1]]
    ours = as_json(schulze(ballots, nchoices=3, blank_allowed=True))
    del ours["invalid"]  # ours only: always [] here
    assert json.dumps(ours) == json.dumps(
        belenios(tool, "schulze", ballots, "--blank-allowed true")
    )
    graded = [[1, 2, 3], [2, 2, 1], [0, 0, 0], [3, 1, 2], [4, 1, 1]]
    mj = majority_judgment(graded, nchoices=3, ngrades=3, blank_allowed=True, median="upper")
    assert json.dumps(as_json(mj)) == json.dumps(
        belenios(tool, "majority-judgment", graded, "--ngrades 3 --blank-allowed true")
    )


def test_documented_differences() -> None:
    tool = belenios_tool()
    # MJ even median: the PROTOCOL_NOTES example.
    notes = [[1, 2], [1, 2], [3, 2], [3, 2]]
    args = "--ngrades 3 --blank-allowed false"
    assert belenios(tool, "majority-judgment", notes, args)["winners"] == [[0], [1]]
    assert majority_judgment(notes, nchoices=2, ngrades=3).winners == ((1,), (0,))
    assert majority_judgment(notes, nchoices=2, ngrades=3, median="upper").winners == ((0,), (1,))

    # Schulze without blanks: belenios counts the all-zero ballot and odd ranks as valid.
    odd = [[1, 2], [0, 0], [0, 3], [-1, 1]]
    theirs = belenios(tool, "schulze", odd, "--blank-allowed false")
    assert theirs["valid"] == 4 and theirs["raw"] == [[0, 2], [1, 0]]
    ours = schulze(odd, nchoices=2)
    assert ours.turnout.valid == 1 and ours.raw == ((0, 1), (0, 0))
    assert [b.ballot for b in ours.turnout.invalid] == [(0, 0), (0, 3), (-1, 1)]

    # The order invalid ballots are listed in.
    bad = [[1, 2], [3, 0], [4, 2], [0, 1]]
    theirs = belenios(tool, "majority-judgment", bad, args)
    assert theirs["invalid"] == [[0, 1], [4, 2], [3, 0]]
    assert as_json(majority_judgment(bad, nchoices=2, ngrades=3))["invalid"] == [
        [3, 0],
        [4, 2],
        [0, 1],
    ]

    # Order inside an MJ tie group.
    tied = [[2, 1, 2, 2, 1], [2, 1, 1, 2, 2], [2, 1, 2, 1, 2]]
    args = "--ngrades 2 --blank-allowed false"
    assert belenios(tool, "majority-judgment", tied, args)["winners"] == [[1], [4, 2, 3], [0]]
    ours_mj = majority_judgment(tied, nchoices=5, ngrades=2, median="upper")
    assert ours_mj.winners == ((1,), (2, 3, 4), (0,))

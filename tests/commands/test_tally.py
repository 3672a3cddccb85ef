"""``imago-fed tally`` as a member would run it: ballots on stdin, JSON out.

Run as ``python -m imago_fed.commands.tally`` in a subprocess, so the real
stdin/stdout/exit-status path is what is tested (cli.py registers the same
click command as ``imago-fed tally``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

NOTES_EXAMPLE = "[[1,2],[1,2],[3,2],[3,2]]"


def tally(stdin: str, args: str, *, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imago_fed.commands.tally", *args.split()],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_majority_judgment_both_medians(tmp_path: Path) -> None:
    upper = tally(
        NOTES_EXAMPLE, "--method majority-judgment --ngrades 3 --median upper", cwd=tmp_path
    )
    assert upper.returncode == 0, upper.stderr
    assert upper.stdout == '{"raw":[[2,0,2],[0,4,0]],"valid":4,"invalid":[],"winners":[[0],[1]]}\n'
    lower = tally(NOTES_EXAMPLE, "--method majority-judgment --ngrades 3", cwd=tmp_path)
    assert json.loads(lower.stdout)["winners"] == [[1], [0]]


def test_belenios_demo_reference_is_reproduced_byte_for_byte(tmp_path: Path) -> None:
    reference = (
        '{"raw":[[30,25,20,15,10],[25,30,20,14,11],[6,24,40,24,6],[10,15,20,25,30]],'
        '"valid":100,"blank":1,"invalid":[[5,0,5,5]],"winners":[[0],[1],[2],[3]]}'
    )
    raw = json.loads(reference)["raw"]
    columns = [[g + 1 for g, n in enumerate(h) for _ in range(n)] for h in raw]
    ballots = [list(row) for row in zip(*columns, strict=True)] + [[0, 0, 0, 0], [5, 0, 5, 5]]
    result = tally(
        json.dumps(ballots),
        "--method majority-judgment --ngrades 5 --blank-allowed --median upper",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == reference


def test_schulze_plurality_and_approval(tmp_path: Path) -> None:
    ranked = "[[1,2,3],[2,1,3],[1,1,0],[0,0,0]]"
    schulze = tally(ranked, "--method schulze --blank-allowed", cwd=tmp_path)
    assert json.loads(schulze.stdout) == {
        "valid": 3,
        "blank": 1,
        "invalid": [],
        "raw": [[0, 1, 3], [1, 0, 3], [0, 0, 0]],
        "beatpaths": [[[0, 0], [0, 0], [3, 0]], [[0, 0], [0, 0], [3, 0]], [[0, 0], [0, 0], [0, 0]]],
        "winners": [[0, 1], [2]],
    }
    marks = "[[1,0,0],[0,1,0],[1,0,0],[1,1,0]]"
    plural = json.loads(tally(marks, "--method plurality", cwd=tmp_path).stdout)
    assert plural == {
        "raw": [2, 1, 0],
        "valid": 3,
        "invalid": [[1, 1, 0]],
        "winners": [[0], [1], [2]],
    }
    approve = json.loads(tally(marks, "--method approval", cwd=tmp_path).stdout)
    assert approve["raw"] == [3, 2, 0] and approve["valid"] == 4


def test_nchoices_given_for_no_ballots(tmp_path: Path) -> None:
    result = tally("[]", "--method schulze --nchoices 2", cwd=tmp_path)
    assert json.loads(result.stdout)["winners"] == [[0, 1]]


@pytest.mark.parametrize(
    ("stdin", "args", "message"),
    [
        ("[[1,2],[1,", "--method schulze", "not valid JSON"),
        ('{"ballots": []}', "--method schulze", "JSON array of ballots"),
        ("[[1,2],[1,true]]", "--method schulze", "ballot 1 is not an array of integers"),
        ("[[1,2],[1.5,2]]", "--method schulze", "ballot 1 is not an array of integers"),
        ("[[1,2],[1,2,3]]", "--method schulze", "ballot 1 has 3 entries, expected 2"),
        ("[[1,2]]", "--method majority-judgment", "--ngrades is required"),
        ("[]", "--method plurality", "pass --nchoices"),
        ("[[1]]", "--method borda", "Invalid value for '--method'"),
    ],
)
def test_malformed_input_exits_2_with_a_clear_message(
    tmp_path: Path, stdin: str, args: str, message: str
) -> None:
    result = tally(stdin, args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr

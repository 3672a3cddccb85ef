"""``imago-fed tally``: recount published ballots, the way belenios-tool does.

    stdin: [[...], [...], ...]   one JSON array of integers per ballot
      │  parse + shape checks (exit 2 with one line on stderr if malformed)
      ▼
    imago_fed.domain.voting.counting.<method>
      │
      ▼
    stdout: one JSON object, compact, belenios-tool's field names and order
        majority-judgment  {raw, valid, blank?, invalid, winners}
        schulze            {valid, blank?, invalid, raw, beatpaths, winners}
        plurality/approval {raw, valid, blank?, invalid, winners}

So ``belenios-tool method majority-judgment --ngrades 5 --blank-allowed true``
and ``imago-fed tally --method majority-judgment --ngrades 5 --blank-allowed
--median upper`` can be fed the same file and their outputs compared. Where
the two differ by design (Schulze ``invalid``, the order ``invalid`` ballots
are listed in, the lower median by default) the domain modules say why.

The command reads no configuration: recounting needs nothing but the ballots.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.voting.counting import (
    CountResult,
    MajorityJudgmentResult,
    SchulzeResult,
    Turnout,
    approval,
    majority_judgment,
    plurality,
    schulze,
)

__all__ = ["as_json", "tally"]

METHODS = ("plurality", "approval", "majority-judgment", "schulze")


class MalformedInput(click.ClickException):
    """Ballots that are not the shape asked for: a usage error, exit status 2."""

    exit_code = 2


def _invalid(turnout: Turnout) -> list[list[int]]:
    return [list(item.ballot) for item in turnout.invalid]


def _counts(turnout: Turnout) -> dict[str, Any]:
    counts: dict[str, Any] = {"valid": turnout.valid}
    if turnout.blank is not None:
        counts["blank"] = turnout.blank
    return counts


def as_json(result: CountResult | MajorityJudgmentResult | SchulzeResult) -> dict[str, Any]:
    """The result under belenios-tool's field names, in its order."""
    winners = [list(group) for group in result.winners]
    if isinstance(result, SchulzeResult):
        return {
            **_counts(result.turnout),
            "invalid": _invalid(result.turnout),
            "raw": [list(row) for row in result.raw],
            "beatpaths": [[list(beat) for beat in row] for row in result.beatpaths],
            "winners": winners,
        }
    raw: list[Any] = (
        [list(row) for row in result.raw]
        if isinstance(result, MajorityJudgmentResult)
        else list(result.counts)
    )
    return {
        "raw": raw,
        **_counts(result.turnout),
        "invalid": _invalid(result.turnout),
        "winners": winners,
    }


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_ballots(text: str) -> list[list[int]]:
    """Parse stdin: a JSON array of arrays of integers, nothing else."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise MalformedInput(f"ballots are not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise MalformedInput("expected a JSON array of ballots, e.g. [[1,2],[2,1]]")
    for index, ballot in enumerate(data):
        if not isinstance(ballot, list) or not all(_is_int(x) for x in ballot):
            raise MalformedInput(f"ballot {index} is not an array of integers: {ballot!r}")
    return data


@click.command()
@click.option("--method", type=click.Choice(METHODS), required=True, help="counting method")
@click.option(
    "--ngrades", type=click.IntRange(min=1), help="number of grades (majority-judgment only)"
)
@click.option(
    "--nchoices",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="number of options; 0 infers it from the first ballot",
)
@click.option("--blank-allowed", is_flag=True, help="count all-zero ballots as blank, not invalid")
@click.option(
    "--median",
    type=click.Choice(["lower", "upper"]),
    default="lower",
    show_default=True,
    help="majority-judgment, even count: worse (lower) or better (upper, belenios) middle grade",
)
def tally(
    method: str, ngrades: int | None, nchoices: int, blank_allowed: bool, median: str
) -> None:
    """Count ballots read as JSON on stdin; print the result as JSON.

    Ballots use belenios-tool's shapes: 0/1 marks per option (plurality:
    exactly one; approval: any), grades 1 (best) .. N per option with 0 for
    none (majority-judgment), ranks 1 (best) with ties and 0 for unranked
    (schulze). All zeros is blank.
    """
    ballots = read_ballots(sys.stdin.read())
    if nchoices == 0:
        if not ballots:
            raise MalformedInput("no ballots to infer the number of options from: pass --nchoices")
        nchoices = len(ballots[0])
    try:
        if method == "majority-judgment":
            if ngrades is None:
                raise MalformedInput("--ngrades is required for majority-judgment")
            result: Any = majority_judgment(
                ballots,
                nchoices=nchoices,
                ngrades=ngrades,
                blank_allowed=blank_allowed,
                median="upper" if median == "upper" else "lower",
            )
        elif method == "schulze":
            result = schulze(ballots, nchoices=nchoices, blank_allowed=blank_allowed)
        elif method == "approval":
            result = approval(ballots, nchoices=nchoices, blank_allowed=blank_allowed)
        else:
            result = plurality(ballots, nchoices=nchoices, blank_allowed=blank_allowed)
    except InvalidInput as exc:
        raise MalformedInput(exc.message) from exc
    click.echo(json.dumps(as_json(result), separators=(",", ":")))


if __name__ == "__main__":  # python -m imago_fed.commands.tally, until cli.py registers it
    tally()

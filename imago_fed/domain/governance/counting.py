"""Counting a multi-option democratic proposal with its method, delegation included.

Each resolved ballot carries the weight of its voter plus everyone whose
vote reached them (see delegation.py); the counting methods take weights.
Ballot shapes, as voters give them:

    plurality          (index,)                one option
    approval           (index, index, ...)     any number of options
    majority_judgment  (grade, ...) per option 1 = best ... MJ_GRADES = worst
    schulze            (rank, ...) per option  1 = first, ties allowed, 0 = unranked

A tie for first place is reported (winner None) and the proposal is not
adopted: a tie is for the members to resolve, not for the software.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from imago_fed.domain.governance.delegation import ResolvedBallot
from imago_fed.domain.voting.counting import (
    CountResult,
    MajorityJudgmentResult,
    SchulzeResult,
    Weighted,
    approval,
    choice,
    majority_judgment,
    plurality,
    schulze,
)

__all__ = ["MJ_GRADES", "count_choices"]

MJ_GRADES = 5  # Excellent, Very good, Good, Fair, Reject


def _detail(result: Any) -> dict[str, Any]:
    return {k: _jsonable(v) for k, v in dataclasses.asdict(result).items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def count_choices(
    method: str, options: Sequence[str], ballots: Sequence[ResolvedBallot]
) -> tuple[int | None, dict[str, Any]]:
    """(winning option index, or None on a tie or no valid ballot; full detail)."""
    n = len(options)
    result: CountResult | MajorityJudgmentResult | SchulzeResult
    if method == "approval":
        weighted = [
            Weighted(tuple(1 if i in set(b.ballot) else 0 for i in range(n)), b.weight)
            for b in ballots
        ]
        result = approval(weighted, nchoices=n, blank_allowed=True)
    elif method == "majority_judgment":
        weighted = [Weighted(tuple(b.ballot), b.weight) for b in ballots]
        result = majority_judgment(weighted, nchoices=n, ngrades=MJ_GRADES, blank_allowed=True)
    elif method == "schulze":
        weighted = [Weighted(tuple(b.ballot), b.weight) for b in ballots]
        result = schulze(weighted, nchoices=n, blank_allowed=True)
    else:
        weighted = [choice(b.ballot[0] if b.ballot else None, nchoices=n, weight=b.weight)
                    for b in ballots]  # fmt: skip
        result = plurality(weighted, nchoices=n, blank_allowed=True)
    detail = _detail(result)
    first = result.winners[0] if result.winners else ()
    winner = first[0] if len(first) == 1 and result.turnout.valid else None
    return winner, detail

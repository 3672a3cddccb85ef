"""Approval: each ballot marks any number of options it can live with.

Same 0/1 shape as plurality, without the "exactly one" rule. A ballot that
approves nothing is blank (it says nothing about the options), so it is
invalid when blanks are not allowed; a ballot that approves everything is a
valid vote, even though it moves no option relative to another.
"""

from __future__ import annotations

from collections.abc import Iterable

from imago_fed.domain.voting.counting.ballots import Ballot, BallotInput, sort_out
from imago_fed.domain.voting.counting.plurality import sum_marks
from imago_fed.domain.voting.counting.results import CountResult, rank_by_count

__all__ = ["approval"]


def _marks_only(ballot: Ballot) -> bool:
    return all(x in (0, 1) for x in ballot) and any(ballot)


def approval(
    ballots: Iterable[BallotInput], *, nchoices: int, blank_allowed: bool = False
) -> CountResult:
    """Count approval ballots: the weight approving each option, ranked."""
    valid, turnout = sort_out(
        ballots, nchoices=nchoices, blank_allowed=blank_allowed, is_valid=_marks_only
    )
    counts = sum_marks(valid, nchoices)
    return CountResult("approval", turnout, counts, rank_by_count(counts))

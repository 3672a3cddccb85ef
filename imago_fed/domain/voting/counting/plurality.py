"""Single choice (plurality): each ballot marks exactly one option.

The ballot is belenios' homomorphic shape, one 0/1 entry per option, so the
same ballots can be summed under encryption later. Exactly one 1 is a vote,
all zeros is blank, anything else (two marks, a 2) is invalid. The ranking
keeps equal counts tied: a plurality tie is a real outcome the group has to
settle (a run-off, a draw), not something to hide behind option order.
"""

from __future__ import annotations

from collections.abc import Iterable

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.voting.counting.ballots import Ballot, BallotInput, Weighted, sort_out
from imago_fed.domain.voting.counting.results import CountResult, rank_by_count

__all__ = ["choice", "plurality", "sum_marks"]


def _one_mark(ballot: Ballot) -> bool:
    return all(x in (0, 1) for x in ballot) and sum(ballot) == 1


def choice(option: int | None, *, nchoices: int, weight: int = 1) -> Weighted:
    """The ballot for "I choose ``option``" (``None``: blank), for callers holding indices."""
    marks = [0] * nchoices
    if option is not None:
        # A negative index would silently mark an option counted from the end.
        if isinstance(option, bool) or not isinstance(option, int) or not 0 <= option < nchoices:
            raise InvalidInput(f"no option {option!r} among {nchoices}", field="ballots")
        marks[option] = 1
    return Weighted(tuple(marks), weight)


def sum_marks(valid: list[Weighted], nchoices: int) -> tuple[int, ...]:
    """The weight behind each option's 1s (plurality and approval alike)."""
    counts = [0] * nchoices
    for item in valid:
        for option, mark in enumerate(item.ballot):
            counts[option] += mark * item.weight
    return tuple(counts)


def plurality(
    ballots: Iterable[BallotInput], *, nchoices: int, blank_allowed: bool = False
) -> CountResult:
    """Count single-choice ballots: the weight behind each option, ranked."""
    valid, turnout = sort_out(
        ballots, nchoices=nchoices, blank_allowed=blank_allowed, is_valid=_one_mark
    )
    counts = sum_marks(valid, nchoices)
    return CountResult("plurality", turnout, counts, rank_by_count(counts))

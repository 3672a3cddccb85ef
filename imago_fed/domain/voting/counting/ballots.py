"""Ballots as the counting methods read them, and the sorting before a count.

Every method takes the shape ``belenios-tool method`` reads: one array of
integers per ballot, one entry per option, so a published set of ballots can be
recounted with either tool. What the integers mean is up to the method
(0/1 marks, grades, ranks); an all-zero ballot is blank everywhere.

    ballots ──> ensure_ballots ──> sort_out ──> (valid ballots, Turnout)
                 shape: ints,       blank: all zeros (invalid if not allowed)
                 length, weight     invalid: the method's own rule

Two kinds of "wrong" are kept apart on purpose. A ballot whose *shape* is
wrong (not integers, wrong length) is not a ballot for this question at all:
the caller made a mistake and gets :class:`InvalidInput`. A well-formed ballot
whose *content* breaks the method's rule (a grade out of range, two marks in a
single-choice vote) is something a voter did: it is counted as invalid and
listed in the result, as belenios does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from imago_fed.domain.errors import InvalidInput

__all__ = [
    "Ballot",
    "BallotInput",
    "Turnout",
    "Weighted",
    "ensure_ballots",
    "is_blank",
    "sort_out",
]

Ballot = tuple[int, ...]
"""One integer per option, in option order."""


@dataclass(frozen=True)
class Weighted:
    """A ballot that counts ``weight`` times (liquid delegation).

    Weights are positive integers so that every tally stays an exact integer
    sum a member can redo; a voter whose weight is zero should not be counted
    at all, which is the delegation layer's decision, not the counter's.
    """

    ballot: Ballot
    weight: int = 1


@dataclass(frozen=True)
class Turnout:
    """How the ballots were sorted before counting.

    ``valid``/``blank`` count ballots; ``*_weight`` add up their weights, which
    is what the tallies sum to. ``blank`` is ``None`` when blank ballots are not
    allowed (they are then invalid), as belenios omits the field.
    """

    valid: int
    valid_weight: int
    blank: int | None
    blank_weight: int | None
    invalid: tuple[Weighted, ...]
    """The rejected ballots, in the order they came, so anyone can see why."""

    @property
    def invalid_count(self) -> int:
        return len(self.invalid)

    @property
    def invalid_weight(self) -> int:
        return sum(b.weight for b in self.invalid)


BallotInput = Sequence[int] | Weighted
"""What the counting functions accept: a bare ballot (weight 1) or a weighted one."""


def _is_int(value: object) -> bool:
    # JSON true/false arrive as bool, a subclass of int: they are not grades.
    return isinstance(value, int) and not isinstance(value, bool)


def ensure_ballots(ballots: Iterable[BallotInput], nchoices: int) -> list[Weighted]:
    """Check the shape of every ballot; raise :class:`InvalidInput` on the first wrong one."""
    if not _is_int(nchoices) or nchoices < 1:
        raise InvalidInput("the number of options must be a positive integer", field="nchoices")
    checked: list[Weighted] = []
    for index, item in enumerate(ballots):
        ballot, weight = (item.ballot, item.weight) if isinstance(item, Weighted) else (item, 1)
        if isinstance(ballot, str | bytes) or not isinstance(ballot, Sequence):
            raise InvalidInput(f"ballot {index} is not an array of integers", field="ballots")
        if not all(_is_int(x) for x in ballot):
            raise InvalidInput(
                f"ballot {index} holds a value that is not an integer", field="ballots"
            )
        if len(ballot) != nchoices:
            raise InvalidInput(
                f"ballot {index} has {len(ballot)} entries, expected {nchoices}", field="ballots"
            )
        if not _is_int(weight) or weight < 1:
            raise InvalidInput(
                f"ballot {index} has weight {weight!r}, expected an integer >= 1", field="weight"
            )
        checked.append(Weighted(tuple(ballot), weight))
    return checked


def is_blank(ballot: Ballot) -> bool:
    return all(x == 0 for x in ballot)


def sort_out(
    ballots: Iterable[BallotInput],
    *,
    nchoices: int,
    blank_allowed: bool,
    is_valid: Callable[[Ballot], bool],
) -> tuple[list[Weighted], Turnout]:
    """Split ballots into valid / blank / invalid, in that order of checks.

    ``is_valid`` is asked first, so a method that accepts an all-zero ballot as
    a vote (none does today) would still count it as one. A blank ballot is
    invalid when blanks are not allowed.
    """
    valid: list[Weighted] = []
    invalid: list[Weighted] = []
    blank = blank_weight = 0
    for item in ensure_ballots(ballots, nchoices):
        if is_valid(item.ballot):
            valid.append(item)
        elif blank_allowed and is_blank(item.ballot):
            blank += 1
            blank_weight += item.weight
        else:
            invalid.append(item)
    turnout = Turnout(
        valid=len(valid),
        valid_weight=sum(b.weight for b in valid),
        blank=blank if blank_allowed else None,
        blank_weight=blank_weight if blank_allowed else None,
        invalid=tuple(invalid),
    )
    return valid, turnout

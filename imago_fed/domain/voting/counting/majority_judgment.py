"""Majority Judgment (Balinski-Laraki): grade every option, rank by median grade.

Ballots grade each option from 1 (best) to ``ngrades`` (worst), as
``belenios-tool method majority-judgment`` reads them. All zeros is blank; a
ballot that leaves some options ungraded (a 0 among grades) or uses a grade out
of range is invalid, because Majority Judgment needs every voter to grade
every option: otherwise options would be judged by different electorates.

An option's *majority grade* is the median of its grades. Options with the
same median are separated by the standard tie-break: remove one median grade
from each and compare the new medians, again and again. Put differently, each
option gets the sequence of medians it yields as its grades are removed one by
one, and options are ranked by comparing those sequences lexicographically.

With an even number of grades there are two middle grades, and conventions
differ (PROTOCOL_NOTES section 9): Balinski-Laraki, votelib and MieuxVoter
take the *worse* one (``median="lower"``, the default here); belenios-tool
takes the *better* one (``median="upper"``). Example, three grades:

    ballots [1,2] [1,2] [3,2] [3,2]   option 0 got {1,1,3,3}, option 1 {2,2,2,2}
    lower:  option 0's median is 3, option 1's is 2 -> option 1 first
    upper:  option 0's median is 1, option 1's is 2 -> option 0 first (belenios)

Weights make the sequences as long as the total weight, so they are never
written out: grades sorted best first are removed from the middle outwards,
alternating sides, so the sequence is (the middle grade when the count is odd,
then) pairs (one side, other side) that change only where a side crosses into
the next grade. That gives at most about 2 x ngrades runs per option however
large the weights, and comparing two options walks those runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import get_args

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.voting.counting.ballots import Ballot, BallotInput, sort_out
from imago_fed.domain.voting.counting.results import (
    MajorityJudgmentResult,
    Median,
    tie_groups,
)

__all__ = ["majority_judgment", "median_sequence"]

Run = tuple[int, int]  # (grade index, how many)
Pairs = list[tuple[int, int, int]]  # (first grade, second grade, how many pairs)


def _runs(histogram: Sequence[int]) -> list[Run]:
    return [(grade, n) for grade, n in enumerate(histogram) if n > 0]


def _slice(runs: list[Run], start: int, stop: int) -> list[Run]:
    """The runs of the sorted grades between positions ``start`` and ``stop``."""
    out: list[Run] = []
    position = 0
    for grade, n in runs:
        lo, hi = max(start, position), min(stop, position + n)
        if lo < hi:
            out.append((grade, hi - lo))
        position += n
    return out


def median_sequence(histogram: Sequence[int], median: Median) -> tuple[int | None, Pairs]:
    """The medians an option yields as its median grades are removed one by one.

    ``histogram[g]`` is the weight of grade index ``g`` (0 = best). Returns the
    middle grade index (``None`` for an even count) and the rest as runs of
    pairs ``(first, second, n)``: ``first, second`` repeated ``n`` times.
    The upper (better) convention takes the better side first in each pair.
    """
    runs = _runs(histogram)
    total = sum(histogram)
    half = total // 2
    middle: int | None = None
    if total % 2:
        middle = _slice(runs, half, half + 1)[0][0]
    better = list(reversed(_slice(runs, 0, half)))  # walked from the middle outwards
    worse = _slice(runs, total - half, total)
    first, second = (better, worse) if median == "upper" else (worse, better)
    pairs: Pairs = []
    i = j = 0
    left_first = first[0][1] if first else 0
    left_second = second[0][1] if second else 0
    while i < len(first) and j < len(second):
        n = min(left_first, left_second)
        pairs.append((first[i][0], second[j][0], n))
        left_first -= n
        left_second -= n
        if left_first == 0:
            i += 1
            left_first = first[i][1] if i < len(first) else 0
        if left_second == 0:
            j += 1
            left_second = second[j][1] if j < len(second) else 0
    return middle, pairs


def _compare(a: tuple[int | None, Pairs], b: tuple[int | None, Pairs]) -> int:
    """Negative when sequence ``a`` is better (lexicographically smaller grades)."""
    (middle_a, pairs_a), (middle_b, pairs_b) = a, b
    if middle_a is not None and middle_b is not None and middle_a != middle_b:
        return middle_a - middle_b
    i = j = 0
    used_a = used_b = 0
    while i < len(pairs_a) and j < len(pairs_b):
        fa, sa, na = pairs_a[i]
        fb, sb, nb = pairs_b[j]
        if fa != fb:
            return fa - fb
        if sa != sb:
            return sa - sb
        step = min(na - used_a, nb - used_b)
        used_a += step
        used_b += step
        if used_a == na:
            i, used_a = i + 1, 0
        if used_b == nb:
            j, used_b = j + 1, 0
    return 0


def _first_median(sequence: tuple[int | None, Pairs]) -> int | None:
    middle, pairs = sequence
    if middle is not None:
        return middle
    return pairs[0][0] if pairs else None


def majority_judgment(
    ballots: Iterable[BallotInput],
    *,
    nchoices: int,
    ngrades: int,
    blank_allowed: bool = False,
    median: Median = "lower",
) -> MajorityJudgmentResult:
    """Count graded ballots (1 = best .. ``ngrades``; 0 = no grade) by Majority Judgment."""
    if median not in get_args(Median):
        raise InvalidInput(f"median must be 'lower' or 'upper', not {median!r}", field="median")
    if not isinstance(ngrades, int) or isinstance(ngrades, bool) or ngrades < 1:
        raise InvalidInput("the number of grades must be a positive integer", field="ngrades")

    def graded(ballot: Ballot) -> bool:
        return all(1 <= grade <= ngrades for grade in ballot)

    valid, turnout = sort_out(
        ballots, nchoices=nchoices, blank_allowed=blank_allowed, is_valid=graded
    )
    raw = [[0] * ngrades for _ in range(nchoices)]
    for item in valid:
        for option, grade in enumerate(item.ballot):
            raw[option][grade - 1] += item.weight

    sequences = [median_sequence(histogram, median) for histogram in raw]
    medians = tuple(_first_median(s) for s in sequences)
    gauges = tuple(
        (sum(h[:m]), sum(h[m + 1 :])) if m is not None else (0, 0)
        for h, m in zip(raw, medians, strict=True)
    )
    winners = tie_groups(range(nchoices), lambda a, b: _compare(sequences[a], sequences[b]))
    return MajorityJudgmentResult(
        turnout=turnout,
        ngrades=ngrades,
        median=median,
        raw=tuple(tuple(h) for h in raw),
        medians=tuple(m + 1 if m is not None else None for m in medians),
        gauges=gauges,
        winners=winners,
    )

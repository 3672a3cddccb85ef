"""What a count returns: everything a member needs to check it by hand.

A result is never just "the winner". Each carries the turnout (how many
ballots were valid, blank, invalid, and the invalid ones themselves), the raw
tallies the ranking was computed from, and the ranking as an ordered list of
*tie groups*, best first, the way ``belenios-tool method`` prints
``winners: [[i, ...], ...]``. A tie is reported as a group of several
options; it is never broken silently (say, by option order), because a group
that sees an arbitrary winner cannot tell it from a wrong one.

Counts are integers throughout: a weighted ballot (liquid delegation) counts
``weight`` times, and weights are whole numbers, so every figure a member
sees can be added up again exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cmp_to_key
from typing import Literal

from imago_fed.domain.voting.counting.ballots import Turnout

__all__ = [
    "Beat",
    "CountResult",
    "MajorityJudgmentResult",
    "Median",
    "Ranking",
    "SchulzeResult",
    "Turnout",
    "rank_by_count",
    "tie_groups",
]

Ranking = tuple[tuple[int, ...], ...]
"""Options in tie groups, best group first; each group in ascending option order."""

Beat = tuple[int, int]
"""Strength of a (path of) pairwise win: (W, L) = (winning, losing) votes; (0, 0) = none."""

Median = Literal["lower", "upper"]
"""Which middle grade an even number of grades takes: the worse ("lower") or the better."""


@dataclass(frozen=True)
class CountResult:
    """Plurality or approval: a weight per option, ranked by it."""

    method: Literal["plurality", "approval"]
    turnout: Turnout
    counts: tuple[int, ...]
    winners: Ranking


@dataclass(frozen=True)
class MajorityJudgmentResult:
    """Majority Judgment: a grade histogram per option, its median, the ranking.

    ``raw[i][g - 1]`` is the weight that gave option ``i`` grade ``g``
    (1 = best). ``medians[i]`` is the option's majority grade under the
    ``median`` convention (``None`` when nothing was graded); ``gauges[i]`` is
    (weight strictly better, weight strictly worse than that grade), the
    majority gauge members can use to see why tied medians were separated.
    """

    turnout: Turnout
    ngrades: int
    median: Median
    raw: tuple[tuple[int, ...], ...]
    medians: tuple[int | None, ...]
    gauges: tuple[tuple[int, int], ...]
    winners: Ranking


@dataclass(frozen=True)
class SchulzeResult:
    """Schulze: the pairwise matrix, the strongest paths, the ranking.

    ``raw[i][j]`` is the weight ranking ``i`` strictly above ``j``;
    ``beatpaths[i][j]`` is the strongest path from ``i`` to ``j`` as (W, L).
    """

    turnout: Turnout
    raw: tuple[tuple[int, ...], ...]
    beatpaths: tuple[tuple[Beat, ...], ...]
    winners: Ranking


def tie_groups(options: Sequence[int], better: Callable[[int, int], int]) -> Ranking:
    """Group ``options`` into tie groups, best first.

    ``better(a, b)`` is negative when ``a`` ranks above ``b``, zero for a tie.
    Sorting is stable and each group is then put in ascending order, so the
    output never depends on the order options were listed in.
    """
    ordered = sorted(options, key=cmp_to_key(better))
    groups: list[list[int]] = []
    for option in ordered:
        if groups and better(groups[-1][0], option) == 0:
            groups[-1].append(option)
        else:
            groups.append([option])
    return tuple(tuple(sorted(group)) for group in groups)


def rank_by_count(counts: Sequence[int]) -> Ranking:
    """Rank options by a count each, highest first, equal counts tied.

    The server calls this directly when it already holds the counts (a
    homomorphic tally gives sums per option, not ballots).
    """
    return tie_groups(range(len(counts)), lambda a, b: counts[b] - counts[a])

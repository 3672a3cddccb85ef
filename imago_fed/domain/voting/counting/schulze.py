"""Schulze (beatpath): rank options from pairwise comparisons of rankings.

Ballots rank options as ``belenios-tool method schulze`` reads them: 1 is
best, equal numbers are ties, 0 is "not ranked" (below every ranked option).
All zeros is blank. Ranks must lie in 0..nchoices: belenios-tool accepts any
integer (a negative rank beats rank 1), but a server should not count a ballot
it could not have offered, so those are invalid here.

    ballots ──> raw d[i][j]: weight ranking i strictly above j
            ──> links: i->j with strength (W, L) = (d[i][j], d[j][i]) where W > L
            ──> beatpaths p[i][j]: strongest path, a path as strong as its
                weakest link (Floyd-Warshall with max/min)
            ──> winners: options no remaining option beats (p[j][i] > p[i][j]),
                removed, repeat: an ordered list of tie groups

Strengths compare as belenios and CIVS (beatpath2) do: more winning votes is
stronger, and on equal winning votes, *fewer* losing votes is stronger. Using
margins or winning votes alone would give other results on some profiles, and
a member recounting with belenios-tool must get ours.

A secret Schulze vote never sees a ranking: its homomorphic tally decrypts
to the pairwise matrix itself (``domain/voting/elections.py``).
:func:`schulze_from_matrix` counts from that matrix with the same code path
as :func:`schulze` takes after building it from the ballots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.voting.counting.ballots import (
    Ballot,
    BallotInput,
    Turnout,
    Weighted,
    sort_out,
)
from imago_fed.domain.voting.counting.results import Beat, Ranking, SchulzeResult

__all__ = ["beat_key", "pairwise", "rank_pairwise", "schulze", "schulze_from_matrix"]

NO_BEAT: Beat = (0, 0)


def beat_key(beat: Beat) -> tuple[int, int]:
    """Sort key for strengths: larger W first, then smaller L."""
    wins, losses = beat
    return wins, -losses


def _stronger(a: Beat, b: Beat) -> bool:
    return beat_key(a) > beat_key(b)


def pairwise(valid: Iterable[Weighted], nchoices: int) -> list[list[int]]:
    """d[i][j]: the weight of ballots that rank ``i`` strictly above ``j``."""
    d = [[0] * nchoices for _ in range(nchoices)]
    unranked = nchoices + 1  # below every rank a ballot can give
    for item in valid:
        ranks = [r if r else unranked for r in item.ballot]
        for i in range(nchoices):
            for j in range(i + 1, nchoices):
                if ranks[i] < ranks[j]:
                    d[i][j] += item.weight
                elif ranks[j] < ranks[i]:
                    d[j][i] += item.weight
    return d


def rank_pairwise(raw: Sequence[Sequence[int]]) -> tuple[list[list[Beat]], Ranking]:
    """The strongest paths and the ranking they give, from a pairwise matrix."""
    n = len(raw)
    p: list[list[Beat]] = [[NO_BEAT] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if raw[i][j] > raw[j][i]:
                p[i][j] = (raw[i][j], raw[j][i])
    # Every entry, the diagonal included, as belenios does: its beatpaths
    # matrix is part of the published result and must compare equal.
    for k in range(n):
        for i in range(n):
            for j in range(n):
                via = min(p[i][k], p[k][j], key=beat_key)
                if _stronger(via, p[i][j]):
                    p[i][j] = via

    remaining = list(range(n))
    groups: list[tuple[int, ...]] = []
    while remaining:
        unbeaten = tuple(
            i for i in remaining if not any(_stronger(p[j][i], p[i][j]) for j in remaining)
        )
        # Schulze's theorem says the beat relation on paths is transitive, so
        # someone is always unbeaten; the fallback only guards against a loop.
        group = unbeaten or tuple(remaining)
        groups.append(group)
        remaining = [i for i in remaining if i not in group]
    return p, tuple(groups)


def _in_range(nchoices: int) -> Callable[[Ballot], bool]:
    def ranks(ballot: Ballot) -> bool:
        return any(ballot) and all(0 <= r <= nchoices for r in ballot)

    return ranks


def schulze(
    ballots: Iterable[BallotInput], *, nchoices: int, blank_allowed: bool = False
) -> SchulzeResult:
    """Count ranked ballots (1 = best, 0 = unranked, ties allowed) by Schulze."""
    valid, turnout = sort_out(
        ballots, nchoices=nchoices, blank_allowed=blank_allowed, is_valid=_in_range(nchoices)
    )
    return schulze_from_matrix(pairwise(valid, nchoices), turnout=turnout)


def schulze_from_matrix(raw: Sequence[Sequence[int]], *, turnout: Turnout) -> SchulzeResult:
    """Count from a pairwise matrix already summed (``raw[i][j]``: weight ranking
    ``i`` strictly above ``j``), e.g. a decrypted homomorphic tally.

    The matrix must be square with non-negative integers and a zero diagonal;
    ``turnout`` is reported as given (a tally cannot tell blank ballots apart).
    """
    n = len(raw)
    if n < 1 or any(len(row) != n for row in raw):
        raise InvalidInput("the pairwise matrix must be square and non-empty", field="raw")
    if any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for row in raw for x in row):
        raise InvalidInput("pairwise counts must be integers >= 0", field="raw")
    if any(raw[i][i] for i in range(n)):
        raise InvalidInput("an option is never preferred to itself: the diagonal is 0", field="raw")
    beatpaths, winners = rank_pairwise(raw)
    return SchulzeResult(
        turnout=turnout,
        raw=tuple(tuple(row) for row in raw),
        beatpaths=tuple(tuple(row) for row in beatpaths),
        winners=winners,
    )

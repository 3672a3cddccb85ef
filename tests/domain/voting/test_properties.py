"""Properties every count must keep, whatever the ballots (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from imago_fed.domain.voting.counting import (
    Weighted,
    approval,
    majority_judgment,
    plurality,
    schulze,
)
from imago_fed.domain.voting.counting.majority_judgment import median_sequence

FAST = settings(max_examples=60, deadline=None)


@st.composite
def profiles(draw: st.DrawFn, low: int, high: int, *, high_is_n: bool = False):
    """(nchoices, ballots) with entries in [low, high] (or [low, nchoices])."""
    n = draw(st.integers(1, 5))
    top = n if high_is_n else high
    ballot = st.lists(st.integers(low, top), min_size=n, max_size=n)
    return n, draw(st.lists(ballot, max_size=12))


weights = st.integers(1, 4)


def _weighted(ballots: list[list[int]], ws: list[int]) -> list[Weighted]:
    return [Weighted(tuple(b), w) for b, w in zip(ballots, ws, strict=False)]


def _copies(ballots: list[list[int]], ws: list[int]) -> list[list[int]]:
    return [b for b, w in zip(ballots, ws, strict=False) for _ in range(w)]


def _comparable(result):
    """The parts of a result that must not depend on ballot order or weights."""
    t = result.turnout
    invalid = sorted(b.ballot for b in t.invalid for _ in range(b.weight))
    tallies = result.counts if hasattr(result, "counts") else result.raw
    return t.valid_weight, t.blank_weight, invalid, tallies, result.winners


COUNTERS = {
    "plurality": lambda bs, n: plurality(bs, nchoices=n, blank_allowed=True),
    "approval": lambda bs, n: approval(bs, nchoices=n, blank_allowed=True),
    "mj-lower": lambda bs, n: majority_judgment(bs, nchoices=n, ngrades=3, blank_allowed=True),
    "mj-upper": lambda bs, n: majority_judgment(
        bs, nchoices=n, ngrades=3, blank_allowed=True, median="upper"
    ),
    "schulze": lambda bs, n: schulze(bs, nchoices=n, blank_allowed=True),
}


# Entries each method mostly reads as votes, with some invalid and blank ones.
RANGES = {
    "plurality": (0, 1),
    "approval": (0, 1),
    "mj-lower": (0, 3),
    "mj-upper": (0, 3),
    "schulze": (0, 4),
}
method_profiles = st.sampled_from(sorted(COUNTERS)).flatmap(
    lambda m: st.tuples(st.just(m), profiles(*RANGES[m]))
)


@FAST
@given(method_profiles, st.randoms(use_true_random=False))
def test_permuting_ballots_changes_nothing(method_profile, rnd) -> None:
    method, (n, ballots) = method_profile
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    count = COUNTERS[method]
    first, second = count(ballots, n), count(shuffled, n)
    assert _comparable(first) == _comparable(second)
    assert first.turnout.valid == second.turnout.valid


@FAST
@given(method_profiles, st.lists(weights, max_size=12))
def test_a_weight_counts_like_that_many_copies(method_profile, ws: list[int]) -> None:
    method, (n, ballots) = method_profile
    ws = (ws + [1] * len(ballots))[: len(ballots)]
    count = COUNTERS[method]
    assert _comparable(count(_weighted(ballots, ws), n)) == _comparable(
        count(_copies(ballots, ws), n)
    )


@FAST
@given(profiles(0, 1), weights)
def test_plurality_total_is_valid_ballots_times_weight(profile, weight: int) -> None:
    n, ballots = profile
    result = plurality([Weighted(tuple(b), weight) for b in ballots], nchoices=n)
    assert sum(result.counts) == result.turnout.valid * weight == result.turnout.valid_weight
    assert result.turnout.valid + result.turnout.invalid_count == len(ballots)


@FAST
@given(st.sampled_from(sorted(COUNTERS)), profiles(-1, 4))
def test_winners_partition_the_options(method: str, profile) -> None:
    n, ballots = profile
    result = COUNTERS[method](ballots, n)
    flat = [option for group in result.winners for option in group]
    assert sorted(flat) == list(range(n))
    assert all(list(group) == sorted(group) for group in result.winners)
    t = result.turnout
    assert t.valid + (t.blank or 0) + t.invalid_count == len(ballots)


@FAST
@given(profiles(0, 0, high_is_n=True), st.data())
def test_a_condorcet_winner_always_wins_schulze(profile, data: st.DataObject) -> None:
    n, ballots = profile
    winner = data.draw(st.integers(0, n - 1))
    # Enough ballots putting `winner` alone on top to beat everyone pairwise.
    push = [2] * n
    push[winner] = 1
    ballots = ballots + [push] * (len(ballots) + 1)
    result = schulze(ballots, nchoices=n)
    assert all(result.raw[winner][j] > result.raw[j][winner] for j in range(n) if j != winner)
    assert result.winners[0] == (winner,)


def _naive_medians(grades: list[int], median: str) -> list[int]:
    """Literally remove the median grade one at a time (belenios' own loop)."""
    grades = sorted(grades)
    out = []
    while grades:
        k = len(grades)
        index = (k + 1) // 2 - 1 if median == "upper" else k // 2
        out.append(grades.pop(index))
    return out


def _expand(sequence) -> list[int]:
    middle, pairs = sequence
    out = [] if middle is None else [middle]
    for first, second, n in pairs:
        out += [first, second] * n
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=6), st.sampled_from(["lower", "upper"]))
def test_run_length_median_sequence_matches_the_literal_definition(hist, median) -> None:
    grades = [g for g, n in enumerate(hist) for _ in range(n)]
    assert _expand(median_sequence(hist, median)) == _naive_medians(grades, median)


@FAST
@given(profiles(1, 3), st.sampled_from(["lower", "upper"]))
def test_mj_ranking_follows_the_literal_median_sequences(profile, median) -> None:
    n, ballots = profile
    result = majority_judgment(ballots, nchoices=n, ngrades=3, median=median)
    keys = [_naive_medians([b[i] for b in ballots], median) for i in range(n)]
    for better, worse in zip(result.winners, result.winners[1:], strict=False):
        assert all(keys[a] < keys[b] for a in better for b in worse)
    for group in result.winners:
        assert len({tuple(keys[i]) for i in group}) == 1

"""Hand-checked counts: every expected figure below was worked out on paper."""

from __future__ import annotations

import pytest

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.voting.counting import (
    Weighted,
    approval,
    choice,
    majority_judgment,
    plurality,
    rank_by_count,
    rank_pairwise,
    schulze,
)

# ------------------------------------------------------------- plurality


def test_plurality_counts_ranks_and_lists_invalid_ballots() -> None:
    ballots = [[1, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 0], [0, 0, 2], [0, 0, 0]]
    result = plurality(ballots, nchoices=3, blank_allowed=True)
    assert result.counts == (2, 1, 0)
    assert result.winners == ((0,), (1,), (2,))
    assert (result.turnout.valid, result.turnout.blank) == (3, 1)
    assert [b.ballot for b in result.turnout.invalid] == [(1, 1, 0), (0, 0, 2)]


def test_plurality_blank_is_invalid_unless_allowed() -> None:
    result = plurality([[0, 0], [0, 1]], nchoices=2)
    assert result.turnout.blank is None
    assert result.turnout.invalid_count == 1
    assert result.counts == (0, 1)


def test_plurality_tie_is_reported_as_one_group() -> None:
    result = plurality([[1, 0, 0], [0, 1, 0], [0, 0, 0]], nchoices=3, blank_allowed=True)
    assert result.winners == ((0, 1), (2,))


def test_plurality_weights_count_that_many_times() -> None:
    result = plurality(
        [choice(0, nchoices=3, weight=5), choice(1, nchoices=3), choice(1, nchoices=3, weight=2)],
        nchoices=3,
    )
    assert result.counts == (5, 3, 0)
    assert (result.turnout.valid, result.turnout.valid_weight) == (3, 8)
    assert result.winners == ((0,), (1,), (2,))


@pytest.mark.parametrize("option", [-1, 3, True, "0"])
def test_choice_refuses_an_option_that_does_not_exist(option: object) -> None:
    with pytest.raises(InvalidInput):
        choice(option, nchoices=3)  # type: ignore[arg-type]
    assert choice(None, nchoices=2).ballot == (0, 0)


def test_rank_by_count_from_counts_alone() -> None:
    assert rank_by_count([3, 7, 3, 0]) == ((1,), (0, 2), (3,))
    assert rank_by_count([]) == ()


# ------------------------------------------------------------- approval


def test_approval_counts_every_mark() -> None:
    ballots = [[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 0, 0], [2, 0, 0]]
    result = approval(ballots, nchoices=3, blank_allowed=True)
    assert result.counts == (3, 2, 1)
    assert (result.turnout.valid, result.turnout.blank, result.turnout.invalid_count) == (3, 1, 1)
    weighted = approval([Weighted((1, 1, 0), 4), Weighted((0, 1, 1), 1)], nchoices=3)
    assert weighted.counts == (4, 5, 1)
    assert weighted.winners == ((1,), (0,), (2,))


# ---------------------------------------------------- majority judgment

NOTES_EXAMPLE = [[1, 2], [1, 2], [3, 2], [3, 2]]


def test_mj_protocol_notes_example_upper_median_matches_belenios() -> None:
    result = majority_judgment(NOTES_EXAMPLE, nchoices=2, ngrades=3, median="upper")
    assert result.raw == ((2, 0, 2), (0, 4, 0))
    assert result.medians == (1, 2)
    assert result.winners == ((0,), (1,))


def test_mj_protocol_notes_example_lower_median_elects_candidate_1() -> None:
    result = majority_judgment(NOTES_EXAMPLE, nchoices=2, ngrades=3)
    assert result.median == "lower"
    assert result.medians == (3, 2)
    assert result.gauges == ((2, 0), (0, 0))
    assert result.winners == ((1,), (0,))


def test_mj_tie_break_removes_medians_one_at_a_time() -> None:
    # option 0: {1,2,2,3}, option 1: {2,2,2,2}; both medians are 2 either way.
    ballots = [[1, 2], [2, 2], [2, 2], [3, 2]]
    # lower: option 0 yields 2,2,3,1 and option 1 2,2,2,2 -> 3 > 2 at step 3.
    lower = majority_judgment(ballots, nchoices=2, ngrades=3)
    assert lower.medians == (2, 2)
    assert lower.winners == ((1,), (0,))
    # upper: option 0 yields 2,2,1,3 -> 1 < 2 at step 3.
    upper = majority_judgment(ballots, nchoices=2, ngrades=3, median="upper")
    assert upper.winners == ((0,), (1,))


def test_mj_identical_histograms_tie() -> None:
    result = majority_judgment([[1, 2, 3], [2, 1, 3]], nchoices=3, ngrades=3)
    assert result.winners == ((0, 1), (2,))


def test_mj_blank_partial_and_out_of_range_ballots() -> None:
    ballots = [[1, 2], [0, 0], [3, 0], [4, 2], [1, 2]]
    allowed = majority_judgment(ballots, nchoices=2, ngrades=3, blank_allowed=True)
    assert (allowed.turnout.valid, allowed.turnout.blank) == (2, 1)
    assert [b.ballot for b in allowed.turnout.invalid] == [(3, 0), (4, 2)]
    refused = majority_judgment(ballots, nchoices=2, ngrades=3)
    assert refused.turnout.blank is None
    assert [b.ballot for b in refused.turnout.invalid] == [(0, 0), (3, 0), (4, 2)]
    assert refused.raw == ((2, 0, 0), (0, 2, 0))


def test_mj_no_valid_ballot_ties_everyone() -> None:
    result = majority_judgment([], nchoices=3, ngrades=4)
    assert result.medians == (None, None, None)
    assert result.winners == ((0, 1, 2),)


def test_mj_weights_equal_copies() -> None:
    weighted = majority_judgment(
        [Weighted((1, 3), 3), Weighted((3, 1), 2)], nchoices=2, ngrades=3, median="upper"
    )
    copied = majority_judgment([[1, 3]] * 3 + [[3, 1]] * 2, nchoices=2, ngrades=3, median="upper")
    assert weighted.raw == copied.raw == ((3, 0, 2), (2, 0, 3))
    assert weighted.winners == copied.winners == ((0,), (1,))
    assert weighted.turnout.valid == 2 and copied.turnout.valid == 5


def ballots_from_histograms(raw: list[list[int]]) -> list[list[int]]:
    """Ballots whose per-option grade counts are ``raw`` (grade k+1 for column k)."""
    columns = [[g + 1 for g, n in enumerate(h) for _ in range(n)] for h in raw]
    return [list(row) for row in zip(*columns, strict=True)]


def test_mj_belenios_demo_reference_vector() -> None:
    # glondu/belenios tests/tool/demo-mj.sh, expected output of
    # `belenios-tool method majority-judgment --ngrades 5 --blank-allowed true`:
    # {"raw":[[30,25,20,15,10],[25,30,20,14,11],[6,24,40,24,6],[10,15,20,25,30]],
    #  "valid":100,"blank":1,"invalid":[[5,0,5,5]],"winners":[[0],[1],[2],[3]]}
    raw = [[30, 25, 20, 15, 10], [25, 30, 20, 14, 11], [6, 24, 40, 24, 6], [10, 15, 20, 25, 30]]
    ballots = [*ballots_from_histograms(raw), [0, 0, 0, 0], [5, 0, 5, 5]]
    for median in ("upper", "lower"):
        result = majority_judgment(
            ballots, nchoices=4, ngrades=5, blank_allowed=True, median=median
        )
        assert result.raw == tuple(tuple(h) for h in raw)
        assert (result.turnout.valid, result.turnout.blank) == (100, 1)
        assert [b.ballot for b in result.turnout.invalid] == [(5, 0, 5, 5)]
        assert result.medians == (2, 2, 3, 4)
        assert result.gauges[:2] == ((30, 45), (25, 45))
        assert result.winners == ((0,), (1,), (2,), (3,))


# ------------------------------------------------------------- schulze

WIKIPEDIA = {"ACBED": 5, "ADECB": 5, "BEDAC": 8, "CABED": 3, "CAEBD": 7, "CBADE": 2,
             "DCEBA": 7, "EBADC": 8}  # fmt: skip


def ranks(order: str, options: str = "ABCDE") -> tuple[int, ...]:
    return tuple(order.index(o) + 1 if o in order else 0 for o in options)


def test_schulze_wikipedia_example_with_weights() -> None:
    # en.wikipedia.org/wiki/Schulze_method, the 45-voter example: E > A > C > B > D.
    result = schulze([Weighted(ranks(o), n) for o, n in WIKIPEDIA.items()], nchoices=5)
    assert result.raw == (
        (0, 20, 26, 30, 22),
        (25, 0, 16, 33, 18),
        (19, 29, 0, 17, 24),
        (15, 12, 28, 0, 14),
        (23, 27, 21, 31, 0),
    )
    winning = [[w for w, _ in row] for row in result.beatpaths]
    strongest = [
        [28, 28, 30, 24], [25, 28, 33, 24], [25, 29, 29, 24], [25, 28, 28, 24], [25, 28, 28, 31],
    ]  # fmt: skip
    assert [[w for j, w in enumerate(row) if j != i] for i, row in enumerate(winning)] == strongest
    assert result.winners == ((4,), (0,), (2,), (1,), (3,))
    assert (result.turnout.valid, result.turnout.valid_weight) == (8, 45)


def test_schulze_losing_votes_break_equal_winning_votes() -> None:
    # Links A->B (6,4), B->C (6,2), C->A (6,3): all W = 6, so winning votes
    # alone tie everyone; the smaller L makes B->C->A (6,3) beat A->B (6,4).
    raw = [[0, 6, 3], [4, 0, 6], [6, 2, 0]]
    beatpaths, winners = rank_pairwise(raw)
    assert beatpaths[1][0] == (6, 3) and beatpaths[0][1] == (6, 4)
    assert beatpaths[2][1] == (6, 4) and beatpaths[1][2] == (6, 2)
    assert winners == ((1,), (2,), (0,))


def test_schulze_cycle_is_a_three_way_tie() -> None:
    result = schulze([[1, 2, 3], [3, 1, 2], [2, 3, 1]], nchoices=3)
    assert result.raw == ((0, 2, 1), (1, 0, 2), (2, 1, 0))
    assert all(beat == (2, 1) for row in result.beatpaths for beat in row)
    assert result.winners == ((0, 1, 2),)


def test_schulze_ties_and_unranked_options() -> None:
    result = schulze([[1, 2, 3], [2, 1, 3], [1, 1, 0], [0, 0, 0]], nchoices=3, blank_allowed=True)
    assert (result.turnout.valid, result.turnout.blank) == (3, 1)
    assert result.raw == ((0, 1, 3), (1, 0, 3), (0, 0, 0))
    assert result.beatpaths[0][2] == (3, 0)
    assert result.winners == ((0, 1), (2,))


def test_schulze_out_of_range_ranks_and_refused_blanks_are_invalid() -> None:
    result = schulze([[1, 2], [0, 3], [-1, 1], [0, 0]], nchoices=2)
    assert result.turnout.valid == 1
    assert [b.ballot for b in result.turnout.invalid] == [(0, 3), (-1, 1), (0, 0)]


# ------------------------------------------------------ malformed input


@pytest.mark.parametrize(
    ("ballots", "field"),
    [
        ([[1, 2, 3]], "ballots"),
        ([[1, True]], "ballots"),
        ([[1, 2.0]], "ballots"),
        (["12"], "ballots"),
        ([Weighted((1, 2), 0)], "weight"),
        ([Weighted((1, 2), -3)], "weight"),
    ],
)
def test_malformed_ballots_are_refused_not_counted(ballots: list, field: str) -> None:
    for count in (plurality, approval, schulze):
        with pytest.raises(InvalidInput) as caught:
            count(ballots, nchoices=2)
        assert caught.value.field == field
    with pytest.raises(InvalidInput):
        majority_judgment(ballots, nchoices=2, ngrades=3)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(InvalidInput):
        plurality([], nchoices=0)
    with pytest.raises(InvalidInput):
        majority_judgment([], nchoices=2, ngrades=0)
    with pytest.raises(InvalidInput):
        majority_judgment([], nchoices=2, ngrades=3, median="middle")  # type: ignore[arg-type]

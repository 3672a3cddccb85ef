"""Counting the ballots of a group decision, with every figure needed to check it.

    ballots (belenios-tool shape: one int array per ballot, optionally Weighted)
       │
       ├─ ballots.sort_out ─> valid / blank / invalid (Turnout)
       │
       ├─ plurality.plurality            counts per option
       ├─ approval.approval              counts per option
       ├─ majority_judgment.majority_judgment
       │                                 grade histograms, medians, gauges
       └─ schulze.schulze                pairwise matrix, beatpaths
          (schulze.schulze_from_matrix   the same from a matrix already summed:
                                         a secret vote's decrypted tally)
       │
       └─> results.*Result: turnout, raw tallies, winners as tie groups

Pure functions: no I/O, no protocol vocabulary. ``imago-fed tally`` reads and
writes the same JSON shapes as ``belenios-tool method`` so a published result
can be recounted with either tool; the conventions where the two may differ
are documented in the method modules.
"""

from imago_fed.domain.voting.counting.approval import approval
from imago_fed.domain.voting.counting.ballots import Ballot, BallotInput, Turnout, Weighted
from imago_fed.domain.voting.counting.majority_judgment import majority_judgment
from imago_fed.domain.voting.counting.plurality import choice, plurality
from imago_fed.domain.voting.counting.results import (
    Beat,
    CountResult,
    MajorityJudgmentResult,
    Median,
    Ranking,
    SchulzeResult,
    rank_by_count,
)
from imago_fed.domain.voting.counting.schulze import (
    rank_pairwise,
    schulze,
    schulze_from_matrix,
)

__all__ = [
    "Ballot",
    "BallotInput",
    "Beat",
    "CountResult",
    "MajorityJudgmentResult",
    "Median",
    "Ranking",
    "SchulzeResult",
    "Turnout",
    "Weighted",
    "approval",
    "choice",
    "majority_judgment",
    "plurality",
    "rank_by_count",
    "rank_pairwise",
    "schulze",
    "schulze_from_matrix",
]

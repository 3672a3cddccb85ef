"""Secret votes on proposals: what the ballot asks, and what the result decides.

A proposal under ``Democracy(secret=True)`` is not counted from the ballots
the governance store holds (there are none): members cast encrypted
Belenios ballots, the trustees decrypt only the homomorphic sum, and the
per-answer totals come back here to be counted by the proposal's method.

    majority_judgment   one question per option, answers = the grades
                        1 (best) .. MJ_GRADES, exactly one per question
    approval            one question, answers = options, 0..n of them
    plurality, yes/no   one question, answers = options, exactly one
    schulze             one question per unordered pair {i, j}, i < j, in
                        the order of ``itertools.combinations``: answers
                        "i preferred to j", "j preferred to i", 0..1 of them
                        (none = tied, or both unranked)

The result never shows a single ballot, only totals per answer. Every
method here is decided by those totals alone (MJ by each option's grade
histogram, approval and plurality by counts), so ballots with the same
totals are rebuilt (:func:`synthetic_ballots`) and counted by the same
functions as an open vote.

Schulze reads only the pairwise matrix d[i][j] (the weight ranking i
strictly above j), and the pairwise encoding makes the decrypted tally that
matrix: pair {i, j}'s totals are d[i][j] and d[j][i]. It is counted by
``schulze_from_matrix``, the same beatpath code as an open vote. A voter
gives ranks per option (1 = first, ties allowed, 0 = unranked, as for an open
vote and ``belenios-tool method schulze``); :func:`choices_for` turns them
into per-pair choices with the open count's own ``pairwise``. The ballot has
n(n-1)/2 questions (45 for 10 options), so a secret Schulze vote takes at
most :data:`MAX_SCHULZE_OPTIONS` options.

What the proofs of a Schulze ballot do NOT prove: they show each cell is 0
or 1 and each pair holds at most one preference, not that the preferences
form a ranking. A voter can submit a cycle (a>b, b>c, c>a) and the box, the
tally and ``belenios-tool election verify`` all accept it; it counts as the
three pairwise preferences it states. A faithful client (``imago-fed
ballot``) never makes one. Proving transitivity needs per-ballot ranking
proofs or a verifiable mixnet that decrypts whole ballots; both are out of
scope.

Secret ballots ignore delegation: a delegate would have to see or cast
another member's secret vote. Each member of the electorate snapshot
(taken when the election is set up) gets one credential and votes
themself.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.governance.counting import MJ_GRADES
from imago_fed.domain.governance.proposals import Outcome, Proposal
from imago_fed.domain.governance.protocols import Democracy
from imago_fed.domain.voting.counting import (
    Turnout,
    Weighted,
    approval,
    choice,
    majority_judgment,
    plurality,
    schulze_from_matrix,
)
from imago_fed.domain.voting.counting.schulze import pairwise
from imago_fed.domain.voting.crypto import Question
from imago_fed.domain.voting.crypto.encoding import sha256_b64

__all__ = [
    "GRADE_NAMES",
    "MAX_SCHULZE_OPTIONS",
    "SECRET_METHODS",
    "BoardEntry",
    "ElectionRecord",
    "TrusteeSlot",
    "board_entries",
    "choices_for",
    "method_of",
    "pairs",
    "pairwise_matrix",
    "questions_for",
    "ranks_from_choices",
    "secret_outcome",
    "synthetic_ballots",
    "tracker_status",
]

SECRET_METHODS = ("majority_judgment", "approval", "plurality", "schulze")
MAX_SCHULZE_OPTIONS = 10  # 45 questions, 90 ciphertexts per ballot
GRADE_NAMES = ("Excellent", "Very good", "Good", "Fair", "Reject")[:MJ_GRADES]


# --------------------------------------------------------------- records
@dataclass(frozen=True)
class TrusteeSlot:
    """Trustee ``position`` (its Belenios owner number): public material only."""

    position: int
    member: str
    public_key: str | None = None  # the ID.pubkey file, or X_j of a threshold trustee
    decryption: str | None = None  # its partial decryption, once uploaded
    cert: str | None = None  # threshold ceremony, round 1
    polynomial: str | None = None  # round 3 (signed coefexps, sealed shares)
    verification: str | None = None  # round 5 (X_j with proof, sealed x_j)


@dataclass(frozen=True)
class ElectionRecord:
    """keys (waiting for trustee keys) -> open (ballots) -> tallied -> done."""

    id: int
    proposal_id: int
    uuid: str
    state: str
    electorate: tuple[str, ...]
    credentials: tuple[str, ...]  # public credentials, sorted
    timestamp: int
    trustees: tuple[TrusteeSlot, ...]
    election: str | None = None  # the election JSON, once every key is in
    encrypted_tally: str | None = None
    result: list[list[int]] | None = None
    threshold: int | None = None  # t of a t-of-n ceremony; None: every trustee decrypts
    credential_authority: str = "server"  # or "external": public credentials uploaded

    @property
    def keys_complete(self) -> bool:
        """Every trustee's part of the election key is in (and checked)."""
        if self.threshold is None:
            return all(s.public_key for s in self.trustees)
        return all(s.verification for s in self.trustees)

    @property
    def ceremony_step(self) -> str | None:
        """What the trustees of a t-of-n key owe next: cert, polynomial, verification."""
        if self.threshold is None or self.state != "keys":
            return None
        for step in ("cert", "polynomial", "verification"):
            if any(getattr(s, step) is None for s in self.trustees):
                return step
        return None


# ----------------------------------------------------------------- board
@dataclass(frozen=True)
class BoardEntry:
    """One accepted ballot as a voter looks it up: its tracker, and whether it counts."""

    tracker: str  # unpadded base64 SHA-256 of the ballot, as ``cast`` returned it
    counted: bool  # False: the same credential cast a later ballot, which replaced it


def board_entries(raws: Sequence[str]) -> list[BoardEntry]:
    """The trackers of accepted ballots (raws in the order they were cast).

    Only the last ballot per credential counts (spec 4.15); earlier ones stay
    on the public board, marked replaced. The credential in each ballot is
    public already (the archive carries it), so marking reveals nothing new.
    """
    credentials = [json.loads(raw)["credential"] for raw in raws]
    last = {credential: index for index, credential in enumerate(credentials)}
    return [
        BoardEntry(sha256_b64(raw), last[credential] == index)
        for index, (raw, credential) in enumerate(zip(raws, credentials, strict=True))
    ]


def tracker_status(entries: Sequence[BoardEntry], tracker: str) -> str:
    """``counted``, ``replaced`` (a later ballot of the same credential counts) or ``not_found``.

    A tracker typed into a URL loses its ``+`` to a space; trackers hold none,
    so spaces are read back as ``+``.
    """
    wanted = tracker.strip().replace(" ", "+")
    found = [e for e in entries if e.tracker == wanted]
    if any(e.counted for e in found):
        return "counted"
    return "replaced" if found else "not_found"


# ------------------------------------------------------------- questions
def method_of(proposal: Proposal) -> str:
    """The counting method of a secret vote, or InvalidInput if it is not one."""
    protocol = proposal.protocol
    if not isinstance(protocol, Democracy) or not protocol.secret:
        raise InvalidInput("only a secret democratic vote has an election", field="proposal")
    if proposal.yes_no:
        return "plurality"
    if protocol.method not in SECRET_METHODS:
        raise InvalidInput(
            f"{protocol.method} cannot be tallied under encryption "
            f"(secret votes use {', '.join(SECRET_METHODS)})",
            field="method",
        )
    if protocol.method == "schulze":
        _check_schulze_size(len(proposal.options))
    return protocol.method


def _check_schulze_size(n: int) -> None:
    if not 2 <= n <= MAX_SCHULZE_OPTIONS:
        raise InvalidInput(
            f"a secret Schulze vote takes 2 to {MAX_SCHULZE_OPTIONS} options, not {n}: "
            f"its ballot asks one question per pair of options (n(n-1)/2 = {n * (n - 1) // 2})",
            field="options",
        )


def pairs(n: int) -> list[tuple[int, int]]:
    """The option pairs (i, j), i < j, of a secret Schulze ballot, question order."""
    return list(itertools.combinations(range(n), 2))


def questions_for(method: str, options: Sequence[str]) -> tuple[Question, ...]:
    n = len(options)
    if method == "schulze":
        _check_schulze_size(n)
        return tuple(_pair_question(options[i], options[j]) for i, j in pairs(n))
    if method == "majority_judgment":
        return tuple(Question(option, GRADE_NAMES, 1, 1) for option in options)
    if method == "approval":
        return (Question("Which options do you approve?", tuple(options), 0, n),)
    return (Question("Which option do you choose?", tuple(options), 1, 1),)


def _pair_question(first: str, second: str) -> Question:
    answers = (f"{first} preferred to {second}", f"{second} preferred to {first}")
    return Question(f"{first} / {second}", answers, 0, 1)


def choices_for(method: str, options: Sequence[str], ballot: Sequence[int]) -> list[list[int]]:
    """The 0/1 plaintexts of a ballot given as for an open vote.

    majority_judgment: one grade (1..MJ_GRADES) per option; approval: the
    approved option indexes; plurality: one option index; schulze: one rank
    per option (1 = first, equal ranks tie, 0 = unranked, below every ranked
    option), e.g. ``[1, 3, 2]``; ``[2, 1, 0]`` ranks option 1 first, then 0,
    and leaves 2 out. All zeros is a blank ballot (no preference at all).
    """
    n = len(options)
    if method == "schulze":
        _check_schulze_size(n)
        if len(ballot) != n or any(
            isinstance(r, bool) or not isinstance(r, int) or not 0 <= r <= n for r in ballot
        ):
            raise InvalidInput(
                f"give one rank per option ({n}): 1 = first, equal ranks tie, "
                f"0 = unranked, at most {n}",
                field="ballot",
            )
        d = pairwise([Weighted(tuple(ballot))], n)  # the open count's own reading of ranks
        return [[d[i][j], d[j][i]] for i, j in pairs(n)]
    if method == "majority_judgment":
        if len(ballot) != n or any(not 1 <= g <= MJ_GRADES for g in ballot):
            raise InvalidInput(f"give one grade 1..{MJ_GRADES} per option ({n})", field="ballot")
        return [[1 if g == grade else 0 for grade in range(1, MJ_GRADES + 1)] for g in ballot]
    if any(not 0 <= i < n for i in ballot) or len(set(ballot)) != len(ballot):
        raise InvalidInput("option indexes must be distinct and in range", field="ballot")
    if method == "plurality" and len(ballot) != 1:
        raise InvalidInput("a ballot names exactly one of the options", field="ballot")
    return [[1 if i in set(ballot) else 0 for i in range(n)]]


def ranks_from_choices(n: int, choices: Sequence[Sequence[int]]) -> tuple[int, ...] | None:
    """The ranks a Schulze ballot's per-pair choices come from, or None for a cycle.

    Ranks are normalised (option i gets 1 + the number of options preferred to
    it), so ``choices_for`` of the answer gives ``choices`` back; preferences
    that no ranking gives (a>b>c>a, or a>b with b, c and a, c tied) give None.
    """
    above = [0] * n
    for (i, j), (i_first, j_first) in zip(pairs(n), choices, strict=True):
        if i_first and j_first:
            return None
        above[j] += i_first
        above[i] += j_first
    ranks = tuple(1 + a for a in above)
    d = pairwise([Weighted(ranks)], n)
    same = all([d[i][j], d[j][i]] == list(c) for (i, j), c in zip(pairs(n), choices, strict=True))
    return ranks if same else None


# ---------------------------------------------------------------- result
def pairwise_matrix(n: int, result: Sequence[Sequence[int]]) -> list[list[int]]:
    """d[i][j] from a secret Schulze tally: pair {i, j}'s totals are d[i][j], d[j][i]."""
    if len(result) != n * (n - 1) // 2 or any(len(row) != 2 for row in result):
        raise ValueError(f"a Schulze result has one [i>j, j>i] row per pair of {n} options")
    d = [[0] * n for _ in range(n)]
    for (i, j), (i_first, j_first) in zip(pairs(n), result, strict=True):
        d[i][j], d[j][i] = i_first, j_first
    return d


def synthetic_ballots(method: str, result: Sequence[Sequence[int]], voters: int) -> list[Weighted]:
    """Ballots with exactly the decrypted totals (see the module docstring).

    MJ: ballot k gives option i the k-th smallest grade it received: every
    option keeps its histogram, which is all Majority Judgment reads.
    Schulze has none: it is counted from :func:`pairwise_matrix` directly.
    """
    if method == "schulze":
        raise ValueError("Schulze is counted from the pairwise matrix, not rebuilt ballots")
    if method == "majority_judgment":
        columns = [
            [grade for grade, count in enumerate(row, 1) for _ in range(count)] for row in result
        ]
        if any(len(c) != voters for c in columns):
            raise ValueError("each question must have one grade per counted ballot")
        return [Weighted(tuple(c[k] for c in columns)) for k in range(voters)]
    counts = list(result[0])
    n = len(counts)
    if method == "approval":
        return [Weighted(tuple(1 if k < c else 0 for c in counts)) for k in range(voters)]
    return [choice(i, nchoices=n) for i, c in enumerate(counts) for _ in range(c)]


def secret_outcome(
    proposal: Proposal, *, electorate: int, voters: int, result: Sequence[Sequence[int]]
) -> Outcome:
    """The proposal's verdict from a verified election result (cf. ``decide``)."""
    protocol = proposal.protocol
    assert isinstance(protocol, Democracy)
    method = method_of(proposal)
    tally: dict[str, Any] = {
        "eligible": electorate, "turnout": voters, "quorum": str(protocol.quorum),
        "threshold": str(protocol.threshold), "secret": True,
        "result": [list(row) for row in result],
    }  # fmt: skip
    if electorate == 0 or Fraction(voters, electorate) < protocol.quorum:
        return Outcome("expired", tally)
    if proposal.yes_no:
        yes, no = result[0][0], result[0][1]
        tally["direct"] = dict(zip(proposal.options, result[0], strict=True))
        adopted = yes + no > 0 and Fraction(yes, yes + no) > protocol.threshold
        return Outcome("adopted" if adopted else "rejected", tally)
    n = len(proposal.options)
    if method == "schulze":
        # Blank ballots cannot be told from all-tied ones: every tallied ballot is "valid".
        turnout = Turnout(voters, voters, None, None, ())
        counted: Any = schulze_from_matrix(pairwise_matrix(n, result), turnout=turnout)
        return _verdict(proposal, tally, counted)
    ballots = synthetic_ballots(method, result, voters)
    if method == "majority_judgment":
        counted = majority_judgment(ballots, nchoices=n, ngrades=MJ_GRADES)
    elif method == "approval":
        counted = approval(ballots, nchoices=n, blank_allowed=True)
    else:
        counted = plurality(ballots, nchoices=n, blank_allowed=True)
    return _verdict(proposal, tally, counted)


def _verdict(proposal: Proposal, tally: dict[str, Any], counted: Any) -> Outcome:
    tally["count"] = json.loads(json.dumps(dataclasses.asdict(counted)))  # tuples -> lists
    first: tuple[int, ...] = counted.winners[0] if counted.winners else ()
    if len(first) != 1 or not counted.turnout.valid:
        return Outcome("rejected", {**tally, "reason": "tie"})
    return Outcome("adopted", {**tally, "winner": proposal.options[first[0]]})

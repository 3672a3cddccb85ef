"""Secret votes on proposals: what the ballot asks, and what the result decides.

A proposal under ``Democracy(secret=True)`` is not counted from the ballots
the governance store holds (there are none): members cast encrypted
Belenios ballots, the trustees decrypt only the homomorphic sum, and the
per-answer totals come back here to be counted by the proposal's method.

    majority_judgment   one question per option, answers = the grades
                        1 (best) .. MJ_GRADES, exactly one per question
    approval            one question, answers = options, 0..n of them
    plurality, yes/no   one question, answers = options, exactly one

The result never shows a single ballot, only totals per answer. Every
method here is decided by those totals alone (MJ by each option's grade
histogram, approval and plurality by counts), so ballots with the same
totals are rebuilt (:func:`synthetic_ballots`) and counted by the same
functions as an open vote. Schulze needs whole rankings: it cannot be
tallied homomorphically and is refused.

Secret ballots ignore delegation: a delegate would have to see or cast
another member's secret vote. Each member of the electorate snapshot
(taken when the election is set up) gets one credential and votes
themself.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.governance.counting import MJ_GRADES
from imago_fed.domain.governance.proposals import Outcome, Proposal
from imago_fed.domain.governance.protocols import Democracy
from imago_fed.domain.voting.counting import (
    Weighted,
    approval,
    choice,
    majority_judgment,
    plurality,
)
from imago_fed.domain.voting.crypto import Question

__all__ = [
    "GRADE_NAMES",
    "SECRET_METHODS",
    "ElectionRecord",
    "ElectionStore",
    "TrusteeSlot",
    "choices_for",
    "method_of",
    "questions_for",
    "secret_outcome",
    "synthetic_ballots",
]

SECRET_METHODS = ("majority_judgment", "approval", "plurality")
GRADE_NAMES = ("Excellent", "Very good", "Good", "Fair", "Reject")[:MJ_GRADES]


# ------------------------------------------------------------------ port
@dataclass(frozen=True)
class TrusteeSlot:
    """Trustee ``position`` (its Belenios owner number): public material only."""

    position: int
    member: str
    public_key: str | None = None  # the ID.pubkey file, as uploaded
    decryption: str | None = None  # its partial decryption, once uploaded


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


class ElectionStore(Protocol):
    async def create(
        self, proposal_id: int, uuid: str, electorate: Sequence[str],
        credentials: Sequence[str], trustees: Sequence[str], timestamp: int, now: Any,
    ) -> int: ...  # fmt: skip
    async def get(self, election_id: int) -> ElectionRecord | None: ...
    async def by_proposal(self, proposal_id: int) -> ElectionRecord | None: ...
    async def set_trustee_key(self, election_id: int, position: int, key: str) -> bool: ...
    async def open(self, election_id: int, election: str) -> bool: ...
    async def add_ballot(
        self, election_id: int, credential: str, tracker: str, raw: str, now: Any
    ) -> bool: ...
    async def ballots(self, election_id: int) -> list[str]: ...
    async def close(self, election_id: int) -> bool: ...
    async def set_tally(self, election_id: int, encrypted_tally: str) -> None: ...
    async def add_decryption(
        self, election_id: int, position: int, text: str, now: Any
    ) -> bool: ...
    async def decryption_order(self, election_id: int) -> list[int]: ...
    async def finish(self, election_id: int, result: list[list[int]]) -> bool: ...


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
    return protocol.method


def questions_for(method: str, options: Sequence[str]) -> tuple[Question, ...]:
    n = len(options)
    if method == "majority_judgment":
        return tuple(Question(option, GRADE_NAMES, 1, 1) for option in options)
    if method == "approval":
        return (Question("Which options do you approve?", tuple(options), 0, n),)
    return (Question("Which option do you choose?", tuple(options), 1, 1),)


def choices_for(method: str, options: Sequence[str], ballot: Sequence[int]) -> list[list[int]]:
    """The 0/1 plaintexts of a ballot given as for an open vote.

    majority_judgment: one grade (1..MJ_GRADES) per option; approval: the
    approved option indexes; plurality: one option index.
    """
    n = len(options)
    if method == "majority_judgment":
        if len(ballot) != n or any(not 1 <= g <= MJ_GRADES for g in ballot):
            raise InvalidInput(f"give one grade 1..{MJ_GRADES} per option ({n})", field="ballot")
        return [[1 if g == grade else 0 for grade in range(1, MJ_GRADES + 1)] for g in ballot]
    if any(not 0 <= i < n for i in ballot) or len(set(ballot)) != len(ballot):
        raise InvalidInput("option indexes must be distinct and in range", field="ballot")
    if method == "plurality" and len(ballot) != 1:
        raise InvalidInput("a ballot names exactly one of the options", field="ballot")
    return [[1 if i in set(ballot) else 0 for i in range(n)]]


# ---------------------------------------------------------------- result
def synthetic_ballots(method: str, result: Sequence[Sequence[int]], voters: int) -> list[Weighted]:
    """Ballots with exactly the decrypted totals (see the module docstring).

    MJ: ballot k gives option i the k-th smallest grade it received: every
    option keeps its histogram, which is all Majority Judgment reads.
    """
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
    ballots = synthetic_ballots(method, result, voters)
    n = len(proposal.options)
    if method == "majority_judgment":
        counted: Any = majority_judgment(ballots, nchoices=n, ngrades=MJ_GRADES)
    elif method == "approval":
        counted = approval(ballots, nchoices=n, blank_allowed=True)
    else:
        counted = plurality(ballots, nchoices=n, blank_allowed=True)
    tally["count"] = json.loads(json.dumps(dataclasses.asdict(counted)))  # tuples -> lists
    first = counted.winners[0] if counted.winners else ()
    if len(first) != 1 or not counted.turnout.valid:
        return Outcome("rejected", {**tally, "reason": "tie"})
    return Outcome("adopted", {**tally, "winner": proposal.options[first[0]]})

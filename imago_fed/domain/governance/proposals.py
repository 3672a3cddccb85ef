"""Proposals: their lifecycle, declared as a state graph, and how each is decided.

    draft ──> open ──> closed ──> adopted ──> executed
                │         ├─────> rejected
                │         └─────> expired      (quorum not reached)
                ├──> adopted / rejected         (decided early: k approvals,
                │                                a block, or a do-ocracy act)
                └──> withdrawn
    executed ──> challenged                     (do-ocracy: a member objects in
                                                 the window; a new proposal under
                                                 the fallback protocol follows)

A transition not in the graph is refused, and every transition is recorded
(who, when, from, to) in an append-only log the admin API exports.

The options a member chooses from follow the protocol:

    democracy (yes/no)   for · against · abstain   (abstain counts for quorum)
    democracy (choice)   the proposal's own options, counted by its method
    oligarchy            approve · refuse           (only the deciders count)
    consensus            agree · stand aside · block
    doocracy             challenge
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from fractions import Fraction
from typing import Any

from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.delegation import Delegation, ResolvedBallot, resolve
from imago_fed.domain.governance.protocols import (
    Consensus,
    Democracy,
    Doocracy,
    Oligarchy,
    Protocol,
)
from imago_fed.domain.lifecycle import Lifecycle

__all__ = [
    "PROPOSAL",
    "TRANSITIONS",
    "Outcome",
    "Proposal",
    "Transition",
    "ballot_from_numbers",
    "decide",
    "options_for",
    "transition",
]

#: The proposal lifecycle (drawn above), checked when declared like every other.
PROPOSAL = Lifecycle(
    "proposal",
    initial="draft",
    transitions={
        "draft": ("open", "withdrawn"),
        "open": ("closed", "adopted", "rejected", "withdrawn"),
        "closed": ("adopted", "rejected", "expired"),
        "adopted": ("executed",),
        "executed": ("challenged",),
        "rejected": (),
        "expired": (),
        "withdrawn": (),
        "challenged": (),
    },
    terminal=("rejected", "expired", "withdrawn", "challenged"),
)
TRANSITIONS: Mapping[str, frozenset[str]] = PROPOSAL.transitions
#: Decided: no more votes count (an executed proposal can still be challenged).
FINAL = PROPOSAL.terminal | {"executed"}
YES_NO = ("for", "against", "abstain")


def options_for(protocol: Protocol, choices: Sequence[str] = ()) -> tuple[str, ...]:
    if isinstance(protocol, Democracy):
        return tuple(choices) if choices else YES_NO
    if isinstance(protocol, Oligarchy):
        return ("approve", "refuse")
    if isinstance(protocol, Consensus):
        return ("agree", "stand aside", "block")
    return ("challenge",)


@dataclass(frozen=True)
class Proposal:
    group_id: int
    action: ActionKind
    title: str
    protocol: Protocol
    options: tuple[str, ...]
    author: str
    created_at: datetime
    params: Mapping[str, Any] = field(default_factory=dict)  # what to do if adopted
    topics: tuple[str, ...] = ()
    state: str = "draft"
    opened_at: datetime | None = None
    closes_at: datetime | None = None
    result: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None

    @property
    def yes_no(self) -> bool:
        return self.options == YES_NO


@dataclass(frozen=True)
class Transition:
    proposal_id: int | None
    from_state: str
    to_state: str
    by: str
    at: datetime
    note: str = ""


def transition(
    proposal: Proposal, to: str, *, by: str, at: datetime, note: str = "", **changes: Any
) -> tuple[Proposal, Transition]:
    """Move along the graph; anything else raises Conflict."""
    PROPOSAL.check(proposal.state, to)  # IllegalTransition, a Conflict
    moved = replace(proposal, state=to, **changes)
    return moved, Transition(proposal.id, proposal.state, to, by, at, note)


@dataclass(frozen=True)
class Outcome:
    verdict: str  # pending, adopted, rejected, expired
    tally: dict[str, Any]


def _weights(ballots: Sequence[ResolvedBallot], n_options: int) -> tuple[list[int], list[int]]:
    direct, delegated = [0] * n_options, [0] * n_options
    for ballot in ballots:
        for index in ballot.ballot[:1]:
            if 0 <= index < n_options:
                direct[index] += ballot.direct
                delegated[index] += len(ballot.delegated_from)
    return direct, delegated


def decide(
    proposal: Proposal,
    *,
    eligible: Sequence[str],
    ballots: Mapping[str, tuple[int, ...]],
    delegations: Sequence[Delegation] = (),
    subgroup_results: Mapping[str, tuple[int, ...] | None] | None = None,
    count_choices: Any = None,
    now: datetime,
) -> Outcome:
    """Apply the proposal's protocol to the ballots cast so far.

    ``ballots`` maps each voter to option indexes (yes/no and single-choice:
    one index; other methods: the method's ballot). ``count_choices`` counts
    a multi-option democracy with its method: a callable taking (options,
    weighted ballots) and returning (winner index or None, detail).
    """
    protocol = proposal.protocol
    ended = proposal.closes_at is not None and now >= proposal.closes_at
    n = len(proposal.options)
    if isinstance(protocol, Oligarchy):
        deciders = [d for d in protocol.deciders if d in set(eligible) or d.startswith("group:")]
        approvals = [d for d in deciders if ballots.get(d, ())[:1] == (0,)]
        refusals = [d for d in deciders if ballots.get(d, ())[:1] == (1,)]
        tally: dict[str, Any] = {
            "approve": approvals,
            "refuse": refusals,
            "k": protocol.k,
            "n": len(deciders),
        }
        if len(approvals) >= protocol.k:
            return Outcome("adopted", tally)
        if len(deciders) - len(refusals) < protocol.k:
            return Outcome("rejected", tally)
        return Outcome("expired" if ended else "pending", tally)
    if isinstance(protocol, Consensus):
        members = set(eligible)
        positions = {v: b[:1] for v, b in ballots.items() if v in members}
        tally = {
            "agree": sorted(v for v, b in positions.items() if b == (0,)),
            "stand_aside": sorted(v for v, b in positions.items() if b == (1,)),
            "block": sorted(v for v, b in positions.items() if b == (2,)),
        }
        if tally["block"]:
            return Outcome("rejected", tally)
        return Outcome("adopted" if ended else "pending", tally)
    if isinstance(protocol, Doocracy):
        challengers = sorted(v for v, b in ballots.items() if v in set(eligible) and b[:1] == (0,))
        return Outcome("challenged" if challengers else "adopted", {"challengers": challengers})
    # democracy
    resolved = resolve(
        eligible,
        {v: b for v, b in ballots.items() if v in set(eligible)},
        () if protocol.secret else delegations,
        action=proposal.action.value,
        topics=proposal.topics,
        subgroup_results=subgroup_results,
    )
    turnout = sum(b.weight for b in resolved)
    electorate = len(set(eligible))
    tally = {
        "eligible": electorate,
        "turnout": turnout,
        "quorum": str(protocol.quorum),
        "threshold": str(protocol.threshold),
        "voters": [
            {
                "voter": b.voter,
                "ballot": list(b.ballot),
                "direct": b.direct,
                "delegated_from": list(b.delegated_from),
            }
            for b in resolved
        ],
    }
    if not ended:
        return Outcome("pending", tally)
    if electorate == 0 or Fraction(turnout, electorate) < protocol.quorum:
        return Outcome("expired", tally)
    if proposal.yes_no:
        direct, delegated = _weights(resolved, n)
        tally["direct"] = dict(zip(proposal.options, direct, strict=True))
        tally["delegated"] = dict(zip(proposal.options, delegated, strict=True))
        yes, no = direct[0] + delegated[0], direct[1] + delegated[1]
        adopted = yes + no > 0 and Fraction(yes, yes + no) > protocol.threshold
        return Outcome("adopted" if adopted else "rejected", tally)
    if count_choices is None:
        raise ValueError("a multi-option proposal needs a counting function")
    winner, detail = count_choices(proposal.options, resolved)
    tally["count"] = detail
    if winner is None:
        return Outcome("rejected", {**tally, "reason": "tie"})
    return Outcome("adopted", {**tally, "winner": proposal.options[winner]})


GRADED_METHODS = ("majority_judgment", "schulze")


def ballot_from_numbers(proposal: Proposal, numbers: Sequence[int]) -> tuple[int, ...]:
    """A ballot from numbers as a person types them (a bot command, a reply):
    option numbers counted from 1, or one grade/rank per option for the
    graded methods."""
    method = getattr(proposal.protocol, "method", "")
    if method in GRADED_METHODS and not proposal.yes_no:
        return tuple(numbers)
    return tuple(n - 1 for n in numbers)

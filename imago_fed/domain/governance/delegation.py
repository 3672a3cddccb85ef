"""Liquid delegation: a member's vote follows whom they trust, unless they vote.

Rules (documented for members):
- A delegation names a delegate (a member, or ``group:<slug>``, a sub-group)
  and a scope: ``*`` (everything), an action kind (``moderate``...), or a
  topic (``topic:gardening``). The most specific matching one applies:
  topic, then action kind, then ``*``.
- Delegation is transitive: if my delegate did not vote, their own
  delegation is followed, and so on.
- Voting directly always overrides one's delegation.
- A chain that ends nowhere (a delegate who neither voted nor delegated)
  abstains. A delegation that would close a cycle is refused when created.
- Delegating to a sub-group: the weight goes to the sub-group's winning
  option on the same proposal; if the sub-group has no result, it abstains.
- Secret ballots do not use delegation (it cannot be transparent there).

Weights are integers: 1 per eligible member who voted, directly or through a
chain. Tallies keep direct and delegated weight apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from imago_fed.domain.errors import InvalidInput

__all__ = ["Delegation", "ResolvedBallot", "check_new_delegation", "resolve"]

SUBGROUP = "group:"


@dataclass(frozen=True)
class Delegation:
    delegator: str
    delegate: str
    scope: str = "*"

    def specificity(self, action: str, topics: Iterable[str]) -> int:
        """How well this delegation matches a proposal; 0 = not at all."""
        if self.scope.startswith("topic:") and self.scope[6:] in set(topics):
            return 3
        if self.scope == action:
            return 2
        if self.scope == "*":
            return 1
        return 0


@dataclass(frozen=True)
class ResolvedBallot:
    """A ballot and the weight it carries: the voter's own, and what reached them."""

    voter: str  # a member id, or "group:<slug>" for a sub-group's result
    ballot: tuple[int, ...]
    direct: int  # 1 if the voter voted themselves (0 for a sub-group)
    delegated_from: tuple[str, ...] = field(default=())

    @property
    def weight(self) -> int:
        return self.direct + len(self.delegated_from)


def _applicable(
    delegations: Sequence[Delegation], member: str, action: str, topics: Iterable[str]
) -> Delegation | None:
    topics = tuple(topics)
    best, best_score = None, 0
    for delegation in delegations:
        if delegation.delegator != member:
            continue
        score = delegation.specificity(action, topics)
        if score > best_score:
            best, best_score = delegation, score
    return best


def check_new_delegation(
    existing: Sequence[Delegation], new: Delegation, members: set[str]
) -> None:
    """Refuse self-delegation, unknown delegates, and anything that closes a cycle.

    A cycle is checked over delegations of every scope: a loop in any scope
    could trap a vote, and members should not have to reason per scope.
    """
    if new.delegate == new.delegator:
        raise InvalidInput("one cannot delegate to oneself", field="delegate")
    if not new.delegate.startswith(SUBGROUP) and new.delegate not in members:
        raise InvalidInput("the delegate is not a member of the group", field="delegate")
    if new.delegate.startswith(SUBGROUP):
        return  # sub-groups vote on their own; their members' delegations are theirs
    edges: dict[str, set[str]] = {}
    for d in [*existing, new]:
        if not d.delegate.startswith(SUBGROUP):
            edges.setdefault(d.delegator, set()).add(d.delegate)
    seen, stack = set(), [new.delegate]
    while stack:
        current = stack.pop()
        if current == new.delegator:
            raise InvalidInput("this delegation would create a cycle", field="delegate")
        if current not in seen:
            seen.add(current)
            stack.extend(edges.get(current, ()))


def resolve(
    eligible: Iterable[str],
    direct: Mapping[str, tuple[int, ...]],
    delegations: Sequence[Delegation],
    *,
    action: str,
    topics: Iterable[str] = (),
    subgroup_results: Mapping[str, tuple[int, ...] | None] | None = None,
) -> list[ResolvedBallot]:
    """Weighted ballots: every eligible member counted at most once.

    ``direct``: ballots cast by eligible members themselves (others' are
    ignored). ``subgroup_results``: for ``group:<slug>`` delegates, the
    sub-group's winning ballot on this proposal, or None.
    """
    eligible = list(dict.fromkeys(eligible))
    members = set(eligible)
    topics = tuple(topics)
    subgroup_results = subgroup_results or {}
    carried: dict[str, list[str]] = {}
    for member in eligible:
        if member in direct:
            continue
        target = _follow(member, direct, delegations, members, action, topics, subgroup_results)
        if target is not None:
            carried.setdefault(target, []).append(member)
    resolved = [
        ResolvedBallot(voter, direct[voter], 1, tuple(carried.pop(voter, [])))
        for voter in eligible
        if voter in direct
    ]
    for subgroup, members_of in carried.items():
        ballot = subgroup_results.get(subgroup)
        if ballot is not None:
            resolved.append(ResolvedBallot(subgroup, ballot, 0, tuple(members_of)))
    return resolved


def _follow(
    member: str,
    direct: Mapping[str, tuple[int, ...]],
    delegations: Sequence[Delegation],
    members: set[str],
    action: str,
    topics: tuple[str, ...],
    subgroup_results: Mapping[str, tuple[int, ...] | None],
) -> str | None:
    """Where a non-voter's weight lands: a direct voter, a sub-group, or nowhere."""
    seen = {member}
    current = member
    while True:
        delegation = _applicable(delegations, current, action, topics)
        if delegation is None:
            return None
        target = delegation.delegate
        if target.startswith(SUBGROUP):
            return target if subgroup_results.get(target) is not None else None
        if target in seen or target not in members:
            return None  # a cycle (refused at creation, but be safe) or a non-member
        if target in direct:
            return target
        seen.add(target)
        current = target

"""Ports of the governance area: where proposals live, and what carries out a decision.

Governance (domain/governance/service.py)
  ├─ GovernanceStore   proposals, votes, delegations, members, identity links
  └─ ActionExecutor    an adopted proposal's effect (services/execution.py)
        ├─ GroupBlocks       a block a moderation decision places or lifts
        ├─ FollowRequester   a relation decision: the group follows an actor
        └─ ActionEffect      any other effect a service registers for a kind
                             (relations, propagation)
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.delegation import Delegation
from imago_fed.domain.governance.proposals import Proposal, Transition
from imago_fed.domain.governance.table import ControlTable
from imago_fed.domain.groups import Group

__all__ = [
    "ActionEffect",
    "ActionExecutor",
    "FollowRequester",
    "GovernanceStore",
    "GroupBlocks",
]


class GovernanceStore(Protocol):
    # ``builtins.list``: the ``list`` method below shadows the name inside the class
    # ------------------------------------------------------------- table
    async def table(self, group_id: int) -> ControlTable | None:
        """The group's own control table, or None while it uses the default one."""
        ...

    async def save_table(self, group_id: int, table: ControlTable, now: datetime) -> None: ...

    # --------------------------------------------------------- proposals
    async def add(self, proposal: Proposal) -> Proposal:
        """Store a new proposal; the answer carries its id."""
        ...

    async def save(self, proposal: Proposal, transition: Transition) -> None:
        """Store a state change and its log line together."""
        ...

    async def get(self, proposal_id: int) -> Proposal | None: ...

    async def list(self, group_id: int, state: str | None = None) -> builtins.list[Proposal]:
        """The group's proposals, newest first (at most 200), optionally in one state."""
        ...

    async def open_proposals(self) -> builtins.list[Proposal]:
        """Every open proposal of every group (what the ticker decides)."""
        ...

    async def transitions(self, proposal_id: int) -> builtins.list[dict[str, Any]]:
        """The proposal's state changes, oldest first, as JSON-ready dicts."""
        ...

    # ------------------------------------------------------------- votes
    async def record_vote(
        self, proposal_id: int, voter: str, ballot: tuple[int, ...], network: str,
        *, counted: bool, reason: str, at: datetime,
    ) -> None:  # fmt: skip
        """Log every vote; a counted one also replaces the voter's previous ballot."""
        ...

    async def ballots(self, proposal_id: int) -> dict[str, tuple[int, ...]]:
        """The counted ballot of each voter."""
        ...

    async def vote_log(self, proposal_id: int) -> builtins.list[dict[str, Any]]:
        """Every vote received, counted or not (with why not), oldest first."""
        ...

    # ------------------------------------------------------- delegations
    async def delegations(self, group_id: int) -> builtins.list[Delegation]: ...

    async def set_delegation(
        self, group_id: int, delegation: Delegation, now: datetime
    ) -> None: ...

    async def revoke_delegation(self, group_id: int, delegator: str, scope: str) -> bool:
        """False when there was no such delegation."""
        ...

    # ---------------------------------------------------------- members
    async def members(self, group_id: int, as_of: datetime | None = None) -> builtins.list[str]:
        """Eligible voters (linked accounts once); ``as_of``: those who were members then."""
        ...

    async def canonical(self, voter: str) -> str:
        """The id a voter votes as (a linked Matrix account votes as its fediverse one)."""
        ...

    async def link(self, matrix_user: str, actor_uri: str, now: datetime) -> None:
        """Link two accounts of one person (the administrator vouches for it).

        Raises Conflict when the actor is linked to another Matrix account."""
        ...

    async def claim(self, side: str, matrix_user: str, actor_uri: str, now: datetime) -> bool:
        """Record one side's claim; True when both sides now agree (and are linked)."""
        ...

    # -------------------------------------------------------- sub-groups
    async def subgroups(self, group_id: int) -> dict[str, int]:
        """Groups linked as sub-groups of this one: slug -> id."""
        ...

    async def link_subgroup(self, parent_id: int, child_id: int, now: datetime) -> bool:
        """False when the link existed already."""
        ...


class ActionExecutor(Protocol):
    async def execute(self, proposal: Proposal) -> str:
        """Carry out an adopted proposal's action; return what was done."""
        ...

    async def undo(self, proposal: Proposal) -> str:
        """Reverse an act the members did not uphold; return what was undone."""
        ...

    async def check(self, group_id: int, action: ActionKind, params: Mapping[str, Any]) -> None:
        """Refuse (InvalidInput, NotFound...) params no effect could carry out, before
        a proposal opens: a bad input is an error at once, not a failed effect later."""
        ...


class GroupBlocks(Protocol):
    """The blocks a group places (a moderation decision's effect)."""

    async def add(
        self, group_id: int, kind: str, value: str, *, reason: str, now: datetime
    ) -> None:
        """Block a domain or an actor for the group (again: the reason is updated)."""
        ...

    async def remove(self, group_id: int, kind: str, value: str) -> bool:
        """Lift the group's block; False when there was none."""
        ...


class FollowRequester(Protocol):
    """The group asks to follow an actor (a relation decision's effect)."""

    async def follow(self, group: Group, handle_or_url: str) -> Mapping[str, Any]:
        """Send the Follow; the answer names the followed ``actor``."""
        ...


class ActionEffect(Protocol):
    """An adopted proposal's effect, carried out by the service that owns it.

    It may also define ``async def check(group_id, params) -> None``, asked
    before a proposal of its kind opens (see ``ActionExecutor.check``).
    """

    async def carry_out(self, proposal: Proposal) -> str | None:
        """What was done, or None when the proposal's params are not for this effect.

        Raise a DomainError when the input is wrong (recorded as failed); any
        other exception is a passing failure (retried with backoff), so an
        effect must be safe to run again.
        """
        ...

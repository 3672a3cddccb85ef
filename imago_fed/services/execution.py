"""What an adopted proposal does: the bridge from a decision to its effect.

Each action kind that has an automatic effect is carried out here; the rest
are recorded as decided (the members act on them). Parameters come from the
proposal (``params``), validated when it was created or here.

    moderate       params.block_domain / params.block_actor -> a group block
    amend_table    params.changes -> the group's control table changes
    relate         params.follow (handle or URL) -> the group follows it
    relate         params.relation -> a relation proposed, answered or removed
    propagate      params.propagation -> an announcement sent to the closest groups

The last two belong to their services (services/relations.py,
services/propagation.py), registered here as ``ActionEffect``s.

Every collaborator is a port (``domain/ports/``): ``Governance`` calls this
as its ``ActionExecutor``, and the effects land through ``GroupBlocks``,
``GovernanceStore`` and ``FollowRequester``, so no SQL lives here.
"""

from __future__ import annotations

from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.proposals import Proposal
from imago_fed.domain.governance.table import default_table, parse_changes
from imago_fed.domain.ports.clock import Clock
from imago_fed.domain.ports.governance import (
    ActionEffect,
    FollowRequester,
    GovernanceStore,
    GroupBlocks,
)
from imago_fed.domain.ports.groups import GroupRepository

__all__ = ["Executor"]

_BLOCK_PARAMS = (("block_domain", "domain"), ("block_actor", "actor"))


class Executor:
    """Implements ``ActionExecutor``; following a peer needs ``following`` and ``groups``."""

    def __init__(
        self, store: GovernanceStore, blocks: GroupBlocks, clock: Clock,
        following: FollowRequester | None = None, groups: GroupRepository | None = None,
    ) -> None:  # fmt: skip
        self._store, self._blocks, self._clock = store, blocks, clock
        self._following, self._groups = following, groups
        self._effects: dict[ActionKind, list[ActionEffect]] = {}

    def register(self, kind: ActionKind, effect: ActionEffect) -> None:
        """Let a service carry out adopted proposals of ``kind`` (it picks its own params)."""
        self._effects.setdefault(kind, []).append(effect)

    async def execute(self, proposal: Proposal) -> str:
        params = proposal.params
        if proposal.action == ActionKind.MODERATE:
            for kind, value in _blocked(proposal):
                await self._blocks.add(
                    proposal.group_id, kind, value,
                    reason=f"proposal {proposal.id}: {proposal.title}", now=self._clock.now(),
                )  # fmt: skip
                return f"blocked {kind} {value}"
        if proposal.action == ActionKind.AMEND_TABLE:
            current = await self._store.table(proposal.group_id) or default_table()
            changes = parse_changes(params.get("changes", {}))
            await self._store.save_table(
                proposal.group_id, current.amended(changes), self._clock.now()
            )
            return "control table amended: " + ", ".join(sorted(k.value for k in changes))
        if (
            proposal.action == ActionKind.RELATE
            and self._following is not None
            and self._groups is not None
            and params.get("follow")
        ):
            group = await self._groups.get_by_id(proposal.group_id)
            if group is not None:
                result = await self._following.follow(group, str(params["follow"]))
                return f"follow requested: {result['actor']}"
        for effect in self._effects.get(proposal.action, ()):
            done = await effect.carry_out(proposal)
            if done is not None:
                return done
        return f"decided ({proposal.action.value}: carried out by the members)"

    async def undo(self, proposal: Proposal) -> str:
        """A challenged do-ocracy act the vote did not uphold: take it back where we can."""
        if proposal.action == ActionKind.MODERATE:
            for kind, value in _blocked(proposal):
                if await self._blocks.remove(proposal.group_id, kind, value):
                    return f"unblocked {kind} {value}"
        return f"nothing to undo automatically ({proposal.action.value})"


def _blocked(proposal: Proposal) -> list[tuple[str, str]]:
    """The (kind, value) blocks a moderation proposal names, normalised, in param order."""
    found = []
    for key, kind in _BLOCK_PARAMS:
        value = proposal.params.get(key)
        if isinstance(value, str) and value:
            found.append((kind, value.strip().lower() if kind == "domain" else value.strip()))
    return found

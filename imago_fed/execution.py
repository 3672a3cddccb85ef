"""What an adopted proposal does: the bridge from a decision to its effect.

Each action kind that has an automatic effect is carried out here; the rest
are recorded as decided (the members act on them). Parameters come from the
proposal (``params``), validated when it was created or here.

    moderate       params.block_domain / params.block_actor -> a group block
    amend_table    params.changes -> the group's control table changes
    relate         params.follow (handle or URL) -> the group follows it
"""

from __future__ import annotations

from typing import Any

import asyncpg

from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.proposals import Proposal
from imago_fed.domain.governance.table import default_table, parse_changes
from imago_fed.domain.ports import Clock
from imago_fed.store import moderation
from imago_fed.store.governance import PgGovernanceStore

__all__ = ["Executor"]


class Executor:
    def __init__(
        self, pool: asyncpg.Pool, store: PgGovernanceStore, clock: Clock, following: Any = None,
        groups: Any = None,
    ) -> None:  # fmt: skip
        self._pool, self._store, self._clock = pool, store, clock
        self._following, self._groups = following, groups

    async def execute(self, proposal: Proposal) -> str:
        params = proposal.params
        if proposal.action == ActionKind.MODERATE:
            for key, kind in (("block_domain", "domain"), ("block_actor", "actor")):
                value = params.get(key)
                if isinstance(value, str) and value:
                    value = value.strip().lower() if kind == "domain" else value.strip()
                    await moderation.add_block(
                        self._pool, group_id=proposal.group_id, kind=kind, value=value,
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
        if proposal.action == ActionKind.RELATE and self._following and params.get("follow"):
            group = await self._groups.get_by_id(proposal.group_id)
            result = await self._following.follow(group, str(params["follow"]))
            return f"follow requested: {result['actor']}"
        return f"decided ({proposal.action.value}: carried out by the members)"

    async def undo(self, proposal: Proposal) -> str:
        """A challenged do-ocracy act the vote did not uphold: take it back where we can."""
        params = proposal.params
        if proposal.action == ActionKind.MODERATE:
            for key, kind in (("block_domain", "domain"), ("block_actor", "actor")):
                value = params.get(key)
                if isinstance(value, str) and value:
                    value = value.strip().lower() if kind == "domain" else value.strip()
                    removed = await self._pool.execute(
                        "DELETE FROM blocks WHERE group_id = $1 AND kind = $2 AND value = $3",
                        proposal.group_id, kind, value,
                    )  # fmt: skip
                    if removed.endswith(" 1"):
                        return f"unblocked {kind} {value}"
        return f"nothing to undo automatically ({proposal.action.value})"

"""What an adopted proposal does: the bridge from a decision to its effect.

Built in here (database only, never failing midway):

    moderate       params.block_domain / params.block_actor -> a group block
    amend_table    params.changes -> the group's control table changes
    relate         params.follow (handle or URL) -> the group follows it

Every other effect belongs to a service that registers it for a kind
(``register``), and *every* registered effect of the kind runs:

    admit · remove_member · publish · moderate (content) · delegate
                   services/membership.py, on both networks
    relate         services/relations.py      propagate  services/propagation.py
    spend ...      whatever feature registers it later

Each effect that acts leaves a row in the ledger (``EffectLedger``), shown
with the proposal: ``done`` with what it did; ``failed`` with why, when the
input is wrong (a domain error: retrying cannot help); ``retry`` when the
network failed, tried again by ``retry_due`` (a worker) with capped
exponential backoff until it is done or gives up after EFFECT_MAX_ATTEMPTS.
A kind nothing acted on says so in the record (what it awaits).

Every collaborator is a port (``domain/ports/``): ``Governance`` calls this
as its ``ActionExecutor``, and the effects land through ``GroupBlocks``,
``GovernanceStore``, ``FollowRequester`` and the registered ``ActionEffect``s,
so no SQL lives here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from imago_fed.domain.errors import DomainError
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.proposals import Proposal
from imago_fed.domain.governance.table import default_table, parse_changes
from imago_fed.domain.membership import EFFECT_MAX_ATTEMPTS, effect_retry_delay
from imago_fed.domain.ports.clock import Clock
from imago_fed.domain.ports.governance import (
    ActionEffect,
    FollowRequester,
    GovernanceStore,
    GroupBlocks,
)
from imago_fed.domain.ports.groups import GroupRepository
from imago_fed.domain.ports.membership import EffectLedger

log = logging.getLogger(__name__)
#: What a kind with no effect registered awaits (the record says so, rather
#: than pretending the members carried it out).
AWAITING = {
    ActionKind.SPEND: "the resources feature",
    ActionKind.PUBLISH_OFFER: "the resources feature",
}

__all__ = ["Executor"]

_BLOCK_PARAMS = (("block_domain", "domain"), ("block_actor", "actor"))


class Executor:
    """Implements ``ActionExecutor``; following a peer needs ``following`` and ``groups``."""

    def __init__(
        self, store: GovernanceStore, blocks: GroupBlocks, clock: Clock,
        following: FollowRequester | None = None, groups: GroupRepository | None = None,
        ledger: EffectLedger | None = None,
    ) -> None:  # fmt: skip
        self._store, self._blocks, self._clock = store, blocks, clock
        self._following, self._groups, self._ledger = following, groups, ledger
        self._effects: dict[ActionKind, list[tuple[str, ActionEffect]]] = {}

    def register(self, kind: ActionKind, effect: ActionEffect, name: str | None = None) -> None:
        """Let a service carry out adopted proposals of ``kind`` (it picks its own
        params); ``name`` identifies the effect in the ledger (default: its class)."""
        name = name or type(effect).__name__.lower()
        if any(n == name for n, _ in self._effects.get(kind, ())):
            raise ValueError(f"an effect named {name!r} is already registered for {kind}")
        self._effects.setdefault(kind, []).append((name, effect))

    def effects_of(self, kind: ActionKind) -> list[str]:
        """The names of the effects registered for ``kind``, in running order."""
        return [name for name, _ in self._effects.get(kind, ())]

    async def check(self, group_id: int, action: ActionKind, params: Mapping[str, Any]) -> None:
        """Ask each effect of ``action`` that can check its params (raises if bad)."""
        for _name, effect in self._effects.get(action, ()):
            check = getattr(effect, "check", None)
            if check is not None:
                await check(group_id, action, params)

    async def execute(self, proposal: Proposal) -> str:
        done: list[str] = []
        builtin = await self._builtin(proposal)
        if builtin:
            done.append(builtin)
        for name, effect in self._effects.get(proposal.action, ()):
            outcome = await self._run(proposal, name, effect)
            if outcome is not None:
                done.append(outcome)
        if done:
            return "; ".join(done)
        kind = proposal.action.value
        if not self._effects.get(proposal.action):
            awaited = AWAITING.get(proposal.action, "a feature that acts on it")
            return f"awaits {awaited} (no effect registered for {kind})"
        names = ", ".join(self.effects_of(proposal.action))
        return f"nothing to do: the params name nothing for {kind} ({names})"

    async def _builtin(self, proposal: Proposal) -> str | None:
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
            return "control table amended: " + ", ".join(changes.names())
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
        return None

    async def _run(self, proposal: Proposal, name: str, effect: ActionEffect) -> str | None:
        """One effect, its outcome in the ledger; a failure is recorded, never raised
        (the other effects of the decision still run)."""
        assert proposal.id is not None
        now = self._clock.now()
        try:
            outcome = await effect.carry_out(proposal)
        except DomainError as exc:  # the input is wrong: retrying cannot help
            text = f"{name} failed: {exc.message}"
            await self._note(proposal.id, name, "failed", text, None)
            return text
        except Exception as exc:
            log.warning(
                "effect failed; will retry",
                extra={"proposal": proposal.id, "effect": name, "error": str(exc)},
            )
            if self._ledger is None:
                raise
            retry_at = now + effect_retry_delay(1)
            text = f"{name} will be retried: {type(exc).__name__}: {exc}"
            await self._note(proposal.id, name, "retry", text, retry_at)
            return text
        if outcome is not None:
            await self._note(proposal.id, name, "done", outcome, None)
        return outcome

    async def _note(
        self, proposal_id: int, name: str, state: str, outcome: str, retry_at: object
    ) -> None:
        if self._ledger is not None:
            await self._ledger.record(
                proposal_id, name, state, outcome[:2000],
                next_attempt=retry_at, now=self._clock.now(),  # type: ignore[arg-type]
            )  # fmt: skip

    async def retry_due(self, limit: int = 10) -> int:
        """Try again the effects whose retry is due (a worker's step); how many ran."""
        if self._ledger is None:
            return 0
        due = await self._ledger.claim_due(
            self._clock.now(), limit=limit, lease=timedelta(minutes=5)
        )
        for row in due:
            await self._retry(row.proposal_id, row.name, row.attempts)
        return len(due)

    async def _retry(self, proposal_id: int, name: str, attempts: int) -> None:
        assert self._ledger is not None
        proposal = await self._store.get(proposal_id)
        effect = None
        if proposal is not None:
            effect = dict(self._effects.get(proposal.action, ())).get(name)
        now = self._clock.now()
        if proposal is None or effect is None:
            await self._ledger.record(
                proposal_id, name, "failed", f"{name}: no such effect any more",
                next_attempt=None, now=now,
            )  # fmt: skip
            return
        try:
            outcome = await effect.carry_out(proposal)
        except DomainError as exc:
            await self._ledger.record(
                proposal_id, name, "failed", f"{name} failed: {exc.message}",
                next_attempt=None, now=now,
            )  # fmt: skip
            return
        except Exception as exc:
            attempts += 1
            error = f"{type(exc).__name__}: {exc}"[:1500]
            if attempts >= EFFECT_MAX_ATTEMPTS:
                await self._ledger.record(
                    proposal_id, name, "failed",
                    f"{name} gave up after {attempts} attempts: {error}",
                    next_attempt=None, now=now,
                )  # fmt: skip
            else:
                await self._ledger.record(
                    proposal_id, name, "retry", f"{name} will be retried: {error}",
                    next_attempt=now + effect_retry_delay(attempts), now=now,
                )  # fmt: skip
            return
        await self._ledger.record(
            proposal_id, name, "done", outcome or f"{name}: nothing left to do",
            next_attempt=None, now=now,
        )  # fmt: skip

    async def next_retry_in(self) -> float | None:
        """Seconds until the next retry is due (the worker's ``next_due``)."""
        if self._ledger is None:
            return None
        due = await self._ledger.next_due()
        if due is None:
            return None
        return max(0.0, (due - self._clock.now()).total_seconds())

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

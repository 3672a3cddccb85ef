"""Ports of membership: invitations and rosters, the networks that carry a
decision out, and the ledger of what each decision did.

services/membership.py (invitations, founder, roster, the decisions' effects)
  ├─ MembershipStore   invitations and their uses, the roster, moderators
  └─ MemberNetwork     one per network: matrix/membership.py (invite, ban,
                       announcements room, redaction, power levels) and
                       activitypub/membership.py (Accept/Reject, Notes,
                       Undo of re-shares, refusal replies)
services/execution.py
  └─ EffectLedger      one row per effect of an adopted proposal: done, or
                       retried with backoff by a worker, or failed with why
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from imago_fed.domain.groups import Group
from imago_fed.domain.membership import Invitation, Permissions

__all__ = ["DueEffect", "EffectLedger", "MemberNetwork", "MembershipStore"]


class MembershipStore(Protocol):
    async def add_invitation(self, invitation: Invitation) -> None: ...

    async def invitation(self, code: str) -> Invitation | None: ...

    async def invitations(self, group_id: int) -> list[Invitation]:
        """The group's invitations, newest first (revoked ones included)."""
        ...

    async def revoke_invitation(self, group_id: int, code: str, now: datetime) -> bool:
        """False when the group has no such (unrevoked) invitation."""
        ...

    async def use_invitation(
        self, code: str, member_id: str, outcome: str, now: datetime
    ) -> Invitation | None:
        """Count one use by ``member_id`` if the code is still valid and this person
        has not used it yet, atomically; None when it could not be used."""
        ...

    async def roster(self, group_id: int) -> list[dict[str, Any]]:
        """Members on both networks: id, network, role, since (oldest first)."""
        ...

    async def is_member(self, group_id: int, member_id: str) -> bool: ...

    async def is_moderator(self, group_id: int, member_id: str) -> bool: ...

    async def set_moderator(
        self, group_id: int, member_id: str, present: bool, now: datetime
    ) -> bool:
        """False when nothing changed."""
        ...


class MemberNetwork(Protocol):
    """What one network does when the group decides (each answer says what was done)."""

    name: str  # "matrix" or "fediverse"

    def recognises(self, member_id: str) -> bool:
        """Is this id one of this network's people?"""
        ...

    async def admit(self, group: Group, member_id: str, *, reason: str) -> str: ...

    async def remove(self, group: Group, member_id: str, *, reason: str) -> str:
        """Out of the group on this network (Conflict when not a member there)."""
        ...

    async def publish(self, group: Group, key: str, text: str) -> str:
        """The group says ``text`` as itself; ``key`` makes a second call a no-op."""
        ...

    async def remove_content(self, group: Group, ref: str, *, reason: str) -> str | None:
        """Take down a post (an object id or a Matrix event id); None: not found here."""
        ...

    async def apply_permissions(self, group: Group, permissions: Permissions) -> str | None:
        """Make the network enforce the rights (None: nothing to do on this network)."""
        ...


@dataclass(frozen=True)
class DueEffect:
    id: int
    proposal_id: int
    name: str
    attempts: int


class EffectLedger(Protocol):
    async def record(
        self, proposal_id: int, name: str, state: str, outcome: str, *,
        next_attempt: datetime | None, now: datetime,
    ) -> None:  # fmt: skip
        """Store an effect's first outcome, or its latest (attempts counted)."""
        ...

    async def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> list[DueEffect]:
        """Effects waiting in ``retry`` whose time has come, leased to this worker."""
        ...

    async def of_proposal(self, proposal_id: int) -> list[dict[str, Any]]:
        """What a proposal's effects did: name, state, outcome, attempts, when."""
        ...

    async def next_due(self) -> datetime | None:
        """When the next retry is due (None: nothing waits)."""
        ...

"""In-memory MembershipStore, EffectLedger and a recording MemberNetwork.

What they are for: running the membership use cases and the executor's
effects (retries included) in milliseconds. The network fake records each
call and can be told to fail the next ``n`` calls, as a homeserver that is
down would.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from imago_fed.domain.errors import Conflict
from imago_fed.domain.groups import Group
from imago_fed.domain.membership import EFFECT, Invitation, Permissions, member_network
from imago_fed.domain.ports.membership import DueEffect

__all__ = ["MemoryEffectLedger", "MemoryMembershipStore", "RecordingNetwork"]


@dataclass
class MemoryMembershipStore:
    invites: dict[str, Invitation] = field(default_factory=dict)
    uses: set[tuple[str, str]] = field(default_factory=set)
    members: dict[int, dict[str, datetime]] = field(default_factory=dict)
    moderators: dict[int, set[str]] = field(default_factory=dict)

    def join(self, group_id: int, member_id: str, at: datetime) -> None:
        self.members.setdefault(group_id, {})[member_id] = at

    def leave(self, group_id: int, member_id: str) -> None:
        self.members.get(group_id, {}).pop(member_id, None)

    async def add_invitation(self, invitation: Invitation) -> None:
        self.invites[invitation.code] = invitation

    async def invitation(self, code: str) -> Invitation | None:
        return self.invites.get(code)

    async def invitations(self, group_id: int) -> list[Invitation]:
        return sorted(
            (i for i in self.invites.values() if i.group_id == group_id),
            key=lambda i: i.created_at, reverse=True,
        )  # fmt: skip

    async def revoke_invitation(self, group_id: int, code: str, now: datetime) -> bool:
        found = self.invites.get(code)
        if found is None or found.group_id != group_id or found.revoked_at is not None:
            return False
        self.invites[code] = replace(found, revoked_at=now)
        return True

    async def use_invitation(
        self, code: str, member_id: str, outcome: str, now: datetime
    ) -> Invitation | None:
        found = self.invites.get(code)
        if found is None or (code, member_id) in self.uses or found.refusal(now):
            return None
        self.uses.add((code, member_id))
        self.invites[code] = replace(found, uses=found.uses + 1)
        return self.invites[code]

    async def roster(self, group_id: int) -> list[dict[str, Any]]:
        mods = self.moderators.get(group_id, set())
        return [
            {"id": m, "network": member_network(m), "state": "member", "since": at.isoformat(),
             "role": "moderator" if m in mods else "member"}
            for m, at in sorted(self.members.get(group_id, {}).items(), key=lambda x: x[1])
        ]  # fmt: skip

    async def is_member(self, group_id: int, member_id: str) -> bool:
        return member_id in self.members.get(group_id, {})

    async def is_moderator(self, group_id: int, member_id: str) -> bool:
        return member_id in self.moderators.get(group_id, set())

    async def set_moderator(
        self, group_id: int, member_id: str, present: bool, now: datetime
    ) -> bool:
        mods = self.moderators.setdefault(group_id, set())
        if (member_id in mods) == present:
            return False
        (mods.add if present else mods.discard)(member_id)
        return True


@dataclass
class RecordingNetwork:
    """A MemberNetwork that records calls and changes the store's roster like the
    real one would; ``fail_next`` calls raise OSError (a network down)."""

    name: str
    store: MemoryMembershipStore
    clock: Any
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    fail_next: int = 0
    content: set[str] = field(default_factory=set)  # post refs this network holds
    handles: dict[str, str] = field(default_factory=dict)  # @name@host -> actor id

    async def resolve(self, member_id: str) -> str:
        """The id the network knows (a handle looked up, as WebFinger would)."""
        return self.handles.get(member_id, member_id)

    def recognises(self, member_id: str) -> bool:
        return member_network(member_id) == self.name

    def _maybe_fail(self) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise OSError("network unreachable")

    async def admit(self, group: Group, member_id: str, *, reason: str) -> str:
        self._maybe_fail()
        self.calls.append(("admit", member_id, reason))
        assert group.id is not None
        self.store.join(group.id, member_id, self.clock.now())
        return f"{member_id} in"

    async def remove(self, group: Group, member_id: str, *, reason: str) -> str:
        self._maybe_fail()
        assert group.id is not None
        member_id = await self.resolve(member_id)
        if not await self.store.is_member(group.id, member_id):
            raise Conflict(f"{member_id} is not a member")
        self.calls.append(("remove", member_id, reason))
        self.store.leave(group.id, member_id)
        return f"{member_id} out"

    async def publish(self, group: Group, key: str, text: str) -> str:
        self._maybe_fail()
        if ("publish", key, text) not in self.calls:
            self.calls.append(("publish", key, text))
        return f"said on {self.name}"

    async def remove_content(self, group: Group, ref: str, *, reason: str) -> str | None:
        self._maybe_fail()
        if ref not in self.content:
            return None
        self.content.discard(ref)
        self.calls.append(("remove_content", ref, reason))
        return f"{ref} gone from {self.name}"

    async def apply_permissions(self, group: Group, permissions: Permissions) -> str | None:
        self.calls.append(("permissions", str(permissions.to_dict()), ""))
        return f"{self.name} enforces {permissions.to_dict()}"


@dataclass
class MemoryEffectLedger:
    rows: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)

    async def record(
        self, proposal_id: int, name: str, state: str, outcome: str, *,
        next_attempt: datetime | None, now: datetime,
    ) -> None:  # fmt: skip
        row = self.rows.get((proposal_id, name))
        if row is None:
            EFFECT.check_entry(state)
            self.rows[(proposal_id, name)] = {
                "id": len(self.rows) + 1, "name": name, "state": state, "outcome": outcome,
                "attempts": 1, "next_attempt": next_attempt, "locked_until": None,
            }  # fmt: skip
            return
        EFFECT.check(row["state"], state)
        row.update(state=state, outcome=outcome, next_attempt=next_attempt, locked_until=None,
                   attempts=row["attempts"] + 1)  # fmt: skip

    async def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> list[DueEffect]:
        due = []
        for (proposal_id, name), row in self.rows.items():
            if (
                row["state"] == "retry"
                and row["next_attempt"] <= now
                and (row["locked_until"] is None or row["locked_until"] < now)
            ):
                row["locked_until"] = now + lease
                due.append(DueEffect(row["id"], proposal_id, name, row["attempts"]))
        return due[:limit]

    async def of_proposal(self, proposal_id: int) -> list[dict[str, Any]]:
        return [dict(r) for (p, _), r in self.rows.items() if p == proposal_id]

    async def next_due(self) -> datetime | None:
        due = [r["next_attempt"] for r in self.rows.values() if r["state"] == "retry"]
        return min(due, default=None)

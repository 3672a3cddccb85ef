"""Membership: who is in a group, with which role, how one gets in, who may do what.

A member is someone the group counts, on either network: an accepted
follower in the fediverse, a joined member of the space in Matrix. Each has
a role (``member`` or ``moderator``). The ways in:

    founder      named when the group is created: member and moderator
    invitation   a code (with an expiry and a number of uses) redeemed from
                 Matrix (a bot command), the fediverse (the code in a follow
                 request or a mention) or the group's page; it admits at once
                 when the control table says so, else it opens an ``admit``
                 proposal decided like any other
    admit        an adopted proposal (the person asked: a knock, a follow)

Rights (what the control table's ``permissions`` rule, per right):

    post       post into the group           anyone · members · moderators
    announce   post in the announcements room
    propose    open proposals
    elect      open a secret ballot (an election)

Pure rules: no network, no storage. The adapters enforce them (Matrix power
levels, a refusal reply in the fediverse) and the services ask them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.lifecycle import Lifecycle

__all__ = [
    "DEFAULT_PERMISSIONS",
    "EFFECT",
    "LEVELS",
    "ROLES",
    "Invitation",
    "Permissions",
    "Right",
    "effect_retry_delay",
    "member_network",
]

ROLES = ("member", "moderator")
#: Who may exercise a right, from the widest to the narrowest.
LEVELS = ("anyone", "members", "moderators")


class Right(StrEnum):
    POST = "post"  # post into the group (its general room, its followers)
    ANNOUNCE = "announce"  # post in the announcements room
    PROPOSE = "propose"  # open a proposal
    ELECT = "elect"  # open a secret ballot


DEFAULT_LEVELS: dict[Right, str] = {
    Right.POST: "members",
    Right.ANNOUNCE: "moderators",
    Right.PROPOSE: "members",
    Right.ELECT: "members",
}


@dataclass(frozen=True)
class Permissions:
    """Right -> who may exercise it (one of LEVELS)."""

    levels: tuple[tuple[Right, str], ...] = tuple(DEFAULT_LEVELS.items())

    def level(self, right: Right) -> str:
        return dict(self.levels).get(right, DEFAULT_LEVELS[right])

    def refusal(self, right: Right, *, member: bool, moderator: bool) -> str | None:
        """None when allowed, else the reason (said to the person refused)."""
        level = self.level(right)
        if level == "anyone" or (level == "members" and (member or moderator)) or moderator:
            return None
        who = "members" if level == "members" else "moderators"
        return f"only {who} of the group may {_VERBS[right]}"

    def changed(self, changes: Mapping[str, Any]) -> Permissions:
        """A copy with ``changes`` (right name -> level) applied; InvalidInput if bad."""
        levels = dict(self.levels)
        for name, level in changes.items():
            try:
                right = Right(name)
            except ValueError:
                raise InvalidInput(
                    f"unknown right {name!r} (rights: {', '.join(r.value for r in Right)})",
                    field="permissions",
                ) from None
            if level not in LEVELS:
                raise InvalidInput(
                    f"{name}: must be one of {', '.join(LEVELS)}", field="permissions"
                )
            levels[right] = str(level)
        return Permissions(tuple((r, levels.get(r, DEFAULT_LEVELS[r])) for r in Right))

    def to_dict(self) -> dict[str, str]:
        return {right.value: self.level(right) for right in Right}


DEFAULT_PERMISSIONS = Permissions()
_VERBS = {
    Right.POST: "post into it",
    Right.ANNOUNCE: "post announcements",
    Right.PROPOSE: "open proposals",
    Right.ELECT: "open a secret ballot",
}


def member_network(member_id: str) -> str:
    """``matrix`` for ``@user:server``, ``fediverse`` for an actor URL or ``@name@host``."""
    if member_id.startswith("@") and ":" in member_id and member_id.count("@") == 1:
        return "matrix"
    return "fediverse"


@dataclass(frozen=True)
class Invitation:
    """An invitation code to a group: limited in time and in uses, revocable."""

    code: str
    group_id: int
    created_by: str
    created_at: datetime
    expires_at: datetime
    max_uses: int
    uses: int = 0
    revoked_at: datetime | None = None

    @staticmethod
    def check_terms(max_uses: int, expires_in: timedelta) -> None:
        """The terms a new invitation may have (InvalidInput otherwise)."""
        if not 1 <= max_uses <= 1000:
            raise InvalidInput("max_uses must be 1 to 1000", field="max_uses")
        if not timedelta(hours=1) <= expires_in <= timedelta(days=365):
            raise InvalidInput("expires_in_days must be 1 to 365", field="expires_in_days")

    def refusal(self, now: datetime) -> str | None:
        """Why the code cannot be used now, or None."""
        if self.revoked_at is not None:
            return "this invitation was revoked"
        if now >= self.expires_at:
            return "this invitation has expired"
        if self.uses >= self.max_uses:
            return "this invitation has been used up"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "max_uses": self.max_uses,
            "uses": self.uses,
            "revoked": self.revoked_at is not None,
        }


#: A decision's effect: done at once, or waiting to be tried again, or given up
#: (bad input, or too many attempts), with the reason kept.
EFFECT = Lifecycle(
    "decision effect",
    initial=("done", "retry", "failed"),
    transitions={"retry": ("retry", "done", "failed"), "done": (), "failed": ()},
    terminal=("done", "failed"),
)
EFFECT_MAX_ATTEMPTS = 8


def effect_retry_delay(attempts: int) -> timedelta:
    """Capped exponential backoff: 10 s, 20 s, 40 s ... at most an hour."""
    return timedelta(seconds=min(3600, 10 * 2 ** max(0, attempts - 1)))

"""What the public federation endpoints read: collections, objects, local people.

Other servers fetch actors, outboxes, followers and notes at any time; the
handlers that answer them (``web/federation.py``) only read. This port is that
read model, so the endpoints can be tested without a database and the SQL
stays in ``store/``. The admin API reads the same follower and moderator
lists, so it uses this port too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["ActiveGroups", "FederationReads", "FollowingEntry", "LocalPerson"]


@dataclass(frozen=True)
class LocalPerson:
    """A Matrix member's fediverse face: a local Person actor (no private key here)."""

    user_id: str
    username: str
    display_name: str | None
    public_key_pem: str


@dataclass(frozen=True)
class FollowingEntry:
    """One actor a group follows or asked to follow."""

    target: str
    state: str  # "requested", "accepted" or "rejected"
    follow_id: str


@dataclass(frozen=True)
class ActiveGroups:
    """Groups that published lately (NodeInfo's activeMonth / activeHalfyear)."""

    month: int
    halfyear: int


class FederationReads(Protocol):
    async def person_by_username(self, username: str) -> LocalPerson | None:
        """The local Person with this username, or None."""
        ...

    async def person_of_member(self, user_id: str) -> LocalPerson | None:
        """The local Person standing for this Matrix user, or None."""
        ...

    async def public_activity_count(self, group_id: int | None = None) -> int:
        """Public outbox activities of one group, or of the whole instance."""
        ...

    async def active_groups(self) -> ActiveGroups:
        """How many groups published in the last 30 and 180 days."""
        ...

    async def outbox_page(
        self, group_id: int, *, before: int | None, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        """Newest first: (cursor, activity) pairs, public only, before ``before``."""
        ...

    async def activity(self, activity_id: str) -> tuple[dict[str, Any], bool] | None:
        """An activity the instance published, and whether it is public."""
        ...

    async def created_object(self, object_id: str) -> dict[str, Any] | None:
        """An object the instance created (a bridged member's Note), as last stored."""
        ...

    async def follower_count(self, group_id: int) -> int:
        """Accepted followers of a group."""
        ...

    async def followers(
        self, group_id: int, *, state: str = "accepted", limit: int = 100, offset: int = 0
    ) -> list[str]:
        """Follower actor ids in a state ("accepted" or "pending"), in a stable order."""
        ...

    async def following(self, group_id: int) -> list[FollowingEntry]:
        """Everyone the group follows or asked to."""
        ...

    async def moderators(self, group_id: int) -> list[str]:
        """Moderator ids (actor URIs or Matrix user ids), oldest first."""
        ...

    async def is_moderator(self, group_id: int, member: str) -> bool:
        """Whether this actor or Matrix user moderates the group."""
        ...

"""Groups: the collectives the server hosts, and the rules for naming them.

A group's slug is its handle on every network (``@slug@domain`` in the
fediverse, ``#<prefix><slug>:server`` in Matrix), so it is strict: lower-case
ASCII letters, digits and ``_``, 1 to 30 characters, starting with a letter or
digit, like Mastodon usernames. Slugs are never reused, even after a group is
deleted: remote servers cache actor ids and keys, and a new group under an old
name would inherit followers and trust it never earned.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.events import EventData, GroupChanged, GroupDeleted, GroupEvent

if TYPE_CHECKING:
    from imago_fed.domain.ports import Clock, GroupEventLog, GroupRepository, KeyPairFactory

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_SUMMARY_LENGTH",
    "Group",
    "GroupDirectory",
    "KeyPair",
    "validate_name",
    "validate_slug",
    "validate_summary",
]

# Whose posts a group re-shares: only its followers (the default), or anyone.
POSTING_POLICIES = ("followers", "anyone")
SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9_]{0,29}")
MAX_NAME_LENGTH = 100
MAX_SUMMARY_LENGTH = 5000
# Names that collide with the instance's own actors or would mislead people.
RESERVED_SLUGS = frozenset(
    {
        "admin", "administrator", "api", "instance", "imago", "inbox", "outbox",
        "moderator", "moderators", "root", "support", "system", "www", "well_known",
    }
)  # fmt: skip


def validate_slug(slug: str) -> str:
    """Return ``slug`` if it is a valid group handle, else raise InvalidInput."""
    if not isinstance(slug, str) or not SLUG_PATTERN.fullmatch(slug):
        raise InvalidInput(
            "slug must be 1 to 30 characters: lower-case letters, digits and '_', "
            "starting with a letter or digit",
            field="slug",
        )
    if slug in RESERVED_SLUGS:
        raise InvalidInput(f"slug {slug!r} is reserved", field="slug")
    return slug


def validate_name(name: str) -> str:
    """A display name: trimmed, non-empty, at most MAX_NAME_LENGTH characters."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("name must not be empty", field="name")
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH or any(ord(c) < 32 for c in name):
        raise InvalidInput(
            f"name must be at most {MAX_NAME_LENGTH} characters, without control characters",
            field="name",
        )
    return name


def validate_summary(summary: str) -> str:
    """A plain-text summary of at most MAX_SUMMARY_LENGTH characters."""
    if not isinstance(summary, str):
        raise InvalidInput("summary must be text", field="summary")
    summary = summary.strip()
    if len(summary) > MAX_SUMMARY_LENGTH:
        raise InvalidInput(
            f"summary must be at most {MAX_SUMMARY_LENGTH} characters", field="summary"
        )
    return summary


@dataclass(frozen=True)
class KeyPair:
    """A signing key pair: the public half in PEM, the private half sealed.

    The domain never sees the private key in the clear; only the adapter that
    signs requests unseals it.
    """

    public_pem: str
    sealed_private: bytes = field(repr=False)


@dataclass(frozen=True)
class Group:
    """A collective hosted on this instance."""

    slug: str
    name: str
    summary: str
    created_at: datetime
    keys: KeyPair = field(repr=False)
    # Who may follow without approval, and whose posts the group re-shares.
    manually_approves_followers: bool = False
    discoverable: bool = True
    posting_policy: str = "followers"  # "followers" or "anyone"
    id: int | None = field(default=None, compare=False)


class GroupDirectory:
    """The use cases on groups: create, read, list, delete."""

    def __init__(
        self,
        repo: GroupRepository,
        keys: KeyPairFactory,
        clock: Clock,
        events: GroupEventLog | None = None,
    ) -> None:
        self._repo = repo
        self._keys = keys
        self._clock = clock
        self._events = events

    async def create(
        self,
        slug: str,
        name: str,
        summary: str = "",
        *,
        manually_approves_followers: bool = False,
        posting_policy: str = "followers",
    ) -> Group:
        if posting_policy not in POSTING_POLICIES:
            raise InvalidInput(
                f"posting_policy must be one of {', '.join(POSTING_POLICIES)}",
                field="posting_policy",
            )
        group = Group(
            slug=validate_slug(slug),
            name=validate_name(name),
            summary=validate_summary(summary),
            created_at=self._clock.now(),
            keys=KeyPair(public_pem="", sealed_private=b""),
            manually_approves_followers=manually_approves_followers,
            posting_policy=posting_policy,
        )
        # Check before paying for a key pair; the repository still enforces
        # uniqueness, since two requests can race past this check.
        if await self._repo.get(group.slug) is not None:
            raise Conflict(f"a group with slug {slug!r} already exists", field="slug")
        group = replace(group, keys=await self._keys.new_keypair())
        group = await self._repo.add(group)
        # Other networks set the group up (a Matrix space) when they read this.
        await self._record(group, GroupChanged(created=True), "created")
        return group

    async def get_by_id(self, group_id: int) -> Group | None:
        return await self._repo.get_by_id(group_id)

    async def get(self, slug: str) -> Group:
        group = await self._repo.get(slug)
        if group is None:
            raise NotFound(f"no group with slug {slug!r}")
        return group

    async def list(self, *, limit: int = 50, after: str | None = None) -> Sequence[Group]:
        if not 1 <= limit <= 500:
            raise InvalidInput("limit must be between 1 and 500", field="limit")
        return await self._repo.list(limit=limit, after=after)

    async def count(self) -> int:
        return await self._repo.count()

    async def update(
        self, slug: str, *, name: str | None = None, summary: str | None = None
    ) -> Group:
        """Rename or re-describe a group; every network is told (a group event)."""
        group = await self.get(slug)
        changed = replace(
            group,
            name=validate_name(name) if name is not None else group.name,
            summary=validate_summary(summary) if summary is not None else group.summary,
        )
        if changed == group:
            return group
        await self._repo.update_profile(changed)
        await self._record(changed, GroupChanged(), f"changed|{self._clock.now().isoformat()}")
        return changed

    async def delete(self, slug: str) -> None:
        group = await self.get(slug)
        if not await self._repo.mark_deleted(slug, self._clock.now()):
            raise NotFound(f"no group with slug {slug!r}")
        await self._record(group, GroupDeleted(slug=slug, name=group.name), "deleted")

    async def _record(self, group: Group, data: EventData, key: str) -> None:
        if self._events is not None and group.id is not None:
            await self._events.record(GroupEvent(group.id, "directory", f"{key}|{group.id}", data))

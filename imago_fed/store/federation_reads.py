"""The public federation endpoints' read model (``FederationReads``) over the pool.

A thin class over the query functions of ``outbox``, ``follows``,
``moderation`` and ``people``: each call is one statement on the pool, as the
handlers used to issue it themselves.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from imago_fed.domain.ports.federation_reads import ActiveGroups, FollowingEntry, LocalPerson
from imago_fed.store import follows, moderation, outbox, people

__all__ = ["PgFederationReads"]


def _person(row: dict[str, Any] | None) -> LocalPerson | None:
    if row is None:
        return None
    return LocalPerson(
        user_id=row["user_id"],
        username=row["username"],
        display_name=row["display_name"],
        public_key_pem=row["public_key_pem"],
    )


class PgFederationReads:
    """Implements :class:`imago_fed.domain.ports.federation_reads.FederationReads`."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def person_by_username(self, username: str) -> LocalPerson | None:
        return _person(await people.by_username(self._pool, username))

    async def person_of_member(self, user_id: str) -> LocalPerson | None:
        return _person(await people.get(self._pool, user_id))

    async def public_activity_count(self, group_id: int | None = None) -> int:
        return await outbox.count(self._pool, group_id)

    async def active_groups(self) -> ActiveGroups:
        row = await self._pool.fetchrow(
            """
            SELECT count(DISTINCT group_id)
                       FILTER (WHERE published_at > now() - interval '30 days') AS month,
                   count(DISTINCT group_id)
                       FILTER (WHERE published_at > now() - interval '180 days') AS halfyear
            FROM outbox
            """
        )
        return ActiveGroups(month=row["month"], halfyear=row["halfyear"])

    async def outbox_page(
        self, group_id: int, *, before: int | None, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        return await outbox.page(self._pool, group_id, before=before, limit=limit)

    async def activity(self, activity_id: str) -> tuple[dict[str, Any], bool] | None:
        return await outbox.get(self._pool, activity_id)

    async def created_object(self, object_id: str) -> dict[str, Any] | None:
        return await outbox.created_object(self._pool, object_id)

    async def follower_count(self, group_id: int) -> int:
        return await follows.count_followers(self._pool, group_id)

    async def followers(
        self, group_id: int, *, state: str = "accepted", limit: int = 100, offset: int = 0
    ) -> list[str]:
        return await follows.followers(
            self._pool, group_id, state=state, limit=limit, offset=offset
        )

    async def following(self, group_id: int) -> list[FollowingEntry]:
        rows = await follows.following(self._pool, group_id)
        return [FollowingEntry(target, state, follow_id) for target, state, follow_id in rows]

    async def moderators(self, group_id: int) -> list[str]:
        return await moderation.moderators(self._pool, group_id)

    async def is_moderator(self, group_id: int, member: str) -> bool:
        return await moderation.is_moderator(self._pool, group_id, member)

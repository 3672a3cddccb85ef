"""The admin API's repositories over the pool: moderation, traffic, deliveries, readiness.

Each class implements one Protocol of :mod:`imago_fed.domain.ports.admin`
by calling the query functions of the table's own module (``moderation``,
``inbox``, ``matrix``, ``deliveries``, ``peer_hosts``, ``migrations``), so
every statement still lives beside its table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from imago_fed.store import deliveries, inbox, matrix, migrations, moderation, peer_hosts

__all__ = [
    "PgDeliveryAdmin",
    "PgFederationAdminReads",
    "PgModerationRecords",
    "PgSchemaProbe",
]

Row = dict[str, Any]


class PgModerationRecords:
    """Implements ``ModerationRecords``."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def list_blocks(self) -> list[Row]:
        return await moderation.list_blocks(self._pool)

    async def add_block(
        self, *, group_id: int | None, kind: str, value: str, reason: str, now: datetime
    ) -> int:
        return await moderation.add_block(
            self._pool, group_id=group_id, kind=kind, value=value, reason=reason, now=now
        )

    async def remove_block(self, block_id: int) -> bool:
        return await moderation.remove_block(self._pool, block_id)

    async def list_reports(self, *, limit: int = 100) -> list[Row]:
        return await moderation.list_reports(self._pool, limit=limit)

    async def set_moderator(self, group_id: int, member: str, present: bool, now: datetime) -> bool:
        return await moderation.set_moderator(self._pool, group_id, member, present, now)


class PgFederationAdminReads:
    """Implements ``FederationAdminReads``."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def received(self, group_id: int, *, limit: int = 50) -> list[Row]:
        return await inbox.received(self._pool, group_id, limit=limit)

    async def matrix_members(self, group_id: int, state: str = "joined") -> list[str]:
        return await matrix.members(self._pool, group_id, state)


class PgDeliveryAdmin:
    """Implements ``DeliveryAdmin``."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def stats(self) -> Row:
        return await deliveries.stats(self._pool)

    async def dead_letters(self, *, limit: int, after: int | None) -> list[Row]:
        return await deliveries.dead_letters(self._pool, limit=limit, after=after)

    async def retry(self, delivery_id: int) -> Row | None:
        return await deliveries.retry(self._pool, delivery_id)

    async def peers(self, *, limit: int, after: str | None) -> list[Row]:
        return await peer_hosts.list_hosts(self._pool, limit=limit, after=after)

    async def reset_peer(self, host: str) -> bool:
        return await peer_hosts.reset(self._pool, host)


class PgSchemaProbe:
    """Implements ``SchemaProbe``: the Alembic head against ``alembic_version``."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    def expected(self) -> str:
        return migrations.head_revision()

    async def current(self) -> str | None:
        async with self._pool.acquire() as conn:
            return await migrations.current_revision(conn)

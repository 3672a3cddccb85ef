"""Assemblies (``AssemblyStore``) over the pool: one JSON state per assembly, versioned."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from imago_fed.domain.assemblies import Assembly

__all__ = ["PgAssemblyStore"]


class PgAssemblyStore:
    """Implements :class:`imago_fed.domain.ports.assemblies.AssemblyStore`."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add(self, assembly: Assembly, now: datetime) -> int:
        found = await self._pool.fetchval(
            """
            INSERT INTO assemblies (group_id, state, starts_at, body, created_at, updated_at)
            VALUES ($1, $2, $3, $4::jsonb, $5, $5) RETURNING id
            """,
            assembly.group_id, assembly.state, assembly.starts_at,
            json.dumps(assembly.to_dict()), now,
        )  # fmt: skip
        return int(found)

    async def get(self, assembly_id: int) -> tuple[Assembly, int] | None:
        row = await self._pool.fetchrow(
            "SELECT id, body, version FROM assemblies WHERE id = $1", assembly_id
        )
        if row is None:
            return None
        return Assembly.from_dict(json.loads(row["body"]), id=row["id"]), row["version"]

    async def save(self, assembly: Assembly, version: int, now: datetime) -> bool:
        status = await self._pool.execute(
            """
            UPDATE assemblies SET body = $3::jsonb, state = $4, starts_at = $5,
                   version = version + 1, updated_at = $6
             WHERE id = $1 AND version = $2
            """,
            assembly.id, version, json.dumps(assembly.to_dict()), assembly.state,
            assembly.starts_at, now,
        )  # fmt: skip
        return status.endswith(" 1")

    async def of_group(self, group_id: int) -> list[Assembly]:
        rows = await self._pool.fetch(
            "SELECT id, body FROM assemblies WHERE group_id = $1 ORDER BY id DESC LIMIT 100",
            group_id,
        )
        return [Assembly.from_dict(json.loads(r["body"]), id=r["id"]) for r in rows]

    async def live(self) -> list[int]:
        rows = await self._pool.fetch(
            "SELECT id FROM assemblies WHERE state <> 'closed' ORDER BY starts_at, id LIMIT 1000"
        )
        return [r["id"] for r in rows]

"""Named locks across processes: PostgreSQL session advisory locks.

The ``ExclusiveLock`` of :mod:`imago_fed.services.worker`: the decision
ticker runs in every server process, and the one holding ``governance``
decides. The lock lives on one pooled connection for the time it is held;
a connection given back to the pool drops whatever it still held.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg

__all__ = ["PgAdvisoryLock"]


class PgAdvisoryLock:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[bool]:
        """True inside when this process got ``name``; never waits for it."""
        async with self._pool.acquire() as conn:
            held = bool(await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", name))
            try:
                yield held
            finally:
                if held:
                    await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", name)

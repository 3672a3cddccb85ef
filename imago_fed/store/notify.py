"""Waking workers: PostgreSQL LISTEN/NOTIFY with a bounded poll as a fallback.

Workers that process a table (inbox activities, Matrix events, group events)
sleep until a NOTIFY on their channel, or ``interval`` seconds at most, so
a missed notification (another process, a dropped listener) delays work a
little and never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg

__all__ = ["Wakeup", "run_until_cancelled"]

log = logging.getLogger(__name__)


class Wakeup:
    def __init__(self, pool: asyncpg.Pool, channel: str) -> None:
        self._pool, self._channel = pool, channel
        self._event = asyncio.Event()
        self._listener: asyncpg.Connection | None = None

    def _notified(self, *_: object) -> None:
        self._event.set()

    async def start(self) -> None:
        """Listen; if the database cannot be reached now, polling still works."""
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            self._listener = await self._pool.acquire()
            await self._listener.add_listener(self._channel, self._notified)

    async def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await self._listener.remove_listener(self._channel, self._notified)
            await self._pool.release(self._listener)
            self._listener = None

    async def wait(self, timeout: float) -> None:
        """Until notified or ``timeout`` seconds, whichever comes first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
        self._event.clear()


async def run_until_cancelled(
    name: str,
    step: Callable[[], Awaitable[bool | int]],
    wakeup: Wakeup,
    idle_wait: Callable[[], float],
) -> None:
    """Call ``step`` while it finds work; when idle, wait for a wake-up."""
    while True:
        try:
            worked = await step()
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("%s: database error", name, extra={"error": str(exc)})
            worked = False
        if not worked:
            await wakeup.wait(idle_wait())

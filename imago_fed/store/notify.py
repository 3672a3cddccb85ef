"""Waking workers: PostgreSQL LISTEN/NOTIFY with a bounded poll as a fallback.

Workers that process a table (inbox activities, deliveries, Matrix events,
group events) sleep until a NOTIFY on their channel, or ``timeout`` seconds
at most, so a missed notification (another process, a dropped listener)
delays work a little and never loses it. This is the ``Wakeup`` of
:mod:`imago_fed.services.worker`; a listener the database dropped is
replaced on the next wait (not more often than every ``relisten_after`` s):
when the database restarts, the listeners come back within seconds of it,
and until then the poll does their work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

__all__ = ["Wakeup"]

log = logging.getLogger(__name__)
_FAILURES = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class Wakeup:
    def __init__(self, pool: asyncpg.Pool, channel: str, *, relisten_after: float = 5.0) -> None:
        self._pool, self._channel = pool, channel
        self._relisten_after = relisten_after
        self._event = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._started = False
        self._retry_at = 0.0  # loop time before which LISTEN is not tried again

    def _notified(self, *_: object) -> None:
        self._event.set()

    def set(self) -> None:
        """Wake the waiter from this process (a task finished, the worker stops)."""
        self._event.set()

    async def start(self) -> None:
        """Listen; if the database cannot be reached now, polling still works."""
        self._started = True
        await self._listen()

    async def _listen(self) -> None:
        now = asyncio.get_running_loop().time()
        if now < self._retry_at:
            return
        await self._unlisten()
        try:
            self._listener = await self._pool.acquire(timeout=10)
            await self._listener.add_listener(self._channel, self._notified)
        except _FAILURES as exc:
            log.warning("LISTEN %s failed; polling: %s", self._channel, exc)
            self._retry_at = now + self._relisten_after
            await self._unlisten()

    async def _unlisten(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        with contextlib.suppress(*_FAILURES):
            await listener.remove_listener(self._channel, self._notified)
        with contextlib.suppress(*_FAILURES):
            await self._pool.release(listener)

    def _lost(self) -> bool:
        """No listener, or its connection died (the pool then takes it back at once,
        and the proxy we hold refuses every call)."""
        if self._listener is None:
            return True
        try:
            return self._listener.is_closed()
        except asyncpg.InterfaceError:
            return True

    async def stop(self) -> None:
        self._started = False
        await self._unlisten()

    async def wait(self, timeout: float) -> None:
        """Until notified or ``timeout`` seconds, whichever comes first."""
        if self._started and self._lost():
            await self._listen()  # the database went away (and maybe came back)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
        self._event.clear()

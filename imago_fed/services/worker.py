"""Background work, written once: a loop that steps, waits, backs off and drains.

Every background job of a server process (inbound activities, deliveries,
the group event readers, the Matrix transaction events, the decision
ticker) is a :class:`Worker` around a *step*: claim work with a lease,
handle it, record the outcome (done, retry later, dead). The lease is what
makes the loop safe to stop or kill: work cut short comes back when its lease
expires (or at once, through ``release``)::

    start() ─> wakeup.start() (LISTEN)
       ┌──> step() ── found work ────> step() again, at once
       │      ├──── nothing to do ──> wakeup.wait(min(poll_interval, next_due()))
       │      │                       (a NOTIFY, a finished task, or the poll)
       │      └──── raised ─────────> logged; pause poll_interval · 2^(n-1),
       │                              capped at backoff_cap (wake-ups don't cut it)
       └──────┘
    stop() ─> no new step; the step in flight gets drain_timeout seconds, then
              is cancelled; tasks still in flight (a concurrent worker's
              InFlight) get what is left of that time, then are cancelled and
              handed to release(); wakeup.stop()

Every wait is bounded (the poll, the capped backoff, the drain), so a missed
NOTIFY delays work a little and never loses it, and stopping never hangs.
This module knows no database: the LISTEN/NOTIFY wake-up and the advisory
lock come in through the small Protocols below (``store/notify.py`` and
``store/locks.py`` implement them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, Generic, Protocol, TypeVar

__all__ = [
    "ExclusiveLock",
    "InFlight",
    "LocalWakeup",
    "Step",
    "Wakeup",
    "Worker",
    "exclusively",
]

log = logging.getLogger(__name__)

K = TypeVar("K")
#: One round of work; truthy when it found some (then the worker steps again at once).
Step = Callable[[], Awaitable[object]]


class Wakeup(Protocol):
    """What a worker sleeps on between steps (LISTEN/NOTIFY in production)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def wait(self, timeout: float) -> None:
        """Until woken or ``timeout`` seconds, whichever comes first."""
        ...

    def set(self) -> None:
        """Wake the waiter now (from this process: a task finished, stop)."""
        ...


class ExclusiveLock(Protocol):
    """A named lock across processes (an advisory lock in production)."""

    def hold(self, name: str) -> AbstractAsyncContextManager[bool]:
        """True inside when this process got ``name``; False when another holds it."""
        ...


class LocalWakeup:
    """A wake-up with no listener: only the poll and this process wake it."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
        self._event.clear()

    def set(self) -> None:
        self._event.set()


def exclusively(lock: ExclusiveLock, name: str, step: Step) -> Step:
    """A step that runs only in the one process holding ``name`` (others find no work)."""

    async def run() -> object:
        async with lock.hold(name) as held:
            return await step() if held else False

    return run


class InFlight(Generic[K]):
    """At most ``limit`` tasks at once, one per claimed item, each known by its key.

    A concurrent worker's step claims ``room`` items and ``spawn``s one task
    each; a task that ends wakes the worker (there is room again). ``drain``
    is how stopping ends them: bounded, and the keys of those it had to
    cancel come back so their leases can be given back.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._tasks: dict[asyncio.Task[None], K] = {}
        self.on_done: Callable[[], None] = lambda: None

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def room(self) -> int:
        return max(0, self.limit - len(self._tasks))

    def spawn(self, key: K, work: Coroutine[Any, Any, None], *, name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks[task] = key
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())
        self.on_done()

    async def drain(self, timeout: float) -> list[K]:
        """Let the tasks finish for ``timeout`` seconds; cancel the rest, return their keys."""
        if not self._tasks:
            return []
        tasks = dict(self._tasks)
        _, pending = await asyncio.wait(tasks, timeout=max(0.0, timeout))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return [tasks[task] for task in pending]


class Worker:
    """Runs ``step`` in the background: ``start()``, then ``await stop()`` (see above)."""

    def __init__(
        self,
        name: str,
        step: Step,
        wakeup: Wakeup | None = None,
        *,
        poll_interval: float = 2.0,
        next_due: Callable[[], Awaitable[float | None]] | None = None,
        backoff_cap: float = 300.0,
        drain_timeout: float = 10.0,
        in_flight: InFlight[Any] | None = None,
        release: Callable[[list[Any]], Awaitable[None]] | None = None,
        once: bool = False,
        max_failures: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``once``: a warm-up that ends after its first step that does not raise
        (retried with the backoff until then, ``max_failures`` times at most)."""
        self.name = name
        self._step = step
        self._wakeup: Wakeup = wakeup if wakeup is not None else LocalWakeup()
        self.poll_interval = poll_interval
        self._next_due = next_due
        self.backoff_cap = backoff_cap
        self.drain_timeout = drain_timeout
        self._in_flight = in_flight
        self._release = release
        self._once = once
        self._max_failures = max_failures
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.failures = 0  # consecutive failed steps
        if in_flight is not None:
            in_flight.on_done = self.wake

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Begin in the background (listening is the task's first move, so this never blocks)."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=self.name)

    def wake(self) -> None:
        """Step now instead of at the end of the wait."""
        self._wakeup.set()

    def backoff(self, failures: int) -> float:
        """The pause after the ``failures``-th failure in a row: doubling, capped."""
        return min(self.backoff_cap, self.poll_interval * 2 ** min(max(failures - 1, 0), 30))

    async def stop(self) -> None:
        """Stop stepping; let what is in flight finish (``drain_timeout``), cancel the rest."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self.wake()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.drain_timeout
        await asyncio.wait({task}, timeout=self.drain_timeout)
        if not task.done():
            log.warning("%s: drain timed out; the step in flight is cancelled", self.name)
            task.cancel()
            await asyncio.wait({task}, timeout=5.0)  # a cancelled step ends at its next await
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("%s had failed", self.name, exc_info=task.exception())
        if self._in_flight is not None:
            abandoned = await self._in_flight.drain(deadline - loop.time())
            if abandoned:
                log.warning("%s: drain timed out; %d items given back", self.name, len(abandoned))
                if self._release is not None:
                    try:
                        await self._release(abandoned)
                    except Exception:  # their leases expire on their own
                        log.warning("%s: giving leases back failed", self.name, exc_info=True)
        with contextlib.suppress(Exception):
            await self._wakeup.stop()

    # ------------------------------------------------------------ the loop
    async def _run(self) -> None:
        with contextlib.suppress(Exception):  # no listener: the poll still works
            await self._wakeup.start()
        while not self._stopping:
            try:
                found = await self._step()
            except Exception:
                self.failures += 1
                if self._max_failures is not None and self.failures >= self._max_failures:
                    log.error(
                        "%s: gave up after %d failures", self.name, self.failures, exc_info=True
                    )
                    return
                delay = self.backoff(self.failures)
                log.warning("%s: step failed; next try in %.1f s", self.name, delay, exc_info=True)
                await self._pause(delay)
                continue
            self.failures = 0
            if self._once:
                return
            if not found and not self._stopping:
                await self._wait(await self._idle_wait())

    async def _wait(self, timeout: float) -> None:
        """Sleep on the wake-up; a wake-up that fails (its database went away)
        is a plain sleep this time, never the end of the worker."""
        try:
            await self._wakeup.wait(timeout)
        except Exception:
            log.warning("%s: waiting for a wake-up failed; polling", self.name, exc_info=True)
            await asyncio.sleep(timeout)

    async def _idle_wait(self) -> float:
        if self._next_due is None:
            return self.poll_interval
        try:
            due = await self._next_due()
        except Exception:  # the next step will say what is wrong
            return self.poll_interval
        return self.poll_interval if due is None else max(0.0, min(self.poll_interval, due))

    async def _pause(self, delay: float) -> None:
        """Sleep ``delay`` seconds on the wake-up; only ``stop`` cuts it short."""
        deadline = self._clock() + delay
        while not self._stopping and (left := deadline - self._clock()) > 0:
            await self._wait(left)

"""The delivery worker: POSTs queued activities to remote inboxes, durably.

The queue and its row lifecycle live in :mod:`imago_fed.store.deliveries`;
this module decides what each answer means and keeps a bounded number of
POSTs in flight::

    NOTIFY imago_deliveries ─┐   (enqueue, admin retry: any process)
    poll (≤ poll_interval) ──┼─> claim due rows (lease) ─> one task per row:
    a POST finished ─────────┘      sign (group key | instance key)
                                    POST through FediClient (double knock)
                                    record outcome + host health (one txn)

What an answer means (as Mastodon's DeliveryWorker, except that a 401 the
double knock did not cure is retried, since it often means the receiver
could not fetch our key just then):

    2xx                          delivered                   host alive
    4xx except 401, 408, 429     dead at once (permanent)    host alive
    401, 408, 429, 5xx, 3xx      retry with backoff          host failing
    network error, timeout       retry with backoff          host failing
    forbidden URL / address      dead at once                (not counted)

Backoff (:class:`Backoff` defaults): the wait after attempt *n* is
``min(30 s · 2^(n-1), 6 h)``, ±20 % jitter: 30 s, 1 min, 2, 4, 8, 16, 32 min,
~1 h, ~2 h, ~4 h, then every 6 h. The 25th failed attempt makes the row
dead: about 3.9 days (8.5 h of doubling + 14 x 6 h) after the first.

Stopping drains: no new claims, in-flight POSTs get ``drain_timeout``
seconds, what is left is cancelled and its leases given back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Any

import asyncpg

from imago_fed.activitypub.http import FediClient, FetchError, ForbiddenUrl
from imago_fed.activitypub.signers import Signers, UnknownGroup
from imago_fed.store import deliveries, peer_hosts
from imago_fed.store.deliveries import Claimed

__all__ = ["Backoff", "DeliveryWorker", "Outcome", "WorkerConfig", "classify"]

log = logging.getLogger(__name__)


class Outcome(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"


def classify(status: int) -> Outcome:
    """What a receiver's final HTTP status means for the row."""
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if 400 <= status < 500 and status not in (401, 408, 429):
        return Outcome.DEAD
    return Outcome.RETRY


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with jitter; ``max_attempts`` ends in 'dead'."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=6)
    max_attempts: int = 25
    jitter: float = 0.2

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th attempt failed."""
        raw = min(self.base * 2 ** min(max(attempts - 1, 0), 40), self.cap)
        return raw * random.uniform(1 - self.jitter, 1 + self.jitter)

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


@dataclass(frozen=True)
class WorkerConfig:
    global_limit: int = 32  # POSTs in flight in this worker
    per_host: int = 4  # POSTs in flight per host, across all workers
    lease: timedelta = timedelta(minutes=2)  # > two knocks of 15 s each, with room
    poll_interval: float = 5.0  # the fallback when no NOTIFY arrives
    probe_interval: timedelta = timedelta(hours=3)  # one try at an unavailable host
    unavailable_after_days: int = peer_hosts.UNAVAILABLE_AFTER_DAYS
    drain_timeout: float = 20.0
    backoff: Backoff = field(default_factory=Backoff)


class DeliveryWorker:
    """Runs the queue in this process: ``start()``, then ``await stop()``."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        client: FediClient,
        signers: Signers,
        config: WorkerConfig | None = None,
    ) -> None:
        self.config = config or WorkerConfig()
        self._pool, self._client, self._signers = pool, client, signers
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._main: asyncio.Task[None] | None = None
        self._in_flight: dict[asyncio.Task[None], int] = {}
        self._listener: Any = None  # a pool connection holding LISTEN
        self._listen_after = 0.0  # loop time before which LISTEN is not tried again

    def start(self) -> None:
        if self._main is None:
            self._stopping = False
            self._main = asyncio.create_task(self._run(), name="delivery-worker")

    def wake(self) -> None:
        """Look for due rows now (a NOTIFY does this across processes)."""
        self._wakeup.set()

    async def stop(self) -> None:
        """Stop claiming; let in-flight POSTs finish (bounded), give back the rest."""
        if self._main is None:
            return
        self._stopping = True
        self.wake()
        try:
            await self._main
        except Exception:
            log.exception("the delivery worker loop had failed")
        self._main = None
        if self._in_flight:
            _, pending = await asyncio.wait(self._in_flight, timeout=self.config.drain_timeout)
            ids = [self._in_flight[task] for task in pending]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if ids:
                log.warning("drain timed out; %d deliveries given back to the queue", len(ids))
                with contextlib.suppress(asyncpg.PostgresError, OSError):
                    await deliveries.release(self._pool, ids)
        await self._unlisten()

    # ------------------------------------------------------------- loop
    async def _run(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            if self._listener is None or self._listener.is_closed():
                await self._listen()  # at start, and after the database went away
            wait = self.config.poll_interval
            room = self.config.global_limit - len(self._in_flight)
            if room > 0:
                try:
                    claimed = await deliveries.claim(
                        self._pool,
                        limit=room,
                        per_host=self.config.per_host,
                        probe_interval=self.config.probe_interval,
                        lease=self.config.lease,
                    )
                    for row in claimed:
                        task = asyncio.create_task(self._deliver(row), name=f"delivery-{row.id}")
                        self._in_flight[task] = row.id
                        task.add_done_callback(self._finished)
                    if claimed:
                        continue  # look again at once: more rows may be due
                    due = await deliveries.seconds_until_next_due(self._pool)
                    wait = min(wait, due if due is not None else wait)
                except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                    log.warning("delivery queue unreachable, retrying: %s", exc)
                except Exception:  # the loop must outlive any one bad claim
                    log.exception("delivery claim failed, retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), wait)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())
        self.wake()

    async def _listen(self) -> None:
        now = asyncio.get_running_loop().time()
        if now < self._listen_after:
            return
        await self._unlisten()
        try:
            self._listener = await self._pool.acquire(timeout=10)
            await self._listener.add_listener(deliveries.CHANNEL, self._notified)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            log.warning("LISTEN failed, polling every %s s: %s", self.config.poll_interval, exc)
            self._listen_after = now + 30
            await self._unlisten()

    async def _unlisten(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        failures = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)
        with contextlib.suppress(*failures):
            await listener.remove_listener(deliveries.CHANNEL, self._notified)
        with contextlib.suppress(*failures):
            await self._pool.release(listener)

    def _notified(self, *_: object) -> None:
        self.wake()

    # --------------------------------------------------------- one row
    async def _deliver(self, row: Claimed) -> None:
        status: int | None = None
        host_failed = False
        try:
            signer = await self._signers.for_group(row.group_id)
            status = await self._client.post_activity(row.inbox, row.body.encode(), signer)
            outcome = classify(status)
            error = "" if outcome is Outcome.DELIVERED else f"HTTP {status}"
            host_failed = outcome is Outcome.RETRY
        except ForbiddenUrl as exc:
            outcome, error = Outcome.DEAD, str(exc)
        except FetchError as exc:
            outcome, error, host_failed = Outcome.RETRY, str(exc), True
        except UnknownGroup as exc:
            outcome, error = Outcome.DEAD, str(exc)
        except Exception as exc:  # our side (a bug, the database): retry, don't blame the host
            log.exception("delivery %d failed on our side", row.id)
            outcome, error = Outcome.RETRY, f"{type(exc).__name__}: {exc}"
        if outcome is Outcome.RETRY and self.config.backoff.exhausted(row.attempts):
            outcome, error = Outcome.DEAD, f"gave up after {row.attempts} attempts: {error}"
        await self._record(row, outcome, status, error, host_failed)

    async def _record(
        self, row: Claimed, outcome: Outcome, status: int | None, error: str, host_failed: bool
    ) -> None:
        extra = {"delivery": row.id, "inbox": row.inbox, "status": status, "attempts": row.attempts}
        async with self._pool.acquire() as conn, conn.transaction():
            if outcome is Outcome.DELIVERED:
                await deliveries.mark_delivered(conn, row.id, status)
            elif outcome is Outcome.DEAD:
                await deliveries.mark_dead(conn, row, status, error)
            else:
                delay = self.config.backoff.delay(row.attempts)
                await deliveries.schedule_retry(conn, row, delay, status, error)
            if host_failed:
                unavailable = await peer_hosts.record_failure(
                    conn, row.host, after_days=self.config.unavailable_after_days
                )
                if unavailable:
                    log.info("host %s is unavailable; holding its deliveries", row.host)
            elif status is not None:
                await peer_hosts.record_success(conn, row.host)
        if outcome is Outcome.DEAD:
            log.warning("delivery %d dead: %s", row.id, error, extra=extra)
        elif outcome is Outcome.RETRY:
            log.info("delivery %d will be retried: %s", row.id, error, extra=extra)
        else:
            log.debug("delivered %s to %s", row.activity_id, row.inbox, extra=extra)

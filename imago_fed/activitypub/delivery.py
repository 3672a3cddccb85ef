"""The delivery worker: POSTs queued activities to remote inboxes, durably.

The queue and its row lifecycle live in :mod:`imago_fed.store.deliveries`
(reached through the ``DeliveryQueue`` and ``PeerHealth`` ports);
this module decides what each answer means and keeps a bounded number of
POSTs in flight::

    NOTIFY imago_deliveries ─┐   (enqueue, admin retry: any process)
    poll (≤ poll_interval) ──┼─> claim due rows (lease), a host's rows together,
    a chain finished ────────┘   cut into chains of ≤ ``chain`` rows; claimed
                                 ahead (up to twice ``global_limit`` chains)
                                 when fewer than a quarter wait, so a claim
                                 serves many POSTs and its latency is hidden
                                 ─> ``global_limit`` chains run at once; one
                                    that ends starts a waiting one at once;
                                    a chain's rows go one after the other,
                                    over one kept-alive connection; per row:
                                    sign (group key | instance key)
                                    POST through FediClient (double knock)
                                    record outcome + host health (one txn;
                                    successes of all chains are written
                                    together, 10 ms later: one UPDATE and
                                    one upsert for many rows, the leases
                                    holding the rows until then)
                                 a network error or timeout ends the chain:
                                 its other rows wait the host's backoff
                                 unsent, the attempt their claim counted
                                 given back (the host is failing)

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
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum

from imago_fed.activitypub.http import FediClient, FetchError, ForbiddenUrl
from imago_fed.activitypub.signers import Signers, UnknownGroup
from imago_fed.domain.ports.delivery import UNAVAILABLE_AFTER_DAYS, Claimed
from imago_fed.domain.ports.federation import Federation
from imago_fed.services.worker import InFlight, Wakeup, Worker

__all__ = ["Backoff", "DeliveryWorker", "Outcome", "WorkerConfig", "chains", "classify"]

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


def chains(claimed: list[Claimed], room: int, length: int) -> list[list[Claimed]]:
    """Cut claimed rows (a host's rows together) into at most ``room`` chains.

    Each host gets one chain, and more (up to one per ``length`` rows) while
    room is left, so a host with many rows still has several POSTs in flight;
    a host's rows are dealt round-robin over its chains, in claim order.
    """
    by_host: dict[str, list[Claimed]] = {}
    for row in claimed:
        by_host.setdefault(row.host, []).append(row)
    spare = max(0, room - len(by_host))
    cut: list[list[Claimed]] = []
    for rows in by_host.values():
        extra = min(spare, -(-len(rows) // max(1, length)) - 1)
        spare -= extra
        cut += [rows[i :: extra + 1] for i in range(extra + 1)]
    return cut


_Done = tuple[Claimed, int | None]  # a delivered row and the status it got


class _GroupCommit:
    """Writes that arrive within ``delay`` seconds go to the database together.

    A batch is written at once when it reaches ``size`` items. A failed
    write is logged: its rows keep their leases, which expire, and they are
    sent again (delivery is at least once). ``drain`` writes what is pending.
    """

    def __init__(
        self, write: Callable[[list[_Done]], Awaitable[None]], delay: float, size: int
    ) -> None:
        self._write, self._delay, self._size = write, delay, size
        self._items: list[_Done] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writing: set[asyncio.Task[None]] = set()

    def add(self, item: _Done) -> None:
        self._items.append(item)
        if len(self._items) >= self._size:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._delay, self._flush)

    async def drain(self, timeout: float) -> None:
        self._flush()
        if self._writing:
            await asyncio.wait(set(self._writing), timeout=max(0.1, timeout))

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        items, self._items = self._items, []
        if items:
            task = asyncio.create_task(self._run(items), name="delivery-record")
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)

    async def _run(self, items: list[_Done]) -> None:
        try:
            await self._write(items)
        except Exception:
            log.exception("recording %d deliveries failed; they will be sent again", len(items))


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
    global_limit: int = 32  # POSTs (chains) in flight in this worker
    per_host: int = 4  # rows leased per host, across all workers
    chain: int = 2  # a host's rows sent one after another over one connection
    # The lease covers a chain: at most per_host rows of 15 s each (two knocks
    # included) when room is short, with room to spare.
    lease: timedelta = timedelta(minutes=2)
    poll_interval: float = 5.0  # the fallback when no NOTIFY arrives
    probe_interval: timedelta = timedelta(hours=3)  # one try at an unavailable host
    unavailable_after_days: int = UNAVAILABLE_AFTER_DAYS
    drain_timeout: float = 20.0
    backoff: Backoff = field(default_factory=Backoff)


class DeliveryWorker:
    """Runs the queue in this process: ``start()``, then ``await stop()``.

    The loop is a :class:`~imago_fed.services.worker.Worker` whose step claims
    as many due rows as there is room for and starts one task per row; the
    worker drains those tasks on stop and gives back the leases of any it
    had to cancel.
    """

    def __init__(
        self,
        fed: Federation,
        wakeup: Wakeup,
        client: FediClient,
        signers: Signers,
        config: WorkerConfig | None = None,
    ) -> None:
        self.config = config or WorkerConfig()
        self._fed, self._client, self._signers = fed, client, signers
        self._in_flight: InFlight[tuple[int, ...]] = InFlight(self.config.global_limit)
        # Chains claimed ahead, started as soon as a chain ends (no round trip
        # in between); claimed again when fewer than a quarter of the limit
        # wait, up to twice the limit in all. A claim walks every host with
        # queued rows, so it is not made after every POST.
        self._waiting: deque[list[Claimed]] = deque()
        self._claim_at = max(1, self.config.global_limit // 4)
        self._stopping = False
        self._short = False  # the last claim found less than it asked for
        self._delivered = _GroupCommit(
            self._record_delivered, delay=0.01, size=self.config.global_limit
        )
        self.worker = Worker(
            "delivery-worker",
            self._claim,
            wakeup,
            poll_interval=self.config.poll_interval,
            next_due=self._next_due,
            backoff_cap=max(self.config.poll_interval, 60.0),
            drain_timeout=self.config.drain_timeout,
            in_flight=self._in_flight,
            release=self._release,
        )
        self._in_flight.on_done = self._chain_ended

    def start(self) -> None:
        self._stopping = False
        self.worker.start()

    def wake(self) -> None:
        """Look for due rows now (a NOTIFY does this across processes)."""
        self.worker.wake()

    async def stop(self) -> None:
        """Stop claiming; let in-flight POSTs finish (bounded), give back the rest."""
        self._stopping = True  # no waiting chain starts from here on
        await self.worker.stop()
        await self._delivered.drain(self.config.drain_timeout)
        waiting = [row.id for chain in self._waiting for row in chain]
        self._waiting.clear()
        if waiting:
            try:
                await self._fed.deliveries.release(waiting)
            except Exception:  # their leases expire on their own
                log.warning("giving back %d leases failed", len(waiting), exc_info=True)

    # ------------------------------------------------------------- step
    async def _claim(self) -> int:
        """Lease due rows (a host's together, per-host limits apply), cut them into
        chains, start what there is room for and keep the rest waiting."""
        self._fill()
        if len(self._waiting) >= self._claim_at:
            return 0  # a chain that ends starts a waiting one and wakes the worker
        if self._short and len(self._in_flight) and self._in_flight.room < self._claim_at:
            return 0  # the queue looked empty: not a claim per ended chain
        hosts = 2 * self.config.global_limit - len(self._in_flight) - len(self._waiting)
        claimed = await self._fed.deliveries.claim(
            limit=hosts * self.config.chain,
            per_host=self.config.per_host,
            probe_interval=self.config.probe_interval,
            lease=self.config.lease,
            hosts=hosts,
        )
        try:  # one query for the hosts' signature schemes, not one per host
            await self._client.prime_schemes({row.host for row in claimed})
        except Exception:  # each POST looks its host up, then
            log.warning("looking up signature schemes failed", exc_info=True)
        self._short = len(claimed) < hosts * self.config.chain
        self._waiting.extend(chains(claimed, hosts, self.config.chain))
        self._fill()
        return len(claimed)

    def _fill(self) -> None:
        """Start waiting chains while there is room (not once stopping).

        A chain that waited past half its lease is dropped, not started: its
        POSTs could outlive the lease and another claim send them again. Its
        leases run out and the rows are claimed anew."""
        now = datetime.now(UTC)
        while self._waiting and self._in_flight.room and not self._stopping:
            chain = self._waiting.popleft()
            if chain[0].locked_until - now < self.config.lease / 2:
                log.info("%d deliveries waited too long for room; claimed again later", len(chain))
                continue
            self._in_flight.spawn(
                tuple(row.id for row in chain), self._deliver_chain(chain),
                name=f"delivery-{chain[0].id}",
            )  # fmt: skip

    def _chain_ended(self) -> None:
        self._fill()
        self.worker.wake()

    async def _next_due(self) -> float | None:
        """Wake when the next row in backoff comes due (not while chains are in
        flight: the end of one wakes the worker anyway)."""
        if len(self._in_flight):
            return None
        return await self._fed.deliveries.seconds_until_next_due()

    async def _release(self, chains: list[tuple[int, ...]]) -> None:
        await self._fed.deliveries.release([row for chain in chains for row in chain])

    # ------------------------------------------------------- one chain
    async def _deliver_chain(self, rows: list[Claimed]) -> None:
        """One host's rows in turn; after a network failure the rest wait the host's backoff.

        The rows left unsent were not attempted: they are postponed, the
        attempt their claim counted given back, so a failing host's queue
        does not age toward the dead letters by rows it never received."""
        for i, row in enumerate(rows):
            try:
                failed = await self._deliver(row)
            except Exception:  # recording failed (the database): the lease expires, retried
                log.exception("delivery %d: recording its outcome failed", row.id)
                continue
            if failed is not None and i + 1 < len(rows):
                unsent = rows[i + 1 :]
                try:
                    await self._fed.deliveries.postpone(
                        unsent, self.config.backoff.delay(row.attempts)
                    )
                except Exception:  # their leases expire; the claim counts them again
                    log.exception("postponing %d deliveries failed", len(unsent))
                else:
                    log.info(
                        "%d deliveries to %s not sent: the host failed (%s)",
                        len(unsent), row.host, failed,
                    )  # fmt: skip
                return

    async def _deliver(self, row: Claimed) -> str | None:
        """POST one row and record what came of it; the error if the host failed to answer.

        A delivered row is recorded a few ms later with others (its lease
        holds it until then); other outcomes are recorded before returning."""
        status: int | None = None
        host_failed = False
        network: str | None = None
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
            network = error
        except UnknownGroup as exc:
            outcome, error = Outcome.DEAD, str(exc)
        except Exception as exc:  # our side (a bug, the database): retry, don't blame the host
            log.exception("delivery %d failed on our side", row.id)
            outcome, error = Outcome.RETRY, f"{type(exc).__name__}: {exc}"
        if outcome is Outcome.DELIVERED:
            log.debug("delivered %s to %s", row.activity_id, row.inbox)
            self._delivered.add((row, status))
        else:
            await self._conclude(row, outcome, status, error, host_failed=host_failed)
        return network

    async def _record_delivered(self, done: list[_Done]) -> None:
        """Many delivered rows and their hosts' health, in one transaction."""
        async with self._fed.transaction() as tx:
            await tx.deliveries.mark_delivered_many([(row.id, status) for row, status in done])
            await tx.peer_hosts.record_successes([row.host for row, _ in done])
        # Their leases are gone only now: a claim made when their chains ended
        # still counted them against their hosts' limits and found no room
        # (a single busy host). Look again now, not at the next poll.
        self.worker.wake()

    async def _conclude(
        self, row: Claimed, outcome: Outcome, status: int | None, error: str, *, host_failed: bool
    ) -> None:
        if outcome is Outcome.RETRY and self.config.backoff.exhausted(row.attempts):
            outcome, error = Outcome.DEAD, f"gave up after {row.attempts} attempts: {error}"
        await self._record(row, outcome, status, error, host_failed)

    async def _record(
        self, row: Claimed, outcome: Outcome, status: int | None, error: str, host_failed: bool
    ) -> None:
        extra = {"delivery": row.id, "inbox": row.inbox, "status": status, "attempts": row.attempts}
        async with self._fed.transaction() as tx:
            if outcome is Outcome.DELIVERED:
                await tx.deliveries.mark_delivered(row.id, status)
            elif outcome is Outcome.DEAD:
                await tx.deliveries.mark_dead(row, status, error)
            else:
                delay = self.config.backoff.delay(row.attempts)
                await tx.deliveries.schedule_retry(row, delay, status, error)
            if host_failed:
                unavailable = await tx.peer_hosts.record_failure(
                    row.host, after_days=self.config.unavailable_after_days
                )
                if unavailable:
                    log.info("host %s is unavailable; holding its deliveries", row.host)
            elif status is not None:
                await tx.peer_hosts.record_success(row.host)
        if outcome is Outcome.DEAD:
            log.warning("delivery %d dead: %s", row.id, error, extra=extra)
        elif outcome is Outcome.RETRY:
            log.info("delivery %d will be retried: %s", row.id, error, extra=extra)
        else:
            log.debug("delivered %s to %s", row.activity_id, row.inbox, extra=extra)

"""The background Worker with a fake wake-up and clock: steps, waits, backs off, drains."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable

import pytest

from imago_fed.services.worker import InFlight, Worker, exclusively
from tests.test_architecture import PACKAGE, imports_of


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeWakeup:
    """Records every wait; time passes only through it: a wait nobody wakes lasts
    its whole timeout on the fake clock (and ``block`` real seconds at most, for
    a test that wakes the worker from outside)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.waits: list[float] = []
        self.started = self.stopped = False
        self.block = 0.0
        self._event = asyncio.Event()

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def wait(self, timeout: float) -> None:
        self.waits.append(timeout)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), self.block)
        if not self._event.is_set():
            self.clock.now += timeout
        self._event.clear()
        await asyncio.sleep(0)

    def set(self) -> None:
        self._event.set()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def wakeup(clock: Clock) -> FakeWakeup:
    return FakeWakeup(clock)


async def until(condition: Callable[[], bool], limit: float = 2.0) -> None:
    """Let the worker run until ``condition()`` (bounded: a test never hangs)."""
    async with asyncio.timeout(limit):
        while not condition():
            await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[Worker]:
    worker.start()
    try:
        yield worker
    finally:
        await asyncio.wait_for(worker.stop(), 5)


async def test_it_steps_while_there_is_work_then_waits_the_poll(
    wakeup: FakeWakeup, clock: Clock
) -> None:
    found = [3, 1, 0, 0]
    calls: list[float] = []

    async def step() -> int:
        calls.append(clock.now)
        return found.pop(0) if found else 0

    async with running(Worker("w", step, wakeup, poll_interval=2.0, clock=clock)):
        await until(lambda: len(calls) >= 4)
    assert wakeup.started and wakeup.stopped
    assert calls[:3] == [0.0, 0.0, 0.0]  # no wait while work is found
    assert calls[3] == 2.0 and wakeup.waits[:2] == [2.0, 2.0]


async def test_a_wakeup_that_fails_is_a_poll_not_the_end_of_the_worker(clock: Clock) -> None:
    """The database closing the listener made ``wait`` raise; the worker went on."""

    class BrokenWakeup(FakeWakeup):
        async def wait(self, timeout: float) -> None:
            self.waits.append(timeout)
            raise RuntimeError("the listener's connection was taken back by the pool")

    broken = BrokenWakeup(clock)
    calls = 0

    async def step() -> bool:
        nonlocal calls
        calls += 1
        return False

    async with running(Worker("w", step, broken, poll_interval=0.01, clock=clock)) as worker:
        await until(lambda: calls >= 3)
        assert worker.running
    assert len(broken.waits) >= 2


async def test_a_step_comes_when_it_is_woken(wakeup: FakeWakeup, clock: Clock) -> None:
    calls: list[float] = []

    async def step() -> bool:
        calls.append(clock.now)
        return False

    wakeup.block = 5.0
    async with running(Worker("w", step, wakeup, poll_interval=5.0, clock=clock)) as worker:
        await until(lambda: len(calls) == 1)
        worker.wake()
        await until(lambda: len(calls) == 2)
    assert calls[:2] == [0.0, 0.0]


async def test_next_due_shortens_the_idle_wait_never_beyond_the_poll(
    wakeup: FakeWakeup, clock: Clock
) -> None:
    dues = [0.5, 30.0, None]

    async def next_due() -> float | None:
        return dues.pop(0) if dues else None

    async def step() -> bool:
        return False

    worker = Worker("w", step, wakeup, poll_interval=2.0, next_due=next_due, clock=clock)
    async with running(worker):
        await until(lambda: len(wakeup.waits) >= 3)
    assert wakeup.waits[:3] == [0.5, 2.0, 2.0]


async def test_failures_back_off_doubling_up_to_the_cap_and_success_resets(
    wakeup: FakeWakeup, clock: Clock
) -> None:
    outcomes: list[object] = [OSError("db")] * 6 + [True, OSError("db"), False]
    attempts: list[float] = []

    async def step() -> bool:
        attempts.append(clock.now)
        outcome = outcomes.pop(0) if outcomes else False
        if isinstance(outcome, Exception):
            raise outcome
        return bool(outcome)

    worker = Worker("w", step, wakeup, poll_interval=1.0, backoff_cap=8.0, clock=clock)
    async with running(worker):
        await until(lambda: len(attempts) >= 9)
    pauses = [b - a for a, b in itertools.pairwise(attempts)]
    assert pauses[:8] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 0.0, 1.0]  # capped; reset after success
    assert worker.failures == 0


async def test_a_wakeup_does_not_cut_a_backoff_short(wakeup: FakeWakeup, clock: Clock) -> None:
    attempts: list[float] = []

    async def step() -> bool:
        attempts.append(clock.now)
        wakeup.set()  # a NOTIFY arrives while the database is failing
        raise OSError("db")

    async with running(Worker("w", step, wakeup, poll_interval=1.0, clock=clock)):
        await until(lambda: len(attempts) >= 3)
    assert attempts[:3] == [0.0, 1.0, 3.0]


async def test_stop_lets_the_step_in_flight_finish(wakeup: FakeWakeup) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    finished: list[int] = []

    async def step() -> bool:
        entered.set()
        await release.wait()
        finished.append(1)
        return True  # there would be more: the worker still stops

    worker = Worker("w", step, wakeup, drain_timeout=5.0)
    worker.start()
    await entered.wait()
    stopping = asyncio.create_task(worker.stop())
    await asyncio.sleep(0.01)
    assert not stopping.done()  # draining
    release.set()
    await asyncio.wait_for(stopping, 5)
    assert finished == [1] and not worker.running and wakeup.stopped


async def test_a_drain_that_times_out_cancels_the_step(wakeup: FakeWakeup) -> None:
    cancelled = asyncio.Event()

    async def step() -> bool:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return True

    worker = Worker("w", step, wakeup, drain_timeout=0.05)
    worker.start()
    await asyncio.sleep(0)
    await asyncio.wait_for(worker.stop(), 2)
    assert cancelled.is_set() and wakeup.stopped


async def test_tasks_in_flight_are_drained_and_the_cut_ones_given_back(
    wakeup: FakeWakeup,
) -> None:
    in_flight: InFlight[int] = InFlight(limit=3)
    done: list[int] = []
    given_back: list[list[int]] = []

    async def handle(key: int, seconds: float) -> None:
        await asyncio.sleep(seconds)
        done.append(key)

    async def step() -> int:
        if in_flight.room < 3 or done:
            return 0
        for key, seconds in ((1, 0.0), (2, 0.01), (3, 3600.0)):
            in_flight.spawn(key, handle(key, seconds), name=f"item-{key}")
        return 3

    async def release(keys: list[int]) -> None:
        given_back.append(keys)

    worker = Worker("w", step, wakeup, in_flight=in_flight, release=release, drain_timeout=0.2)
    worker.start()
    await until(lambda: len(in_flight) == 3)
    assert in_flight.room == 0
    await asyncio.wait_for(worker.stop(), 2)
    assert sorted(done) == [1, 2] and given_back == [[3]] and len(in_flight) == 0


async def test_a_warm_up_is_retried_then_ends(wakeup: FakeWakeup, clock: Clock) -> None:
    attempts: list[float] = []

    async def warm_up() -> None:
        attempts.append(clock.now)
        if len(attempts) < 3:
            raise TimeoutError("homeserver starting")

    worker = Worker("w", warm_up, wakeup, once=True, poll_interval=1.0, clock=clock)
    worker.start()
    await until(lambda: not worker.running)
    assert attempts == [0.0, 1.0, 3.0]
    await worker.stop()


async def test_a_bounded_worker_gives_up(wakeup: FakeWakeup, clock: Clock) -> None:
    attempts: list[float] = []

    async def step() -> bool:
        attempts.append(clock.now)
        raise OSError("never")

    worker = Worker("w", step, wakeup, once=True, max_failures=4, clock=clock)
    worker.start()
    await until(lambda: not worker.running)
    assert len(attempts) == 4
    await worker.stop()


class Lock:
    def __init__(self, free: bool) -> None:
        self.free = free
        self.asked: list[str] = []

    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[bool]:
        self.asked.append(name)
        yield self.free


async def test_an_exclusive_step_runs_only_under_the_lock() -> None:
    runs: list[int] = []

    async def decide() -> bool:
        runs.append(1)
        return True

    assert await exclusively(Lock(free=False), "governance", decide)() is False
    assert runs == []
    lock = Lock(free=True)
    assert await exclusively(lock, "governance", decide)() is True
    assert runs == [1] and lock.asked == ["governance"]


async def test_start_and_stop_are_idempotent(wakeup: FakeWakeup) -> None:
    async def step() -> bool:
        return False

    worker = Worker("w", step, wakeup)
    await worker.stop()  # never started: nothing to do
    worker.start()
    worker.start()
    assert worker.running
    await worker.stop()
    await worker.stop()
    assert not worker.running


def test_the_worker_module_knows_no_database() -> None:
    """The wake-up and the lock come in through Protocols; asyncpg stays in store/."""
    names = imports_of(PACKAGE / "services" / "worker.py")
    assert not [n for n in names if n == "asyncpg" or n.startswith(("asyncpg.", "imago_fed.store"))]

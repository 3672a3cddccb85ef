"""Waking workers (store/notify.py): LISTEN/NOTIFY, with the poll when it is lost."""

from __future__ import annotations

import asyncio

import asyncpg

from imago_fed.store.notify import Wakeup

CHANNEL = "imago_test_wakeup"


async def _waited(wakeup: Wakeup, timeout: float) -> float:
    loop = asyncio.get_running_loop()
    start = loop.time()
    await wakeup.wait(timeout)
    return loop.time() - start


async def test_a_notify_from_another_connection_wakes_the_waiter(pool: asyncpg.Pool) -> None:
    wakeup = Wakeup(pool, CHANNEL)
    await wakeup.start()
    try:
        waiting = asyncio.create_task(_waited(wakeup, 30))
        await asyncio.sleep(0.1)
        await pool.execute(f"NOTIFY {CHANNEL}")
        assert await asyncio.wait_for(waiting, 10) < 5
        assert await _waited(wakeup, 0.2) >= 0.2  # the wake-up was used up
    finally:
        await wakeup.stop()


async def test_without_a_notify_the_wait_is_the_poll(pool: asyncpg.Pool) -> None:
    wakeup = Wakeup(pool, CHANNEL)
    await wakeup.start()
    try:
        assert 0.3 <= await _waited(wakeup, 0.3) < 5
        wakeup.set()  # from this process: the worker stops, a task finished
        assert await _waited(wakeup, 30) < 5
    finally:
        await wakeup.stop()


async def test_a_dropped_listener_is_replaced_on_the_next_wait(pool: asyncpg.Pool) -> None:
    wakeup = Wakeup(pool, CHANNEL, relisten_after=0)
    await wakeup.start()
    try:
        await pool.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            " AND pid <> pg_backend_pid()"
        )
        await asyncio.sleep(0.2)
        await wakeup.wait(0.01)  # notices the closed listener and listens again
        waiting = asyncio.create_task(_waited(wakeup, 30))
        await asyncio.sleep(0.1)
        await pool.execute(f"NOTIFY {CHANNEL}")
        assert await asyncio.wait_for(waiting, 10) < 5
    finally:
        await wakeup.stop()

"""The delivery queue and its worker, on PostgreSQL, against real receivers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from imago_fed.activitypub.delivery import Backoff, Outcome, chains, classify
from imago_fed.domain.ports.delivery import Claimed
from imago_fed.store import deliveries
from tests.activitypub.delivery_world import World, make_world, running
from tests.receiver import Reply, Request, receiver
from tests.support import free_port, wait_until


@pytest.fixture
async def world(migrated_db: str, make_settings) -> AsyncIterator[World]:
    settings = make_settings(
        IMAGO_FEDERATION_ALLOW_HTTP="true", IMAGO_FEDERATION_ALLOW_PRIVATE_ADDRESSES="true"
    )
    async with make_world(migrated_db, settings) as w:
        yield w


def settled(world: World, inbox, activity_id: str, state: str):
    """A wait_until predicate that fails fast when a signature did not verify."""

    async def check() -> bool:
        assert inbox.errors == [], inbox.errors
        return all(row["state"] == state for row in await world.rows(activity_id))

    return check


# ------------------------------------------------------------- outcomes
def test_status_classification_and_backoff_schedule() -> None:
    assert classify(202) is Outcome.DELIVERED
    for status in (400, 403, 404, 410, 422):
        assert classify(status) is Outcome.DEAD
    for status in (401, 408, 429, 500, 502, 503, 301):
        assert classify(status) is Outcome.RETRY
    plain = Backoff(jitter=0)
    waits = [plain.delay(n) for n in range(1, 26)]
    assert waits[:3] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    assert max(waits) == timedelta(hours=6)
    total = sum(waits[:24], timedelta())  # the waits between 25 attempts
    assert timedelta(days=3.5) < total < timedelta(days=4.5)
    assert not plain.exhausted(24) and plain.exhausted(25)
    jittered = Backoff()
    assert all(
        timedelta(seconds=24) <= jittered.delay(1) <= timedelta(seconds=36) for _ in range(50)
    )


# ------------------------------------------------------------ delivery
async def test_fan_out_is_signed_by_the_group_and_delivered_once_per_inbox(world: World) -> None:
    inbox_a, inbox_b = world.inbox(), world.inbox()
    async with receiver(inbox_a) as a, receiver(inbox_b) as b, running(world.worker()):
        activity = await world.enqueue(
            [f"{a.base_url}/inbox", f"{a.base_url}/inbox", f"{a.base_url}/users/1/inbox",
             f"{b.base_url}/inbox"]
        )  # fmt: skip
        await wait_until(settled(world, inbox_a, activity, "delivered"), timeout=10)
    assert inbox_a.errors == inbox_b.errors == []
    assert inbox_a.accepted() == {activity: 2} and inbox_b.accepted() == {activity: 1}
    assert sorted(r.target for r in a.requests) == ["/inbox", "/users/1/inbox"]
    assert all(row["attempts"] == 1 and row["last_status"] == 202 for row in await world.rows())


async def test_a_receiver_checking_with_another_key_refuses_and_nothing_counts(
    world: World,
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    wrong_pem = other.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    inbox = world.inbox()
    inbox.public_pem = wrong_pem  # the receiver believes the group has another key
    once = Backoff(max_attempts=1)
    async with receiver(inbox) as rx, running(world.worker(backoff=once)):
        activity = await world.enqueue([f"{rx.base_url}/inbox"])
        await wait_until(lambda: _state_is(world, activity, "dead"), timeout=10)
    assert len(inbox.errors) == 2  # both knocks refused
    assert inbox.accepted() == {}


async def _state_is(world: World, activity: str, state: str) -> bool:
    return all(row["state"] == state for row in await world.rows(activity))


async def test_two_failures_then_success_is_one_delivery_after_three_attempts(
    world: World,
) -> None:
    inbox = world.inbox(script=[500, 500, 202])
    async with receiver(inbox) as rx, running(world.worker()):
        activity = await world.enqueue([f"{rx.base_url}/inbox"])
        await wait_until(settled(world, inbox, activity, "delivered"), timeout=10)
    (row,) = await world.rows(activity)
    assert (row["state"], row["attempts"], row["last_status"]) == ("delivered", 3, 202)
    assert row["last_error"] is None and row["delivered_at"] is not None
    assert [status for _, status in inbox.answers] == [500, 500, 202]
    assert inbox.accepted() == {activity: 1}
    host = await world.pool.fetchrow(
        "SELECT * FROM peer_hosts WHERE host = $1", f"127.0.0.1:{rx.port}"
    )
    assert host["failure_days"] == 0 and not host["unavailable"]  # the success cleared it


async def test_gone_is_dead_at_once(world: World) -> None:
    inbox = world.inbox(script=[410])
    async with receiver(inbox) as rx, running(world.worker()):
        activity = await world.enqueue([f"{rx.base_url}/inbox"])
        await wait_until(settled(world, inbox, activity, "dead"), timeout=10)
        await asyncio.sleep(0.3)  # a few more polls: nothing is retried
    (row,) = await world.rows(activity)
    assert (row["attempts"], row["last_status"], row["last_error"]) == (1, 410, "HTTP 410")
    assert len(inbox.answers) == 1


async def test_retries_end_in_the_dead_letters(world: World) -> None:
    inbox = world.inbox(script=[503] * 10)
    backoff = Backoff(base=timedelta(milliseconds=20), jitter=0, max_attempts=3)
    async with receiver(inbox) as rx, running(world.worker(backoff=backoff)):
        activity = await world.enqueue([f"{rx.base_url}/inbox"])
        await wait_until(settled(world, inbox, activity, "dead"), timeout=10)
    (row,) = await world.rows(activity)
    assert row["attempts"] == 3 and row["last_error"].startswith("gave up after 3 attempts")
    letters = await deliveries.dead_letters(world.pool, limit=10, after=None)
    assert [letter["id"] for letter in letters] == [row["id"]]


async def test_network_errors_are_retried_and_count_against_the_host(world: World) -> None:
    port = free_port()  # nobody listens there
    async with running(world.worker(backoff=Backoff(timedelta(hours=1), jitter=0))):
        activity = await world.enqueue([f"http://127.0.0.1:{port}/inbox"])
        await wait_until(lambda: _attempted(world, activity), timeout=10)
    (row,) = await world.rows(activity)
    assert row["state"] == "queued" and row["attempts"] == 1 and row["locked_until"] is None
    assert "ConnectError" in row["last_error"]
    assert row["next_attempt"] > datetime.now(UTC) + timedelta(minutes=50)
    host = await world.pool.fetchrow(
        "SELECT * FROM peer_hosts WHERE host = $1", f"127.0.0.1:{port}"
    )
    assert host["failure_days"] == 1 and not host["unavailable"]


async def test_a_hosts_rows_go_one_after_another_over_one_connection(world: World) -> None:
    inbox_a, inbox_b = world.inbox(), world.inbox()
    async with receiver(inbox_a) as a, receiver(inbox_b) as b:
        sent = [await world.enqueue([f"{a.base_url}/inbox", f"{b.base_url}/inbox"]) for _ in "xy"]
        async with running(world.worker(chain=2)):
            for activity in sent:
                await wait_until(settled(world, inbox_a, activity, "delivered"), timeout=10)
    assert inbox_a.errors == inbox_b.errors == []  # each POST signed on its own
    assert inbox_a.accepted() == inbox_b.accepted() == {activity: 1 for activity in sent}
    assert (a.accepted, b.accepted) == (1, 1)


async def test_a_network_failure_ends_the_chain_and_the_rest_wait_their_backoff(
    world: World,
) -> None:
    port = free_port()  # nobody listens there
    inbox = f"http://127.0.0.1:{port}/inbox"
    sent = [await world.enqueue([inbox]) for _ in "xy"]
    async with running(world.worker(chain=2, backoff=Backoff(timedelta(hours=1), jitter=0))):
        for activity in sent:
            await wait_until(lambda a=activity: _waiting(world, a), timeout=10)
    first, second = [(await world.rows(activity))[0] for activity in sent]
    assert "ConnectError" in first["last_error"] and first["attempts"] == 1
    # Never sent: no error of its own, and the attempt its claim counted given back.
    assert second["last_error"] is None and second["attempts"] == 0
    for row in (first, second):
        assert row["state"] == "queued" and row["locked_until"] is None
        assert row["next_attempt"] > datetime.now(UTC) + timedelta(minutes=50)
    failures = await world.pool.fetchval(
        "SELECT failure_days FROM peer_hosts WHERE host = $1", f"127.0.0.1:{port}"
    )
    assert failures == 1


async def test_rows_a_host_that_hangs_up_never_got_keep_their_attempt_count(
    world: World,
) -> None:
    """A failing host's unsent rows do not age toward the dead letters: with the
    24th attempt counted for each, the row sent dies (25 attempts), the rest wait."""

    async def hang_up(request: Request) -> Reply:
        raise ConnectionResetError("hung up without an answer")

    async with receiver(hang_up) as peer:
        sent = [await world.enqueue([f"{peer.base_url}/inbox"]) for _ in "xyz"]
        await world.pool.execute("UPDATE deliveries SET attempts = 24")
        worker = world.worker(chain=3, backoff=Backoff(timedelta(hours=1), jitter=0))
        async with running(worker):
            for activity in sent:
                await wait_until(lambda a=activity: _waiting(world, a, "dead"), timeout=10)
    rows = [(await world.rows(activity))[0] for activity in sent]
    assert len(peer.requests) == 1  # one POST: the chain ended there
    assert [(r["state"], r["attempts"]) for r in rows] == [
        ("dead", 25), ("queued", 24), ("queued", 24)
    ]  # fmt: skip
    assert rows[0]["last_error"].startswith("gave up after 25 attempts")
    for row in rows[1:]:
        assert row["locked_until"] is None and row["last_error"] is None
        assert row["next_attempt"] > datetime.now(UTC) + timedelta(minutes=50)


def test_claimed_rows_are_cut_into_chains_within_the_room() -> None:
    def row(n: int, host: str) -> Claimed:
        return Claimed(n, f"a{n}", None, f"https://{host}/inbox", host, "{}", 1, datetime.now(UTC))

    claimed = [row(1, "a"), row(2, "a"), row(3, "a"), row(4, "a"), row(5, "b"), row(6, "c")]
    ids = lambda cut: [[r.id for r in chain] for chain in cut]  # noqa: E731
    assert ids(chains(claimed, room=32, length=2)) == [[1, 3], [2, 4], [5], [6]]
    assert ids(chains(claimed, room=32, length=4)) == [[1, 2, 3, 4], [5], [6]]
    assert ids(chains(claimed, room=3, length=2)) == [[1, 2, 3, 4], [5], [6]]  # room is short
    assert ids(chains(claimed, room=32, length=1)) == [[1], [2], [3], [4], [5], [6]]
    assert chains([], room=4, length=2) == []


async def _attempted(world: World, activity: str) -> bool:
    (row,) = await world.rows(activity)
    return row["last_error"] is not None


async def _waiting(world: World, activity: str, *also: str) -> bool:
    """The row is back from its lease, waiting its backoff (or in one of ``also``)."""
    (row,) = await world.rows(activity)
    if row["state"] in also:
        return True
    return row["locked_until"] is None and row["next_attempt"] > datetime.now(UTC)


async def test_rows_without_a_group_are_signed_by_the_instance_actor(world: World) -> None:
    signer = await world.signers.instance()
    public_pem = await world.pool.fetchval(
        "SELECT public_key_pem FROM instance_keys WHERE name = 'actor'"
    )
    inbox = world.inbox()
    inbox.public_pem, inbox.key_id = public_pem, world.ids.instance_key
    assert signer.key_id == world.ids.instance_key
    async with receiver(inbox) as rx, running(world.worker()):
        activity = await world.enqueue([f"{rx.base_url}/inbox"], group_id=None)
        await wait_until(settled(world, inbox, activity, "delivered"), timeout=10)
    assert inbox.accepted() == {activity: 1}


async def test_per_host_limit_holds(world: World) -> None:
    inbox = world.inbox(delay=0.1)
    async with receiver(inbox) as rx, running(world.worker(per_host=3, chain=1)):
        activities = [await world.enqueue([f"{rx.base_url}/inbox"]) for _ in range(12)]
        for activity in activities:
            await wait_until(settled(world, inbox, activity, "delivered"), timeout=15)
    assert inbox.max_in_flight == 3


async def test_a_full_host_is_claimed_again_once_its_deliveries_are_recorded(
    world: World,
) -> None:
    """Delivered rows keep their leases until their group commit a few ms after
    their chains end: the claim made at the chain's end finds the host full.
    The recording wakes the worker; without it the rest waited for the poll,
    a host's per-host limit at a time (queued before the worker started: no
    NOTIFY comes)."""
    inbox = world.inbox()
    async with receiver(inbox) as rx:
        activities = [await world.enqueue([f"{rx.base_url}/inbox"]) for _ in range(24)]
        async with running(world.worker(per_host=4, chain=2, poll_interval=60.0)):
            for activity in activities:
                await wait_until(settled(world, inbox, activity, "delivered"), timeout=15)
    assert inbox.accepted() == {activity: 1 for activity in activities}


# -------------------------------------------------------- host health
async def test_an_unavailable_host_is_skipped_then_probed(world: World) -> None:
    inbox = world.inbox(script=[500])  # the first probe fails, the second succeeds
    async with receiver(inbox) as rx:
        host = f"127.0.0.1:{rx.port}"
        await world.pool.execute(
            """INSERT INTO peer_hosts (host, failure_days, unavailable, last_failure_at)
               VALUES ($1, 7, true, now())""",
            host,
        )
        async with running(world.worker(probe_interval=timedelta(hours=3))):
            activities = [await world.enqueue([f"{rx.base_url}/inbox"]) for _ in range(3)]
            await asyncio.sleep(1.0)  # five polls
            assert rx.requests == []
            assert [r["attempts"] for r in await world.rows()] == [0, 0, 0]

            # A probe is due: exactly one row goes through, and fails.
            await world.pool.execute(
                "UPDATE peer_hosts SET last_failure_at = now() - interval '4 hours'"
            )
            await wait_until(lambda: _count(rx, 1), timeout=10)
            await asyncio.sleep(0.8)
            assert len(rx.requests) == 1
            still = await world.pool.fetchrow("SELECT * FROM peer_hosts WHERE host = $1", host)
            assert still["unavailable"]
            assert still["last_failure_at"] > datetime.now(UTC) - timedelta(minutes=1)

            # The next probe succeeds: the host is back and everything flows.
            await world.pool.execute(
                "UPDATE peer_hosts SET last_failure_at = now() - interval '4 hours'"
            )
            for activity in activities:
                await wait_until(settled(world, inbox, activity, "delivered"), timeout=10)
    healthy = await world.pool.fetchrow("SELECT * FROM peer_hosts WHERE host = $1", host)
    assert not healthy["unavailable"] and healthy["failure_days"] == 0


async def _count(rx, n: int) -> bool:
    return len(rx.requests) >= n


# ------------------------------------------------------ crash and stop
async def test_a_row_whose_lease_expired_is_delivered_again(world: World) -> None:
    inbox = world.inbox()
    async with receiver(inbox) as rx:
        activity = await world.enqueue([f"{rx.base_url}/inbox"])
        # As a worker killed mid-POST leaves it: attempted, leased, lease run out.
        await world.pool.execute(
            "UPDATE deliveries SET attempts = 1, locked_until = now() - interval '1 second'"
        )
        async with running(world.worker()):
            await wait_until(settled(world, inbox, activity, "delivered"), timeout=10)
    (row,) = await world.rows(activity)
    assert row["attempts"] == 2


async def test_a_live_lease_is_left_alone(world: World) -> None:
    inbox = world.inbox()
    async with receiver(inbox) as rx:
        activity = await world.enqueue([f"{rx.base_url}/inbox"])
        await world.pool.execute("UPDATE deliveries SET locked_until = now() + interval '1 hour'")
        async with running(world.worker()):
            await asyncio.sleep(0.6)
    assert rx.requests == []
    (row,) = await world.rows(activity)
    assert row["state"] == "queued" and row["attempts"] == 0


async def test_stop_drains_in_flight_posts(world: World) -> None:
    inbox = world.inbox(delay=0.5)
    async with receiver(inbox) as rx:
        worker = world.worker()
        worker.start()
        activity = await world.enqueue([f"{rx.base_url}/inbox"])
        await wait_until(lambda: _count(rx, 1), timeout=10)
        await asyncio.wait_for(worker.stop(), 10)
        (row,) = await world.rows(activity)
        assert row["state"] == "delivered"


async def test_a_drain_that_times_out_gives_the_lease_back(world: World) -> None:
    inbox = world.inbox(delay=5)
    async with receiver(inbox) as rx:
        worker = world.worker(drain_timeout=0.2)
        worker.start()
        activity = await world.enqueue([f"{rx.base_url}/inbox"])
        await wait_until(lambda: _count(rx, 1), timeout=10)
        await asyncio.wait_for(worker.stop(), 10)
    (row,) = await world.rows(activity)
    assert row["state"] == "queued" and row["locked_until"] is None and row["attempts"] == 1


async def test_chains_claimed_ahead_are_given_back_on_stop(world: World) -> None:
    inbox = world.inbox(delay=0.5)
    async with receiver(inbox) as rx:
        sent = [await world.enqueue([f"{rx.base_url}/u{n}/inbox"]) for n in range(4)]
        worker = world.worker(global_limit=1, chain=1, per_host=4)
        worker.start()
        await wait_until(lambda: _count(rx, 1), timeout=10)
        await asyncio.wait_for(worker.stop(), 10)  # one POST in flight, three waiting
    rows = [(await world.rows(activity))[0] for activity in sent]
    assert [row["state"] for row in rows].count("delivered") == 1
    assert all(row["locked_until"] is None for row in rows)
    assert len(rx.requests) == 1


async def test_a_chain_that_waited_past_half_its_lease_is_not_started(world: World) -> None:
    """Claimed ahead, then kept waiting (the one slot busy): sending it so late
    could outlive its lease and let another claim send it too."""
    inbox = world.inbox(delay=2.0)
    async with receiver(inbox) as rx:
        sent = [await world.enqueue([f"{rx.base_url}/u{n}/inbox"]) for n in range(3)]
        worker = world.worker(global_limit=1, chain=1, lease=timedelta(seconds=3))
        async with running(worker):
            for activity in sent:
                await wait_until(settled(world, inbox, activity, "delivered"), timeout=30)
    assert inbox.seen() == {activity: 1 for activity in sent}  # none sent twice
    attempts = [(await world.rows(activity))[0]["attempts"] for activity in sent]
    assert max(attempts) >= 2  # one was dropped and claimed again

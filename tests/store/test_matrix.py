"""The Matrix bridge's state (store/matrix.py) in PostgreSQL: transactions stored whole
and once, events claimed per room in order, rooms, members, puppets, bridged messages
and polls."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from imago_fed.domain.lifecycle import IllegalTransition
from imago_fed.store import matrix
from imago_fed.store.matrix import MAX_ATTEMPTS, PgBridgedMessages, PgBridgeInbox, PgBridgeStore
from tests.store.helpers import AddGroup, NoDatabase, add_proposal

# Events become due at the database's now() when stored; claims ask a little later.
NOW = datetime.now(UTC) + timedelta(hours=1)
LEASE = timedelta(minutes=1)
ROOM_A, ROOM_B = "!a:example.org", "!b:example.org"


def _event(n: int, room: str = ROOM_A) -> dict[str, object]:
    return {"event_id": f"$e{n}", "room_id": room, "type": "m.room.message",
            "sender": "@al:example.org", "content": {"body": f"hello {n}"}}  # fmt: skip


async def test_a_transaction_is_stored_whole_once_and_wakes_the_bridge(pool: asyncpg.Pool):
    inbox = PgBridgeInbox(pool)
    woken = asyncio.Event()

    def wake(*_: object) -> None:
        woken.set()

    body = {"events": [_event(1), _event(2, ROOM_B), {"no": "ids"}, "not an event"]}
    async with pool.acquire() as listener:
        await listener.add_listener(matrix.CHANNEL, wake)
        try:
            assert await inbox.store_transaction("txn1", body, NOW)
            await asyncio.wait_for(woken.wait(), 5)
        finally:
            await listener.remove_listener(matrix.CHANNEL, wake)
    assert not await inbox.store_transaction("txn1", body, NOW)  # a replay: nothing new
    assert await inbox.store_transaction("txn2", {"events": [_event(1)]}, NOW)  # a new id
    # A known id with a new event (Synapse restarting its ids): the event is kept.
    assert await inbox.store_transaction("txn1", {"events": [_event(3)]}, NOW)
    events = await pool.fetch("SELECT event_id, room_id FROM matrix_events ORDER BY id")
    assert [(e["event_id"], e["room_id"]) for e in events] == [
        ("$e1", ROOM_A), ("$e2", ROOM_B), ("$e3", ROOM_A),
    ]  # fmt: skip


async def test_events_are_claimed_oldest_first_one_per_room(pool: asyncpg.Pool) -> None:
    inbox = PgBridgeInbox(pool)
    await inbox.store_transaction("t", {"events": [_event(1), _event(2), _event(3, ROOM_B)]}, NOW)
    first = await inbox.claim(limit=10, lease=LEASE, now=NOW)
    assert [(e.room_id, e.event["event_id"], e.attempts) for e in first] == [
        (ROOM_A, "$e1", 1), (ROOM_B, "$e3", 1),
    ]  # fmt: skip
    assert await inbox.claim(limit=10, lease=LEASE, now=NOW) == []  # leased
    # The leases ran out (a worker died): the same events again; $e2 still waits for $e1.
    again = await inbox.claim(limit=10, lease=LEASE, now=NOW + 2 * LEASE)
    assert [(e.event["event_id"], e.attempts) for e in again] == [("$e1", 2), ("$e3", 2)]
    await inbox.finish(again[0].id, "done")
    await inbox.finish(again[1].id, "ignored", "not ours")
    (second,) = await inbox.claim(limit=10, lease=LEASE, now=NOW + 2 * LEASE)
    assert second.event["event_id"] == "$e2"


async def test_a_failing_event_is_retried_then_failed_and_its_room_moves_on(
    pool: asyncpg.Pool,
) -> None:
    inbox = PgBridgeInbox(pool)
    await inbox.store_transaction("t", {"events": [_event(1), _event(2)]}, NOW)
    now = NOW
    for _ in range(MAX_ATTEMPTS):
        claimed = await inbox.claim(limit=1, lease=LEASE, now=now)
        assert [e.event["event_id"] for e in claimed] == ["$e1"]
        await inbox.retry(claimed[0], "homeserver down", now)
        now += timedelta(minutes=11)  # past the longest backoff
    state = await pool.fetchrow("SELECT state, error FROM matrix_events WHERE event_id = '$e1'")
    assert (state["state"], state["error"]) == ("failed", "homeserver down")
    (next_one,) = await inbox.claim(limit=1, lease=LEASE, now=now)
    assert next_one.event["event_id"] == "$e2"
    with pytest.raises(IllegalTransition):
        await inbox.finish(next_one.id, "queued ")


async def test_rooms_members_and_puppets(pool: asyncpg.Pool, add_group: AddGroup) -> None:
    garden, store = await add_group(), PgBridgeStore(pool)
    await store.save_room(garden, "space", ROOM_A, "#_imago_garden:example.org", NOW)
    await store.save_room(garden, "space", ROOM_B, "#other:example.org", NOW)  # kept the first
    await store.save_room(garden, "general", ROOM_B, "#_imago_garden_general:example.org", NOW)
    assert await store.rooms_of(garden) == {"space": ROOM_A, "general": ROOM_B}
    room = await store.room(ROOM_B)
    assert room is not None and (room.group_id, room.kind, room.encrypted) == (garden, "general",
                                                                               False)  # fmt: skip
    assert await store.mark_encrypted(ROOM_B) and not await store.mark_encrypted(ROOM_B)
    assert (await store.room(ROOM_B)).encrypted  # type: ignore[union-attr]
    assert await store.room("!unknown:example.org") is None

    assert await store.set_member(garden, "@kim:example.org", True, NOW, state="knocked")
    assert await store.members(garden, "knocked") == ["@kim:example.org"]
    assert await store.set_member(garden, "@kim:example.org", True, NOW)  # accepted: joined
    assert not await store.set_member(garden, "@kim:example.org", True, NOW)  # no change
    assert await store.members(garden) == ["@kim:example.org"]
    assert await store.set_member(garden, "@kim:example.org", False, NOW)
    assert await store.members(garden) == []

    puppet = "@_imago_abc:example.org"
    assert not await store.puppet_registered(puppet)
    await store.save_puppet(puppet, "https://a.example/users/al", "Al", NOW)
    await store.save_puppet(puppet, "https://a.example/users/al", "Al B.", NOW)
    assert await store.puppet_registered(puppet)
    name = await pool.fetchval("SELECT display_name FROM matrix_puppets WHERE user_id = $1", puppet)
    assert name == "Al B."


async def test_bridged_messages_map_both_ways_once(pool: asyncpg.Pool, add_group: AddGroup):
    garden = await add_group()
    note = "https://a.example/notes/1"
    for db in (pool, pool):  # the second time changes nothing
        await PgBridgedMessages(db).bridge(
            event_id="$e1", room_id=ROOM_A, object_id=note, group_id=garden, origin="fediverse",
            now=NOW,
        )  # fmt: skip
    async with pool.acquire() as conn, conn.transaction():  # inside the caller's transaction
        assert await PgBridgedMessages(conn).bridge(
            event_id="$e2", room_id=ROOM_A, object_id="https://groups.test/n/2",
            group_id=garden, origin="matrix", now=NOW,
        )  # fmt: skip
    store = PgBridgeStore(pool)
    assert await store.event_for_object(note, ROOM_A) == "$e1"
    assert await store.event_for_object(note, ROOM_B) is None
    assert await store.object_for_event("$e2") == ("https://groups.test/n/2", "matrix")
    assert await PgBridgedMessages(pool).object_for_event("$e9") is None


async def test_a_poll_stands_for_one_proposal_and_ends_once(pool: asyncpg.Pool, add_group):
    garden, store = await add_group(), PgBridgeStore(pool)
    proposal = await add_proposal(pool, garden)
    assert await store.poll_of_proposal(proposal) is None
    await store.save_poll(proposal, ROOM_A, "$poll")
    await store.save_poll(proposal, ROOM_A, "$other")  # the first poll stays
    poll = await store.poll_of_proposal(proposal)
    assert poll is not None and (poll.room_id, poll.event_id, poll.ended) == (ROOM_A, "$poll",
                                                                              False)  # fmt: skip
    assert await store.proposal_of_poll("$poll") == proposal
    assert await store.proposal_of_poll("$other") is None
    assert await store.end_poll(proposal) and not await store.end_poll(proposal)
    assert (await store.poll_of_proposal(proposal)).ended  # type: ignore[union-attr]


async def test_a_matrix_event_cannot_end_in_an_undeclared_state() -> None:
    with pytest.raises(IllegalTransition):
        await matrix.finish_event(NoDatabase(), 1, "sent")

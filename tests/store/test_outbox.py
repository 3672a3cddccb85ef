"""What our groups published (store/outbox.py), in PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import asyncpg

from imago_fed.domain.events import GroupEvent, PostRemoved
from imago_fed.domain.ports.federation import Share
from imago_fed.store import outbox
from imago_fed.store.outbox import PgOutbox
from tests.store.helpers import AddGroup

NOW = datetime(2026, 5, 1, tzinfo=UTC)
GROUP = "https://groups.test/groups/garden"
NOTE = {"id": "https://a.example/notes/1", "type": "Note", "actor": "https://a.example/u/al",
        "attributedTo": "https://a.example/u/al"}  # fmt: skip


def _announce(n: int, obj: object = NOTE) -> dict[str, object]:
    return {"id": f"{GROUP}/activities/{n}", "type": "Announce", "actor": GROUP, "object": obj}


async def test_an_activity_is_stored_once_and_served_back(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, box = await add_group(), PgOutbox(pool)
    activity = _announce(1)
    assert await box.add(group_id=garden, activity=activity, object_id=NOTE["id"], public=True,
                         now=NOW)  # fmt: skip
    assert not await box.add(group_id=garden, activity={**activity, "type": "Other"},
                             object_id=None, public=False, now=NOW)  # fmt: skip
    assert await box.get(activity["id"]) == (activity, True)
    assert await box.get(f"{GROUP}/activities/none") is None


async def test_the_outbox_pages_public_activities_newest_first(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, bikes = await add_group("garden"), await add_group("bikes")
    for n in range(5):
        await outbox.add(pool, group_id=garden, activity=_announce(n), object_id=None,
                         public=n != 2, now=NOW)  # fmt: skip
    await outbox.add(pool, group_id=bikes, activity=_announce(9), object_id=None, public=True,
                     now=NOW)  # fmt: skip
    assert await outbox.count(pool, garden) == 4
    assert await outbox.count(pool) == 5
    first = await outbox.page(pool, garden, before=None, limit=2)
    assert [a["id"] for _, a in first] == [_announce(4)["id"], _announce(3)["id"]]
    rest = await outbox.page(pool, garden, before=first[-1][0], limit=10)
    assert [a["id"] for _, a in rest] == [_announce(1)["id"], _announce(0)["id"]]  # 2 is private


async def test_what_a_group_reshared_is_found_by_the_object(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, bikes, box = await add_group("garden"), await add_group("bikes"), PgOutbox(pool)
    await box.add(group_id=garden, activity=_announce(1), object_id=NOTE["id"], public=True,
                  now=NOW)  # fmt: skip
    await box.add(group_id=bikes, activity=_announce(2, NOTE["id"]), object_id=NOTE["id"],
                  public=True, now=NOW)  # fmt: skip
    assert sorted(await box.groups_that_announced(NOTE["id"])) == sorted([garden, bikes])
    assert await box.groups_that_announced("https://a.example/notes/2") == []
    assert await box.announced_author(garden, NOTE["id"]) == NOTE["actor"]
    assert await box.announced_author(bikes, NOTE["id"]) is None  # only the id was announced


async def test_an_object_we_created_is_read_back(pool: asyncpg.Pool, add_group: AddGroup):
    garden = await add_group()
    note = {"id": "https://groups.test/people/hazel/notes/1", "type": "Note", "content": "hi"}
    create = {"id": f"{note['id']}/create", "type": "Create", "object": note}
    await outbox.add(pool, group_id=garden, activity=create, object_id=note["id"], public=True,
                     now=NOW)  # fmt: skip
    assert await outbox.created_object(pool, note["id"]) == note
    assert await outbox.created_object(pool, "https://groups.test/people/hazel/notes/2") is None


async def test_sharing_stores_queues_and_records_in_one_step_and_repeats_nothing(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden = await add_group()
    event = GroupEvent(garden, "activitypub", f"{garden}|Create|x",
                       PostRemoved(NOTE["id"], NOTE["actor"]))  # fmt: skip
    inboxes = ["https://a.example/inbox", "https://b.example/inbox", "not a url",
               "https://a.example/inbox"]  # fmt: skip
    announces = [(_announce(1), NOTE["id"]), (_announce(2, NOTE["id"]), NOTE["id"])]
    listener = await pool.acquire()
    heard: list[str] = []

    def hear(*args: object) -> None:
        heard.append(str(args[2]))

    for channel in ("imago_deliveries", "imago_group_events"):
        await listener.add_listener(channel, hear)
    try:
        shared = await outbox.share(pool, [Share(garden, announces, inboxes, event)], now=NOW)
        assert shared == 2
        # In the order given (the object's Announce after the activity's), public.
        assert [a["id"] for _, a in await outbox.page(pool, garden, before=None, limit=5)] == [
            _announce(2)["id"], _announce(1)["id"]]  # fmt: skip
        rows = await pool.fetch("SELECT activity_id, inbox, host, body FROM deliveries "
                                "ORDER BY activity_id, inbox")  # fmt: skip
        assert [(r["activity_id"], r["inbox"], r["host"]) for r in rows] == [
            (_announce(1)["id"], "https://a.example/inbox", "a.example"),
            (_announce(1)["id"], "https://b.example/inbox", "b.example"),
            (_announce(2)["id"], "https://a.example/inbox", "a.example"),
            (_announce(2)["id"], "https://b.example/inbox", "b.example"),
        ]
        assert json.loads(rows[0]["body"]) == _announce(1)  # the activity as given
        kinds = await pool.fetch("SELECT group_id, kind, dedupe_key FROM group_events")
        assert [tuple(k) for k in kinds] == [(garden, event.kind, event.dedupe_key)]
        await asyncio.sleep(0.1)
        assert sorted(heard) == ["imago_deliveries", "imago_group_events"]

        # Processed again (a crash before its outcome was recorded): nothing twice,
        # nobody woken; a third activity alone is new.
        heard.clear()
        again = [*announces, (_announce(3), NOTE["id"])]
        assert await outbox.share(pool, [Share(garden, again, inboxes, event)], now=NOW) == 1
        assert await pool.fetchval("SELECT count(*) FROM deliveries") == 6
        assert await pool.fetchval("SELECT count(*) FROM group_events") == 1
        await asyncio.sleep(0.1)
        assert heard == ["imago_deliveries"]
        assert await outbox.share(pool, [Share(garden, [(_announce(4), None)], [])], now=NOW) == 1
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 4
        assert await outbox.share(pool, [], now=NOW) == 0
    finally:
        for channel in ("imago_deliveries", "imago_group_events"):
            await listener.remove_listener(channel, hear)
        await pool.release(listener)


async def test_several_shares_go_in_one_statement_each_to_its_own_inboxes(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, bikes = await add_group("garden"), await add_group("bikes")
    bikes_announce = {**_announce(9), "id": "https://groups.test/groups/bikes/activities/9"}
    shares = [
        Share(garden, [(_announce(1), NOTE["id"])], ["https://a.example/inbox"],
              GroupEvent(garden, "activitypub", "g1", PostRemoved(NOTE["id"], NOTE["actor"]))),
        Share(bikes, [(bikes_announce, NOTE["id"])], ["https://b.example/inbox",
                                                      "https://c.example/inbox"]),
        Share(garden, [(_announce(2), NOTE["id"])], [],
              GroupEvent(garden, "activitypub", "g2", PostRemoved(NOTE["id"], NOTE["actor"]))),
    ]  # fmt: skip
    assert await outbox.share(pool, shares, now=NOW) == 3
    rows = await pool.fetch("SELECT group_id, activity_id FROM outbox ORDER BY id")
    assert [tuple(r) for r in rows] == [(garden, _announce(1)["id"]),
                                        (bikes, bikes_announce["id"]),
                                        (garden, _announce(2)["id"])]  # fmt: skip
    queued = await pool.fetch("SELECT group_id, activity_id, inbox FROM deliveries ORDER BY inbox")
    assert [tuple(r) for r in queued] == [
        (garden, _announce(1)["id"], "https://a.example/inbox"),
        (bikes, bikes_announce["id"], "https://b.example/inbox"),
        (bikes, bikes_announce["id"], "https://c.example/inbox"),
    ]
    events = await pool.fetch("SELECT group_id, dedupe_key FROM group_events ORDER BY id")
    assert [tuple(r) for r in events] == [(garden, "g1"), (garden, "g2")]

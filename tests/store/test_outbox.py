"""What our groups published (store/outbox.py), in PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

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

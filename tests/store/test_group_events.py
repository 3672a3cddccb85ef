"""The group event log over PostgreSQL: typed events in, typed events out, and a
reader that passes over rows it cannot read instead of stopping on them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import asyncpg
import pytest

from imago_fed.domain.errors import Unavailable
from imago_fed.domain.events import (
    EventHandlers,
    GroupChanged,
    GroupEvent,
    Kind,
    MemberPosted,
    PostShared,
    handles,
)
from imago_fed.store.group_events import GroupEventReader, PgGroupEventLog
from imago_fed.store.groups import PgGroupRepository
from tests.fakes.web import FixedClock, StaticKeys

NOW = datetime(2026, 3, 1, tzinfo=UTC)
POST = PostShared("https://a.example/n/1", "https://a.example/@al/1", "https://a.example/u/al",
                  "Al", "<p>seeds</p>")  # fmt: skip


async def _group(pool: asyncpg.Pool) -> int:
    from imago_fed.domain.groups import GroupDirectory

    log = PgGroupEventLog(pool, lambda: NOW)
    directory = GroupDirectory(PgGroupRepository(pool), StaticKeys(), FixedClock(NOW), log)
    group = await directory.create("garden", "Garden")  # records group_changed (created)
    assert group.id is not None
    return group.id


async def _raw(pool: asyncpg.Pool, group_id: int, kind: str, key: str, payload: object) -> None:
    """A row as another version (or an older one) of the server wrote it."""
    await pool.execute(
        """
        INSERT INTO group_events (group_id, kind, source, dedupe_key, payload, created_at)
        VALUES ($1, $2, 'elsewhere', $3, $4::jsonb, $5)
        """,
        group_id, kind, key, json.dumps(payload), NOW,
    )  # fmt: skip


class Seen:
    def __init__(self) -> None:
        self.events: list[GroupEvent] = []

    @handles(Kind.GROUP_CHANGED, Kind.POST_SHARED, Kind.MEMBER_POSTED)
    async def keep(self, event: GroupEvent) -> None:
        self.events.append(event)


async def test_typed_events_are_stored_in_the_format_rows_already_have(pool) -> None:
    group_id = await _group(pool)
    await PgGroupEventLog(pool, lambda: NOW).record(GroupEvent(group_id, "activitypub", "p1", POST))
    row = await pool.fetchrow("SELECT kind, payload FROM group_events WHERE dedupe_key = 'p1'")
    assert row["kind"] == "post_shared"
    assert json.loads(row["payload"]) == {
        "object_id": POST.object_id, "url": POST.url, "author_id": POST.author_id,
        "author_name": "Al", "content_html": "<p>seeds</p>", "in_reply_to": "",
        "attachments": [], "author_avatar": "",
    }  # fmt: skip


async def test_the_reader_hands_typed_events_on_and_skips_what_it_cannot_read(pool) -> None:
    group_id = await _group(pool)
    log = PgGroupEventLog(pool, lambda: NOW)
    await _raw(pool, group_id, "room_painted", "unknown", {"colour": "green"})
    await _raw(pool, group_id, "post_shared", "malformed", {"object_id": "only this"})
    await log.record(GroupEvent(group_id, "matrix", "own", MemberPosted("@h:hs", "$1", "!r")))
    old = {**POST.to_payload(), "source": "fediverse"}  # as rows were written before types
    await _raw(pool, group_id, "post_shared", "old", old)
    last = await pool.fetchval("SELECT max(id) FROM group_events")

    seen = Seen()
    reader = GroupEventReader(pool, "test", "matrix", EventHandlers.of(seen))
    assert await reader.run_once()
    assert [e.data for e in seen.events] == [GroupChanged(created=True), POST]
    assert seen.events[1].source == "elsewhere" and seen.events[1].id == last
    cursor = await pool.fetchval("SELECT last_id FROM event_cursors WHERE consumer = 'test'")
    assert cursor == last  # past the unreadable rows and its own event too
    assert not await reader.run_once()


async def test_a_reader_passes_over_kinds_it_has_no_handler_for_without_reading_them(
    pool, caplog
) -> None:
    """Rows of a kind the table does not take are not decoded (a malformed one
    is not even reported), and the cursor moves past them all the same."""
    group_id = await _group(pool)
    await _raw(pool, group_id, "post_shared", "malformed", {"object_id": "only this"})
    await _raw(pool, group_id, "post_shared", "good", POST.to_payload())
    await _raw(
        pool, group_id, "member_posted", "taken", MemberPosted("@h:hs", "$1", "!r").to_payload()
    )
    last = await pool.fetchval("SELECT max(id) FROM group_events")

    taken: list[GroupEvent] = []

    class Members:
        @handles(Kind.MEMBER_POSTED)
        async def keep(self, event: GroupEvent) -> None:
            taken.append(event)

    reader = GroupEventReader(pool, "members", "matrix", EventHandlers.of(Members()))
    assert await reader.run_once()
    assert [e.dedupe_key for e in taken] == ["taken"]
    assert "unreadable group event" not in caplog.text
    cursor = await pool.fetchval("SELECT last_id FROM event_cursors WHERE consumer = 'members'")
    assert cursor == last
    assert not await reader.run_once()


async def test_a_failing_handler_holds_the_cursor_then_gives_up_on_the_event(pool) -> None:
    group_id = await _group(pool)
    attempts: list[int] = []

    class Failing:
        @handles(Kind.GROUP_CHANGED)
        async def fail(self, event: GroupEvent) -> None:
            attempts.append(event.group_id)
            raise OSError("the other network is down")

    reader = GroupEventReader(pool, "flaky", "matrix", EventHandlers.of(Failing()), max_attempts=2)
    with pytest.raises(RuntimeError, match="will retry"):
        await reader.run_once()
    assert await pool.fetchval("SELECT count(*) FROM event_cursors WHERE consumer = 'flaky'") == 0
    assert await reader.run_once()  # the second failure is the last: logged and skipped
    assert attempts == [group_id, group_id]
    assert not await reader.run_once()


async def test_a_network_that_is_away_is_waited_for_however_many_times(pool) -> None:
    """``Unavailable`` (a homeserver down) is not the event's fault: never skipped."""
    group_id = await _group(pool)
    attempts: list[int] = []

    class Away:
        @handles(Kind.GROUP_CHANGED)
        async def send(self, event: GroupEvent) -> None:
            attempts.append(event.group_id)
            if len(attempts) <= 5:
                raise Unavailable("the homeserver does not answer")

    reader = GroupEventReader(pool, "away", "matrix", EventHandlers.of(Away()), max_attempts=2)
    for _ in range(5):  # more times than max_attempts
        with pytest.raises(Unavailable):
            await reader.run_once()
    assert await pool.fetchval("SELECT count(*) FROM event_cursors WHERE consumer = 'away'") == 0
    assert await reader.run_once()  # back: handled, then the cursor moves
    assert attempts == [group_id] * 6
    assert not await reader.run_once()


async def test_the_fediverse_reader_wired_by_the_app_tells_renames_not_creations(
    pool, migrated_db: str, make_settings
) -> None:
    """build_runtime's reader: group_changed of a new group publishes nothing
    (no one follows it yet), a rename an Update of the actor, a deletion a Delete."""
    from imago_fed.app import build_runtime

    rt = build_runtime(make_settings(migrated_db), pool)
    group = await rt.groups.create("garden", "Garden")
    await rt.groups.update("garden", name="Community garden")
    while await rt.member_posts.run_once():
        pass
    await rt.groups.delete("garden")  # (read after this, the rename would find no group)
    while await rt.member_posts.run_once():
        pass
    published = await pool.fetch(
        "SELECT body->>'type' AS type, body->'object' AS object FROM outbox "
        "WHERE group_id = $1 ORDER BY id",
        group.id,
    )
    assert [r["type"] for r in published] == ["Update", "Delete"]
    assert json.loads(published[0]["object"])["name"] == "Community garden"
    assert json.loads(published[1]["object"]) == rt.ids.group("garden")


async def test_the_cursor_moves_once_a_batch_and_stops_before_a_failing_event(
    pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imago_fed.store import group_events

    group_id = await _group(pool)  # event 1: the group's creation
    log = PgGroupEventLog(pool, lambda: NOW)
    for n in range(4):
        await log.record(GroupEvent(group_id, "activitypub", f"p{n}", POST))
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM group_events ORDER BY id")]
    moves: list[int] = []
    advance = group_events.advance

    async def counted(conn: object, consumer: str, last_id: int) -> None:
        moves.append(last_id)
        await advance(conn, consumer, last_id)  # type: ignore[arg-type]

    monkeypatch.setattr(group_events, "advance", counted)
    handled: list[str] = []

    class FailsOnce:
        @handles(Kind.GROUP_CHANGED, Kind.POST_SHARED)
        async def keep(self, event: GroupEvent) -> None:
            if event.dedupe_key == "p2" and "p2" not in handled:
                handled.append("p2")
                raise OSError("down for a moment")
            handled.append(event.dedupe_key)

    reader = GroupEventReader(pool, "batch", "matrix", EventHandlers.of(FailsOnce()))
    with pytest.raises(RuntimeError, match="will retry"):
        await reader.run_once()
    assert moves == [ids[2]]  # past the creation, p0 and p1: not p2
    assert await reader.run_once()
    assert moves == [ids[2], ids[4]]  # p2 again and p3, in one move
    assert handled[-2:] == ["p2", "p3"] and handled.count("p1") == 1

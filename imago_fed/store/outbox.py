"""What our groups published: served at each activity id and in the outbox."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from imago_fed.domain.ports.federation import Share
from imago_fed.store import deliveries, group_events
from imago_fed.store.database import Db

__all__ = [
    "PgOutbox",
    "add",
    "announced_author",
    "announces",
    "count",
    "created_object",
    "get",
    "groups_that_announced",
    "page",
    "share",
]


async def add(
    conn: Db,
    *,
    group_id: int,
    activity: dict[str, Any],
    object_id: str | None,
    public: bool,
    now: datetime,
) -> bool:
    """Store an activity; False if its id was stored already (idempotent)."""
    status = await conn.execute(
        """
        INSERT INTO outbox (group_id, activity_id, type, object_id, body, public, published_at)
        VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7) ON CONFLICT (activity_id) DO NOTHING
        """,
        group_id, activity["id"], activity["type"], object_id, json.dumps(activity), public, now,
    )  # fmt: skip
    return status.endswith(" 1")


_SHARE = f"""
WITH given AS (
    SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[])
                  WITH ORDINALITY AS g(group_id, share, activity_id, type, object_id, body, n)
),
added AS (
    INSERT INTO outbox (group_id, activity_id, type, object_id, body, public, published_at)
    SELECT group_id, activity_id, type, object_id, body::jsonb, true, $7 FROM given ORDER BY n
    ON CONFLICT (activity_id) DO NOTHING
    RETURNING activity_id
),
queued AS (
    INSERT INTO deliveries (activity_id, group_id, inbox, host, body)
    SELECT given.activity_id, given.group_id, t.inbox, t.host, given.body
    FROM added JOIN given USING (activity_id)
    JOIN unnest($8::int[], $9::text[], $10::text[]) AS t(share, inbox, host)
      ON t.share = given.share
    ON CONFLICT (activity_id, inbox) DO NOTHING
    RETURNING 1
),
event AS (
    INSERT INTO group_events (group_id, kind, source, dedupe_key, payload, created_at)
    SELECT group_id, kind, source, dedupe_key, payload::jsonb, $7
    FROM unnest($11::bigint[], $12::text[], $13::text[], $14::text[], $15::text[])
         WITH ORDINALITY AS e(group_id, kind, source, dedupe_key, payload, n)
    ORDER BY n
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING 1
),
counted AS (
    SELECT (SELECT count(*) FROM added) AS added, (SELECT count(*) FROM queued) AS queued,
           (SELECT count(*) FROM event) AS events
)
SELECT added,
       CASE WHEN queued > 0 THEN pg_notify('{deliveries.CHANNEL}', '') END AS deliveries_woken,
       CASE WHEN events > 0 THEN pg_notify('{group_events.CHANNEL}', '') END AS events_woken
FROM counted
"""


async def share(conn: Db, shares: Sequence[Share], *, now: datetime) -> int:
    """Store the shares' public activities (with their object ids), queue each
    new one for its share's inboxes and append the events, in one statement;
    return how many activities were new.

    What re-sharing posts costs the processor: one round trip for all the
    posts of a batch, with no explicit transaction (a statement is atomic),
    where storing each activity, queueing its deliveries, waking the delivery
    workers and recording the event took eight or more a post. As with
    ``add`` and ``deliveries.enqueue``, a repeat is harmless: an activity
    stored before is skipped with its deliveries, an event recorded before is
    not recorded again (a row processed twice after a crash publishes nothing
    twice). Activities are stored in the order given.
    """
    groups, indexes, ids, types, objects, bodies = [], [], [], [], [], []
    target_index, target_inbox, target_host = [], [], []
    event_groups, kinds, sources, keys, payloads = [], [], [], [], []
    for index, given in enumerate(shares):
        for activity, object_id in given.activities:
            groups.append(given.group_id)
            indexes.append(index)
            ids.append(activity["id"])
            types.append(activity["type"])
            objects.append(object_id)
            bodies.append(json.dumps(activity, ensure_ascii=False))
        for inbox, host in deliveries.delivery_targets(given.inboxes).items():
            target_index.append(index)
            target_inbox.append(inbox)
            target_host.append(host)
        if given.event is not None:
            event_groups.append(given.event.group_id)
            kinds.append(str(given.event.kind))
            sources.append(given.event.source)
            keys.append(given.event.dedupe_key)
            payloads.append(json.dumps(given.event.data.to_payload()))
    if not ids and not keys:
        return 0
    added = await conn.fetchval(
        _SHARE,
        groups, indexes, ids, types, objects, bodies, now, target_index, target_inbox,
        target_host, event_groups, kinds, sources, keys, payloads,
    )  # fmt: skip
    return int(added)


async def get(conn: Db, activity_id: str) -> tuple[dict[str, Any], bool] | None:
    """The stored activity and whether it is public."""
    row = await conn.fetchrow("SELECT body, public FROM outbox WHERE activity_id = $1", activity_id)
    return (json.loads(row["body"]), row["public"]) if row else None


async def count(conn: Db, group_id: int | None = None) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM outbox WHERE public AND ($1::bigint IS NULL OR group_id = $1)",
        group_id,
    )


async def page(conn: Db, group_id: int, *, before: int | None, limit: int) -> list[tuple[int, Any]]:
    """Newest first: (row id, activity) pairs; ``before`` is a row id cursor."""
    rows = await conn.fetch(
        """
        SELECT id, body FROM outbox
        WHERE group_id = $1 AND public AND ($2::bigint IS NULL OR id < $2)
        ORDER BY id DESC LIMIT $3
        """,
        group_id, before, limit,
    )  # fmt: skip
    return [(row["id"], json.loads(row["body"])) for row in rows]


async def groups_that_announced(conn: Db, object_id: str) -> list[int]:
    """Groups that re-shared this object: they forward its updates and deletes."""
    rows = await conn.fetch(
        "SELECT DISTINCT group_id FROM outbox WHERE object_id = $1 AND type = 'Announce'",
        object_id,
    )
    return [row["group_id"] for row in rows]


async def announced_author(conn: Db, group_id: int, object_id: str) -> str | None:
    """The actor whose post the group re-shared as ``object_id`` (None if it did not)."""
    return await conn.fetchval(
        """
        SELECT body->'object'->>'actor' FROM outbox
        WHERE group_id = $1 AND object_id = $2 AND type = 'Announce'
          AND jsonb_typeof(body->'object') = 'object'
        LIMIT 1
        """,
        group_id,
        object_id,
    )


async def created_object(conn: Db, object_id: str) -> dict[str, Any] | None:
    """An object our instance created (a bridged member's Note), as last stored."""
    body = await conn.fetchval(
        """
        SELECT body FROM outbox WHERE object_id = $1 AND type = 'Create' AND public
        ORDER BY id LIMIT 1
        """,
        object_id,
    )
    return json.loads(body)["object"] if body else None


async def announces(conn: Db, group_id: int, object_id: str) -> list[dict[str, Any]]:
    """The group's Announces of ``object_id`` (what a take-down undoes), oldest first."""
    rows = await conn.fetch(
        "SELECT body FROM outbox WHERE group_id = $1 AND object_id = $2 AND type = 'Announce' "
        "ORDER BY id",
        group_id,
        object_id,
    )
    return [json.loads(row["body"]) for row in rows]


class PgOutbox:
    """Implements :class:`imago_fed.domain.ports.federation.Outbox`."""

    def __init__(self, db: Db) -> None:
        self._db = db

    async def add(
        self,
        *,
        group_id: int,
        activity: dict[str, Any],
        object_id: str | None,
        public: bool,
        now: datetime,
    ) -> bool:
        return await add(
            self._db, group_id=group_id, activity=activity, object_id=object_id, public=public,
            now=now,
        )  # fmt: skip

    async def get(self, activity_id: str) -> tuple[dict[str, Any], bool] | None:
        return await get(self._db, activity_id)

    async def groups_that_announced(self, object_id: str) -> list[int]:
        return await groups_that_announced(self._db, object_id)

    async def announces(self, group_id: int, object_id: str) -> list[dict[str, Any]]:
        return await announces(self._db, group_id, object_id)

    async def announced_author(self, group_id: int, object_id: str) -> str | None:
        return await announced_author(self._db, group_id, object_id)

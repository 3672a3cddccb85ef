"""Publishing what a group emits: store it, queue one delivery per inbox.

Both happen in one transaction, so an activity is either in the outbox with
all its deliveries queued, or nowhere: a crash in between loses nothing and
sends nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import asyncpg

from imago_fed.store import deliveries, follows, outbox

__all__ = ["publish", "publish_to_followers"]


async def publish(
    conn: asyncpg.Connection,
    *,
    group_id: int,
    activity: dict[str, Any],
    inboxes: Iterable[str],
    object_id: str | None = None,
    public: bool = True,
    now: datetime,
) -> bool:
    """Store and queue ``activity``; False if it had been published before."""
    async with conn.transaction():
        if not await outbox.add(
            conn, group_id=group_id, activity=activity, object_id=object_id, public=public, now=now
        ):
            return False
        await deliveries.enqueue(
            conn,
            activity_id=activity["id"],
            group_id=group_id,
            body=json.dumps(activity, ensure_ascii=False),
            inboxes=inboxes,
        )
    return True


async def publish_to_followers(
    conn: asyncpg.Connection,
    *,
    group_id: int,
    activity: dict[str, Any],
    object_id: str | None,
    also: Iterable[str] = (),
    exclude_actor: str | None = None,
    now: datetime,
) -> bool:
    """Publish to every accepted follower (one POST per shared inbox)."""
    inboxes = await follows.follower_delivery_inboxes(conn, group_id, exclude=exclude_actor)
    return await publish(
        conn,
        group_id=group_id,
        activity=activity,
        inboxes=[*inboxes, *also],
        object_id=object_id,
        now=now,
    )

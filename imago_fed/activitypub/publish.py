"""Publishing what a group emits: store it, queue one delivery per inbox.

Both happen in one transaction, so an activity is either in the outbox with
all its deliveries queued, or nowhere: a crash in between loses nothing and
sends nothing twice. Called with repositories already inside a transaction,
the pair becomes a savepoint of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from imago_fed.domain.ports.federation import Federation

__all__ = ["publish", "publish_all", "publish_to_followers"]


async def publish(
    fed: Federation,
    *,
    group_id: int,
    activity: dict[str, Any],
    inboxes: Iterable[str],
    object_id: str | None = None,
    public: bool = True,
    now: datetime,
) -> bool:
    """Store and queue ``activity``; False if it had been published before."""
    async with fed.transaction() as tx:
        if not await tx.outbox.add(
            group_id=group_id, activity=activity, object_id=object_id, public=public, now=now
        ):
            return False
        await tx.deliveries.enqueue(
            activity_id=activity["id"],
            group_id=group_id,
            body=json.dumps(activity, ensure_ascii=False),
            inboxes=inboxes,
        )
    return True


async def publish_to_followers(
    fed: Federation,
    *,
    group_id: int,
    activity: dict[str, Any],
    object_id: str | None,
    also: Iterable[str] = (),
    exclude_actor: str | None = None,
    now: datetime,
) -> bool:
    """Publish to every accepted follower (one POST per shared inbox)."""
    inboxes = await fed.follows.follower_delivery_inboxes(group_id, exclude=exclude_actor)
    return await publish(
        fed,
        group_id=group_id,
        activity=activity,
        inboxes=[*inboxes, *also],
        object_id=object_id,
        now=now,
    )


async def publish_all(
    fed: Federation,
    *,
    group_id: int,
    activities: Sequence[tuple[dict[str, Any], str | None]],
    inboxes: Sequence[str],
    now: datetime,
) -> int:
    """Store and queue several public activities (with their object ids) for the
    same inboxes, in one transaction; return how many were new.

    What a re-shared post costs: its two Announces in one transaction, not
    two (each a BEGIN, its statements and a COMMIT), and the inboxes read
    once. One published before (the row processed again) is skipped alone.
    """
    new = 0
    async with fed.transaction() as tx:
        for activity, object_id in activities:
            if not await tx.outbox.add(
                group_id=group_id, activity=activity, object_id=object_id, public=True, now=now
            ):
                continue
            await tx.deliveries.enqueue(
                activity_id=activity["id"],
                group_id=group_id,
                body=json.dumps(activity, ensure_ascii=False),
                inboxes=inboxes,
            )
            new += 1
    return new

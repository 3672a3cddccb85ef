"""The federation repositories as one bundle (``ports.federation.Federation``).

Over the pool each call is its own statement; ``transaction()`` hands out the
same repositories bound to one connection inside a transaction, so the
ActivityPub adapter can store an activity with all its deliveries (or a
follow with its Accept) atomically without ever holding a connection::

    fed = PgFederation(pool, clock.now)
    async with fed.transaction() as tx:        # acquire + BEGIN
        await tx.outbox.add(...)
        await tx.deliveries.enqueue(...)       # COMMIT on exit, ROLLBACK on error
        async with tx.transaction() as inner:  # nested: a SAVEPOINT
            ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg

from imago_fed.domain.ports.federation import Share
from imago_fed.store import follows, outbox
from imago_fed.store.deliveries import PgDeliveries
from imago_fed.store.follows import PgFollows
from imago_fed.store.group_events import PgGroupEventLog
from imago_fed.store.inbox import PgInbox
from imago_fed.store.matrix import PgBridgedMessages
from imago_fed.store.moderation import PgFederationModeration
from imago_fed.store.outbox import PgOutbox
from imago_fed.store.peer_hosts import PgPeerHosts
from imago_fed.store.people import PgLocalPeople
from imago_fed.store.remote_actors import PgRemoteActors

__all__ = ["PgFederation"]


class PgFederation:
    """Implements :class:`imago_fed.domain.ports.federation.Federation`."""

    def __init__(
        self, db: asyncpg.Pool | asyncpg.Connection, clock: Callable[[], datetime]
    ) -> None:
        self._db, self._clock = db, clock
        self.inbox = PgInbox(db)
        self.follows = PgFollows(db)
        self.outbox = PgOutbox(db)
        self.deliveries = PgDeliveries(db)
        self.peer_hosts = PgPeerHosts(db)
        self.remote_actors = PgRemoteActors(db)
        self.moderation = PgFederationModeration(db)
        self.people = PgLocalPeople(db)
        self.bridged = PgBridgedMessages(db)
        self.events = PgGroupEventLog(db, clock)

    async def share(self, shares: Sequence[Share], *, now: datetime) -> int:
        return await outbox.share(self._db, shares, now=now)

    async def standing(self, group_id: int, actor_uri: str, host: str) -> tuple[bool, bool]:
        return await follows.standing(self._db, group_id, actor_uri, host)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgFederation]:
        if isinstance(self._db, asyncpg.Pool):
            async with self._db.acquire() as conn, conn.transaction():
                yield PgFederation(conn, self._clock)
        else:
            async with self._db.transaction():
                yield self

"""Shared setup for delivery tests: a database with a group, and verifying inboxes.

Receivers check every POST's signature against the group's public key as
stored in the ``groups`` table, so a delivery signed with anything else is
recorded as an error (and answered 401) instead of counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import asyncpg

from imago_fed.activitypub.delivery import Backoff, DeliveryWorker, WorkerConfig
from imago_fed.activitypub.http import FediClient
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.keys import KeyVault, RsaKeyPairFactory, instance_secret
from imago_fed.activitypub.signatures import SignatureError
from imago_fed.activitypub.signers import Signers
from imago_fed.config import Settings
from imago_fed.domain.clock import SystemClock
from imago_fed.domain.groups import GroupDirectory
from imago_fed.store import deliveries
from imago_fed.store.federation import PgFederation
from imago_fed.store.groups import PgGroupRepository
from imago_fed.store.instance_keys import PgSigningKeys
from imago_fed.store.notify import Wakeup
from imago_fed.store.peer_hosts import PgPeerHosts
from tests.receiver import Reply, Request

#: Short waits so the tests run in seconds; every knob is a parameter, no clock is patched.
FAST = WorkerConfig(
    poll_interval=0.2,
    lease=timedelta(seconds=5),
    drain_timeout=5,
    backoff=Backoff(base=timedelta(milliseconds=50), jitter=0),
)


class Inbox:
    """A receiver handler that verifies signatures and answers from a script."""

    def __init__(
        self, public_pem: str, key_id: str, script: Iterable[int] = (), delay: float = 0.0
    ) -> None:
        self.public_pem, self.key_id = public_pem, key_id
        self.script = list(script)
        self.delay = delay
        self.errors: list[str] = []
        self.answers: list[tuple[str, int]] = []  # (activity id, status)
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, request: Request) -> Reply:
        try:
            _, key_id = request.verify(self.public_pem)
            if key_id != self.key_id:
                raise SignatureError(f"signed by {key_id}, expected {self.key_id}")
        except SignatureError as exc:
            self.errors.append(str(exc))
            return Reply(401)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            status = self.script.pop(0) if self.script else 202
            self.answers.append((json.loads(request.body)["id"], status))
            return Reply(status)
        finally:
            self.in_flight -= 1

    def seen(self) -> Counter[str]:
        return Counter(activity for activity, _ in self.answers)

    def accepted(self) -> Counter[str]:
        return Counter(activity for activity, status in self.answers if 200 <= status < 300)


@dataclass
class World:
    dsn: str
    pool: asyncpg.Pool
    settings: Settings
    http: FediClient
    signers: Signers
    ids: Ids
    group_id: int
    slug: str
    public_pem: str
    config: WorkerConfig = field(default=FAST)

    def inbox(self, script: Iterable[int] = (), delay: float = 0.0) -> Inbox:
        return Inbox(self.public_pem, self.ids.group_key(self.slug), script, delay)

    def worker(self, **overrides: Any) -> DeliveryWorker:
        return DeliveryWorker(
            PgFederation(self.pool, SystemClock().now),
            Wakeup(self.pool, deliveries.CHANNEL),
            self.http,
            self.signers,
            replace(self.config, **overrides),
        )

    async def enqueue(self, inboxes: Iterable[str], *, group_id: int | None = -1) -> str:
        activity_id = self.ids.new_activity()
        body = {"id": activity_id, "type": "Announce", "actor": self.ids.group(self.slug)}
        async with self.pool.acquire() as conn, conn.transaction():
            await deliveries.enqueue(
                conn,
                activity_id=activity_id,
                group_id=self.group_id if group_id == -1 else group_id,
                body=json.dumps(body),
                inboxes=inboxes,
            )
        return activity_id

    async def rows(self, activity_id: str | None = None) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "SELECT * FROM deliveries WHERE $1::text IS NULL OR activity_id = $1 ORDER BY id",
            activity_id,
        )

    async def states(self) -> Counter[str]:
        return Counter(row["state"] for row in await self.rows())


@contextlib.asynccontextmanager
async def make_world(dsn: str, settings: Settings) -> AsyncIterator[World]:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10)
    vault = KeyVault(instance_secret(settings))
    keys = RsaKeyPairFactory(vault)
    ids = Ids(settings.instance.base_url)
    slug = f"g{uuid.uuid4().hex[:8]}"
    await GroupDirectory(PgGroupRepository(pool), keys, SystemClock()).create(slug, "Garden", "")
    row = await pool.fetchrow("SELECT id, public_key_pem FROM groups WHERE slug = $1", slug)
    http = FediClient(settings, schemes=PgPeerHosts(pool))
    try:
        yield World(
            dsn=dsn,
            pool=pool,
            settings=settings,
            http=http,
            signers=Signers(PgSigningKeys(pool), vault, ids, keys),
            ids=ids,
            group_id=row["id"],
            slug=slug,
            public_pem=row["public_key_pem"],
        )
    finally:
        await http.aclose()
        await pool.close()


@contextlib.asynccontextmanager
async def running(worker: DeliveryWorker) -> AsyncIterator[DeliveryWorker]:
    worker.start()
    try:
        yield worker
    finally:
        await asyncio.wait_for(worker.stop(), 30)

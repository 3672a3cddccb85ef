"""The admin repositories (store/admin.py) against PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from imago_fed.domain.groups import Group, KeyPair
from imago_fed.store import deliveries, matrix, migrations
from imago_fed.store.admin import (
    PgDeliveryAdmin,
    PgFederationAdminReads,
    PgModerationRecords,
    PgSchemaProbe,
)
from imago_fed.store.groups import PgGroupRepository
from imago_fed.store.inbox import PgInbox

NOW = datetime.now(UTC)


async def _group(pool: asyncpg.Pool) -> int:
    group = await PgGroupRepository(pool).add(
        Group("garden", "Garden", "", NOW, KeyPair("PEM", b"sealed"))
    )
    assert group.id is not None
    return group.id


async def test_blocks_and_moderators(pool: asyncpg.Pool) -> None:
    garden = await _group(pool)
    records = PgModerationRecords(pool)
    block_id = await records.add_block(
        group_id=garden, kind="domain", value="spam.example", reason="spam", now=NOW
    )
    [listed] = await records.list_blocks()
    assert (listed["id"], listed["group"], listed["value"]) == (block_id, "garden", "spam.example")
    assert await records.remove_block(block_id)
    assert not await records.remove_block(block_id)
    assert await records.list_reports() == []
    assert await records.set_moderator(garden, "@ann:m.test", True, NOW)
    assert not await records.set_moderator(garden, "@ann:m.test", True, NOW)


async def test_received_and_matrix_members(pool: asyncpg.Pool) -> None:
    garden = await _group(pool)
    reads = PgFederationAdminReads(pool)
    activity = {"id": "https://a.test/act/1", "type": "Follow", "actor": "https://a.test/u"}
    await PgInbox(pool).store(
        activity=activity, actor_uri="https://a.test/u", group_id=garden, now=NOW
    )
    [row] = await reads.received(garden)
    assert (row["id"], row["type"], row["activity"]) == (activity["id"], "Follow", activity)
    await matrix.set_member(pool, garden, "@bob:m.test", True, NOW, state="knocked")
    assert await reads.matrix_members(garden, "knocked") == ["@bob:m.test"]
    assert await reads.matrix_members(garden) == []


async def test_delivery_queue_and_peers(pool: asyncpg.Pool) -> None:
    garden = await _group(pool)
    admin = PgDeliveryAdmin(pool)
    await deliveries.enqueue(pool, activity_id="https://g.test/a/1", group_id=garden,
                             body="{}", inboxes=["https://peer.test/inbox"])  # fmt: skip
    assert (await admin.stats())["queued"] == 1
    await pool.execute("UPDATE deliveries SET state = 'dead'")
    [dead] = await admin.dead_letters(limit=10, after=None)
    assert dead["group_slug"] == "garden"
    assert (await admin.retry(dead["id"]))["state"] == "queued"
    assert await admin.retry(dead["id"] + 1) is None
    assert await admin.peers(limit=10, after=None) == []
    assert not await admin.reset_peer("peer.test")


async def test_schema_probe_compares_the_database_with_the_code(pool: asyncpg.Pool) -> None:
    probe = PgSchemaProbe(pool)
    assert probe.expected() == migrations.head_revision()
    assert await probe.current() == probe.expected()

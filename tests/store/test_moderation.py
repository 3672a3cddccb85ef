"""Blocks, blocks placed on us, reports and moderators (store/moderation.py) in PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from imago_fed.store import moderation
from imago_fed.store.moderation import PgFederationModeration, PgGroupBlocks
from tests.store.helpers import AddGroup

NOW = datetime(2026, 5, 1, tzinfo=UTC)
AL = "https://a.example/users/al"


async def test_a_domain_block_covers_its_subdomains_and_not_lookalikes(pool: asyncpg.Pool):
    mod = PgFederationModeration(pool)
    await moderation.add_block(pool, group_id=None, kind="domain", value="spam.example",
                               reason="spam", now=NOW)  # fmt: skip
    assert await mod.is_blocked(None, "https://spam.example/u/x", "spam.example")
    assert await mod.is_blocked(None, "https://a.spam.example/u/x", "a.spam.example")
    assert not await mod.is_blocked(None, "https://notspam.example/u/x", "notspam.example")
    assert not await mod.is_blocked(None, "https://spam.example.org/u/x", "spam.example.org")


async def test_a_group_block_holds_for_that_group_only(pool: asyncpg.Pool, add_group: AddGroup):
    garden, bikes = await add_group("garden"), await add_group("bikes")
    mod = PgFederationModeration(pool)
    await moderation.add_block(pool, group_id=garden, kind="actor", value=AL, reason="",
                               now=NOW)  # fmt: skip
    assert await mod.is_blocked(garden, AL, "a.example")
    assert not await mod.is_blocked(bikes, AL, "a.example")
    assert not await mod.is_blocked(None, AL, "a.example")  # not instance-wide


async def test_blocks_are_listed_updated_once_and_removed(pool: asyncpg.Pool, add_group: AddGroup):
    garden = await add_group()
    first = await moderation.add_block(pool, group_id=garden, kind="actor", value=AL,
                                       reason="rude", now=NOW)  # fmt: skip
    again = await moderation.add_block(pool, group_id=garden, kind="actor", value=AL,
                                       reason="very rude", now=NOW)  # fmt: skip
    assert again == first
    listed = await moderation.list_blocks(pool)
    assert listed == [{"id": first, "group": "garden", "kind": "actor", "value": AL,
                       "reason": "very rude", "created_at": NOW.isoformat()}]  # fmt: skip
    assert await moderation.remove_block(pool, first)
    assert not await moderation.remove_block(pool, first)
    assert await moderation.list_blocks(pool) == []


async def test_a_decision_places_and_lifts_a_group_block(pool: asyncpg.Pool, add_group: AddGroup):
    garden, blocks = await add_group(), PgGroupBlocks(pool)
    await blocks.add(garden, "domain", "spam.example", reason="decided", now=NOW)
    assert await moderation.is_blocked(pool, garden, "https://spam.example/u", "spam.example")
    assert await blocks.remove(garden, "domain", "spam.example")
    assert not await blocks.remove(garden, "domain", "spam.example")
    assert not await moderation.is_blocked(pool, garden, "https://spam.example/u", "spam.example")


async def test_a_report_is_kept_once_per_flag(pool: asyncpg.Pool, add_group: AddGroup) -> None:
    garden, mod = await add_group(), PgFederationModeration(pool)
    flag = {"id": "https://a.example/flags/1", "type": "Flag", "content": "spam"}
    for _ in range(2):
        await mod.add_report(group_id=garden, reporter=AL, activity=flag, content="spam",
                             objects=["https://b.example/n/1"], now=NOW)  # fmt: skip
    reports = await moderation.list_reports(pool)
    assert [(r["group"], r["reporter"], r["content"], r["objects"]) for r in reports] == [
        ("garden", AL, "spam", ["https://b.example/n/1"])
    ]


async def test_moderators_are_added_and_removed_once(pool: asyncpg.Pool, add_group: AddGroup):
    garden, mod = await add_group(), PgFederationModeration(pool)
    assert await mod.set_moderator(garden, "@hazel:example.org", True, NOW)
    assert not await mod.set_moderator(garden, "@hazel:example.org", True, NOW)
    assert await moderation.moderators(pool, garden) == ["@hazel:example.org"]
    assert await moderation.is_moderator(pool, garden, "@hazel:example.org")
    assert await mod.set_moderator(garden, "@hazel:example.org", False, NOW)
    assert not await mod.set_moderator(garden, "@hazel:example.org", False, NOW)
    assert not await moderation.is_moderator(pool, garden, "@hazel:example.org")

"""PgFederationReads against PostgreSQL: the public endpoints' read model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from imago_fed.domain.groups import Group, KeyPair
from imago_fed.domain.ports.federation_reads import FollowingEntry, LocalPerson
from imago_fed.store import follows, moderation, outbox, people
from imago_fed.store.federation_reads import PgFederationReads
from imago_fed.store.groups import PgGroupRepository

NOW = datetime.now(UTC)


async def _group(pool: asyncpg.Pool, slug: str) -> int:
    group = await PgGroupRepository(pool).add(
        Group(slug, slug.title(), "", NOW, KeyPair("PEM", b"sealed"))
    )
    assert group.id is not None
    return group.id


async def test_outbox_counts_pages_and_objects(pool: asyncpg.Pool) -> None:
    garden, bikes = await _group(pool, "garden"), await _group(pool, "bikes")
    reads = PgFederationReads(pool)
    for n in range(3):
        activity = {"id": f"https://g.test/activities/{n}", "type": "Create",
                    "object": {"id": f"https://g.test/notes/{n}", "type": "Note"}}  # fmt: skip
        await outbox.add(pool, group_id=garden, activity=activity,
                         object_id=activity["object"]["id"], public=n != 2, now=NOW)  # fmt: skip
    old = {"id": "https://g.test/activities/old", "type": "Announce"}
    await outbox.add(pool, group_id=bikes, activity=old, object_id=None, public=True,
                     now=NOW - timedelta(days=100))  # fmt: skip

    assert await reads.public_activity_count() == 3
    assert await reads.public_activity_count(garden) == 2
    assert (await reads.active_groups()).month == 1
    assert (await reads.active_groups()).halfyear == 2
    page = await reads.outbox_page(garden, before=None, limit=1)
    assert [a["id"] for _, a in page] == ["https://g.test/activities/1"]
    older = await reads.outbox_page(garden, before=page[0][0], limit=5)
    assert [a["id"] for _, a in older] == ["https://g.test/activities/0"]
    assert await reads.activity("https://g.test/activities/2") == (
        {"id": "https://g.test/activities/2", "type": "Create",
         "object": {"id": "https://g.test/notes/2", "type": "Note"}},
        False,
    )  # fmt: skip
    assert (await reads.created_object("https://g.test/notes/0")) == {
        "id": "https://g.test/notes/0", "type": "Note"
    }  # fmt: skip
    assert await reads.created_object("https://g.test/notes/2") is None  # not public


async def test_followers_following_moderators_and_people(pool: asyncpg.Pool) -> None:
    garden = await _group(pool, "garden")
    reads = PgFederationReads(pool)
    for actor, state in [("https://a.test/1", "accepted"), ("https://a.test/2", "pending"),
                         ("https://a.test/3", "accepted")]:  # fmt: skip
        await follows.add_follower(pool, garden, actor, actor + "#f", state, NOW)
    await follows.set_following(pool, garden, "https://b.test/g", "https://g.test/f/1", NOW)
    await moderation.set_moderator(pool, garden, "@ann:m.test", True, NOW)
    await people.create(pool, user_id="@ann:m.test", base="ann", display_name="Ann",
                        public_pem="PEM", sealed_private=b"s", now=NOW)  # fmt: skip

    assert await reads.follower_count(garden) == 2
    assert await reads.followers(garden, limit=1, offset=1) == ["https://a.test/3"]
    assert await reads.followers(garden, state="pending") == ["https://a.test/2"]
    assert await reads.following(garden) == [
        FollowingEntry("https://b.test/g", "requested", "https://g.test/f/1")
    ]
    assert await reads.moderators(garden) == ["@ann:m.test"]
    assert await reads.is_moderator(garden, "@ann:m.test")
    assert not await reads.is_moderator(garden, "https://a.test/1")
    ann = LocalPerson("@ann:m.test", "ann", "Ann", "PEM")
    assert await reads.person_by_username("ann") == ann
    assert await reads.person_of_member("@ann:m.test") == ann
    assert await reads.person_by_username("bob") is None

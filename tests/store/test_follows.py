"""Followers of our groups and the groups' own follows (store/follows.py) in PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from imago_fed.domain.lifecycle import IllegalTransition
from imago_fed.domain.ports.federation import RemoteActor
from imago_fed.store import follows
from imago_fed.store.follows import PgFollows
from imago_fed.store.moderation import add_block, set_blocked_by
from imago_fed.store.remote_actors import PgRemoteActors
from tests.store.helpers import AddGroup, NoDatabase

NOW = datetime(2026, 5, 1, tzinfo=UTC)
AL, BO, CY = (f"https://{h}.example/users/{n}" for h, n in (("a", "al"), ("b", "bo"), ("c", "cy")))


async def _actor(pool: asyncpg.Pool, uri: str, shared: str | None) -> None:
    host = uri.split("/")[2]
    actor = RemoteActor(uri, host, "Person", None, None, f"{uri}/inbox", shared, None, None, NOW)
    await PgRemoteActors(pool).upsert(actor, {"id": uri})


async def test_a_pending_follower_counts_once_accepted(pool: asyncpg.Pool, add_group: AddGroup):
    garden, fol = await add_group(manual=True), PgFollows(pool)
    await fol.add_follower(garden, AL, "https://a.example/f/1", "pending", NOW)
    assert not await fol.is_follower(garden, AL)
    assert await follows.followers(pool, garden, state="pending") == [AL]
    assert await follows.count_followers(pool, garden) == 0

    assert await fol.accept_follower(garden, AL) == "https://a.example/f/1"
    assert await fol.accept_follower(garden, AL) is None  # no longer pending
    assert await fol.is_follower(garden, AL)
    assert await follows.count_followers(pool, garden) == 1


async def test_a_repeated_follow_refreshes_its_id_and_never_demotes(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, fol = await add_group(), PgFollows(pool)
    await fol.add_follower(garden, AL, "https://a.example/f/1", "accepted", NOW)
    await fol.add_follower(garden, AL, "https://a.example/f/2", "pending", NOW)
    assert await fol.is_follower(garden, AL)
    assert await fol.remove_follower(garden, AL) == "https://a.example/f/2"
    assert await fol.remove_follower(garden, AL) is None


async def test_followers_page_in_arrival_order(pool: asyncpg.Pool, add_group: AddGroup) -> None:
    garden = await add_group()
    for n, uri in enumerate((CY, AL, BO)):
        await follows.add_follower(pool, garden, uri, f"f{n}", "accepted", NOW + timedelta(n))
    assert await follows.followers(pool, garden) == [CY, AL, BO]
    assert await follows.followers(pool, garden, limit=2, offset=1) == [AL, BO]


async def test_removing_an_actor_everywhere_leaves_the_others(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, bikes, fol = await add_group("garden"), await add_group("bikes"), PgFollows(pool)
    for group in (garden, bikes):
        await fol.add_follower(group, AL, f"f-{group}", "accepted", NOW)
        await fol.add_follower(group, BO, f"g-{group}", "accepted", NOW)
    await fol.remove_follower_everywhere(AL)
    assert [await fol.is_follower(g, AL) for g in (garden, bikes)] == [False, False]
    assert [await fol.is_follower(g, BO) for g in (garden, bikes)] == [True, True]


async def test_delivery_inboxes_share_one_inbox_per_host_and_skip_who_blocked_us(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, fol = await add_group(), PgFollows(pool)
    await _actor(pool, AL, "https://a.example/inbox")
    await _actor(pool, "https://a.example/users/ann", "https://a.example/inbox")
    await _actor(pool, BO, None)
    await _actor(pool, CY, None)
    for uri in (AL, "https://a.example/users/ann", BO, CY):
        await fol.add_follower(garden, uri, f"f-{uri}", "accepted", NOW)
    await fol.add_follower(garden, "https://d.example/u/unknown", "f-d", "accepted", NOW)
    await set_blocked_by(pool, garden, CY, True, NOW)

    inboxes = await fol.follower_delivery_inboxes(garden, exclude=None)
    assert sorted(inboxes) == ["https://a.example/inbox", f"{BO}/inbox"]
    assert await fol.follower_delivery_inboxes(garden, exclude=BO) == ["https://a.example/inbox"]
    await set_blocked_by(pool, garden, CY, False, NOW)
    assert f"{CY}/inbox" in await fol.follower_delivery_inboxes(garden, exclude=None)


async def test_our_follow_is_answered_only_by_whom_we_followed(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, fol = await add_group(), PgFollows(pool)
    await fol.set_following(garden, BO, "https://groups.test/f/1", NOW)
    assert await follows.following(pool, garden) == [(BO, "requested", "https://groups.test/f/1")]
    assert not await fol.is_followed(BO)

    assert not await fol.set_following_state("https://groups.test/f/1", CY, "accepted")
    assert await fol.set_following_state("https://groups.test/f/1", BO, "accepted")
    assert await fol.is_followed(BO)
    assert await fol.set_following_state("https://groups.test/f/1", BO, "rejected")
    assert not await fol.is_followed(BO)

    # Following again asks again, with the new Follow's id.
    await fol.set_following(garden, BO, "https://groups.test/f/2", NOW)
    assert await follows.following(pool, garden) == [(BO, "requested", "https://groups.test/f/2")]
    assert not await fol.set_following_state("https://groups.test/f/1", BO, "accepted")
    assert await fol.remove_following(garden, BO) == "https://groups.test/f/2"
    assert await follows.following(pool, garden) == []


async def test_follows_move_only_along_their_graphs() -> None:
    with pytest.raises(IllegalTransition):
        await follows.add_follower(NoDatabase(), 1, "a", "f", "rejected", NOW)
    with pytest.raises(IllegalTransition):
        await follows.set_following_state(NoDatabase(), "f", "a", "pending")


async def test_standing_reads_following_and_blocks_at_once(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, bikes, fol = await add_group("garden"), await add_group("bikes"), PgFollows(pool)
    await fol.add_follower(garden, AL, "f-al", "accepted", NOW)
    await fol.add_follower(garden, BO, "f-bo", "pending", NOW)
    assert await follows.standing(pool, garden, AL, "a.example") == (True, False)
    assert await follows.standing(pool, garden, BO, "b.example") == (False, False)  # pending
    assert await follows.standing(pool, bikes, AL, "a.example") == (False, False)
    # Blocked by the group as an actor; by the instance by domain, subdomains included.
    await add_block(pool, group_id=garden, kind="actor", value=AL, reason="", now=NOW)
    assert await follows.standing(pool, garden, AL, "a.example") == (True, True)
    assert await follows.standing(pool, bikes, AL, "a.example") == (False, False)
    await add_block(pool, group_id=None, kind="domain", value="example", reason="", now=NOW)
    assert await follows.standing(pool, bikes, CY, "c.example") == (False, True)
    assert await follows.standing(pool, bikes, CY, "example.org") == (False, False)

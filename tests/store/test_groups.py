"""Groups in PostgreSQL (store/groups.py): the repository, and the domain's
directory over it with real keys."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from imago_fed.app import build_runtime
from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.groups import Group
from imago_fed.store.groups import PgGroupRepository
from imago_fed.web.runtime import Runtime
from tests.store.helpers import STORED_KEYS

NOW = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture
def rt(pool: asyncpg.Pool, migrated_db: str, make_settings) -> Runtime:
    return build_runtime(make_settings(migrated_db), pool)


def _group(slug: str, **fields: Any) -> Group:
    return Group(slug, slug.title(), "", NOW, STORED_KEYS, **fields)


async def test_the_repository_keeps_every_field(pool: asyncpg.Pool) -> None:
    repo = PgGroupRepository(pool)
    stored = await repo.add(
        _group("garden", manually_approves_followers=True, discoverable=False,
               posting_policy="anyone")
    )  # fmt: skip
    assert stored.id is not None
    assert stored == _group("garden", manually_approves_followers=True, discoverable=False,
                            posting_policy="anyone")  # fmt: skip
    assert await repo.get_by_id(stored.id) == stored
    assert await repo.get("garden") == stored


async def test_profile_updates_and_soft_deletion(pool: asyncpg.Pool) -> None:
    repo = PgGroupRepository(pool)
    stored = await repo.add(_group("garden"))
    assert stored.id is not None
    await repo.update_profile(replace(stored, name="The garden", summary="Seeds."))
    fetched = await repo.get("garden")
    assert fetched is not None and (fetched.name, fetched.summary) == ("The garden", "Seeds.")

    assert await repo.mark_deleted("garden", NOW)
    assert not await repo.mark_deleted("garden", NOW)
    assert await repo.get("garden") is None and await repo.get_by_id(stored.id) is None
    await repo.update_profile(replace(stored, name="Ghost"))  # a deleted group stays as it was
    name = await pool.fetchval("SELECT name FROM groups WHERE id = $1", stored.id)
    assert name == "The garden"


async def test_create_get_list_delete(rt: Runtime) -> None:
    created = await rt.groups.create("garden", "Community garden", "We grow things.")
    assert created.slug == "garden" and created.summary == "We grow things."
    fetched = await rt.groups.get("garden")
    assert fetched == created
    await rt.groups.create("bikes", "Bike repair")
    assert [g.slug for g in await rt.groups.list()] == ["bikes", "garden"]
    assert [g.slug for g in await rt.groups.list(after="bikes")] == ["garden"]
    assert await rt.groups.count() == 2

    await rt.groups.delete("garden")
    with pytest.raises(NotFound):
        await rt.groups.get("garden")
    with pytest.raises(NotFound):
        await rt.groups.delete("garden")
    assert [g.slug for g in await rt.groups.list()] == ["bikes"]


async def test_slugs_are_unique_and_never_reused(rt: Runtime) -> None:
    await rt.groups.create("garden", "Garden")
    with pytest.raises(Conflict):
        await rt.groups.create("garden", "Another garden")
    await rt.groups.delete("garden")
    with pytest.raises(Conflict):
        await rt.groups.create("garden", "A new garden")


async def test_invalid_input_is_refused_before_anything_is_stored(rt: Runtime) -> None:
    with pytest.raises(InvalidInput):
        await rt.groups.create("Bad Slug", "x")
    assert await rt.groups.count() == 0


async def test_key_pair_is_real_and_private_half_is_sealed(rt: Runtime) -> None:
    group = await rt.groups.create("garden", "Garden")
    row = await rt.pool.fetchrow("SELECT * FROM groups WHERE slug = 'garden'")
    assert b"PRIVATE KEY" not in row["private_key_sealed"]
    private = rt.vault.unseal(row["private_key_sealed"])
    assert private.key_size == 2048
    public = serialization.load_pem_public_key(group.keys.public_pem.encode())
    signature = private.sign(b"hello", padding.PKCS1v15(), hashes.SHA256())
    public.verify(signature, b"hello", padding.PKCS1v15(), hashes.SHA256())  # raises if wrong
    assert "PRIVATE" not in repr(group) and "sealed" not in repr(group)

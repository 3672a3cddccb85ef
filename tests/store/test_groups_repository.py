"""Groups through the domain directory over the real PostgreSQL repository."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from imago_fed.app import build_runtime
from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.web.runtime import Runtime


@pytest.fixture
async def rt(migrated_db: str, make_settings) -> AsyncIterator[Runtime]:
    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=4)
    try:
        yield build_runtime(make_settings(migrated_db), pool)
    finally:
        await pool.close()


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

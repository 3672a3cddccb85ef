"""Signing keys (store/instance_keys.py): the instance actor's, made once, and the groups'."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime

import asyncpg

from imago_fed.domain.groups import KeyPair
from imago_fed.store.groups import PgGroupRepository
from imago_fed.store.instance_keys import PgSigningKeys
from tests.store.helpers import STORED_KEYS, AddGroup


class CountingFactory:
    """Key pairs numbered in the order they are made (no RSA: the store only keeps them).

    With ``racers``, nobody gets a pair until that many callers asked for one:
    they all found no key and all will try to store theirs.
    """

    def __init__(self, racers: int = 1) -> None:
        self._numbers = itertools.count(1)
        self._barrier = asyncio.Barrier(racers)
        self.made = 0

    async def new_keypair(self) -> KeyPair:
        self.made += 1
        n = next(self._numbers)
        await asyncio.wait_for(self._barrier.wait(), 10)
        return KeyPair(f"public-{n}", f"sealed-{n}".encode())


async def test_the_instance_key_is_made_on_first_use_then_kept(pool: asyncpg.Pool) -> None:
    factory = CountingFactory()
    first = await PgSigningKeys(pool).instance_key(factory)
    again = await PgSigningKeys(pool).instance_key(factory)
    assert first == again == KeyPair("public-1", b"sealed-1")
    assert factory.made == 1


async def test_racing_processes_all_end_with_the_key_stored_first(pool: asyncpg.Pool) -> None:
    factory = CountingFactory(racers=4)
    keys = await asyncio.gather(*(PgSigningKeys(pool).instance_key(factory) for _ in range(4)))
    stored = await pool.fetchrow("SELECT public_key_pem, private_key_sealed FROM instance_keys")
    assert set(keys) == {KeyPair(stored["public_key_pem"], stored["private_key_sealed"])}
    assert factory.made == 4


async def test_a_group_key_outlives_the_group(pool: asyncpg.Pool, add_group: AddGroup) -> None:
    garden = await add_group("garden")
    keys = PgSigningKeys(pool)
    assert await keys.group_key(garden) == ("garden", STORED_KEYS.sealed_private)
    await PgGroupRepository(pool).mark_deleted("garden", datetime.now(UTC))
    assert await keys.group_key(garden) == ("garden", STORED_KEYS.sealed_private)  # its Delete
    assert await keys.group_key(garden + 1) is None

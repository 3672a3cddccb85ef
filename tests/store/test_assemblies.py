"""Assemblies (store/assemblies.py) in PostgreSQL: one versioned JSON state each, so
two processes saving the same version cannot both win."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from imago_fed.domain.assemblies import Assembly
from imago_fed.store.assemblies import PgAssemblyStore
from tests.store.helpers import AddGroup

NOW = datetime(2026, 5, 1, 18, tzinfo=UTC)


def _assembly(group_id: int, title: str = "Spring assembly", hours: int = 1) -> Assembly:
    return Assembly(group_id, title, ("Budget", "Garden rota"), "@ann:example.org",
                    NOW + timedelta(hours=hours))  # fmt: skip


async def test_an_assembly_round_trips_with_its_version(pool: asyncpg.Pool, add_group: AddGroup):
    garden, store = await add_group(), PgAssemblyStore(pool)
    assembly_id = await store.add(_assembly(garden), NOW)
    found = await store.get(assembly_id)
    assert found is not None
    stored, version = found
    assert (stored.id, stored.title, stored.agenda, stored.state) == (
        assembly_id, "Spring assembly", ("Budget", "Garden rota"), "convened",
    )  # fmt: skip
    assert stored.to_dict() == _assembly(garden).to_dict()
    assert await store.get(assembly_id + 1) is None
    assert isinstance(version, int)


async def test_only_one_save_of_a_version_wins(pool: asyncpg.Pool, add_group: AddGroup) -> None:
    garden, store = await add_group(), PgAssemblyStore(pool)
    assembly_id = await store.add(_assembly(garden), NOW)
    found = await store.get(assembly_id)
    assert found is not None
    assembly, version = found
    assembly.open(NOW + timedelta(hours=1))
    assert await store.save(assembly, version, NOW)
    assert not await store.save(assembly, version, NOW)  # read before the first save
    again = await store.get(assembly_id)
    assert again is not None and again[1] == version + 1 and again[0].state == assembly.state


async def test_a_groups_assemblies_and_the_live_ones(pool: asyncpg.Pool, add_group) -> None:
    garden, bikes, store = (
        await add_group("garden"),
        await add_group("bikes"),
        PgAssemblyStore(pool),
    )
    late = await store.add(_assembly(garden, "Autumn", hours=5), NOW)
    early = await store.add(_assembly(garden, "Spring", hours=1), NOW)
    other = await store.add(_assembly(bikes, "Repairs", hours=3), NOW)
    assert [a.title for a in await store.of_group(garden)] == ["Spring", "Autumn"]  # newest first
    assert await store.live() == [early, other, late]  # by start
    found = await store.get(early)
    assert found is not None
    assembly, version = found
    assembly.open(NOW + timedelta(hours=1))
    assembly.adjourn(assembly.convened_by, NOW + timedelta(hours=2))
    assert assembly.state == "closed"
    await store.save(assembly, version, NOW)
    assert await store.live() == [other, late]

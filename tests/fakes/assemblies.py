"""An in-memory ``AssemblyStore`` with the same versioned writes as the SQL one."""

from __future__ import annotations

from datetime import datetime

from imago_fed.domain.assemblies import Assembly

__all__ = ["MemoryAssemblyStore"]


class MemoryAssemblyStore:
    def __init__(self) -> None:
        self.rows: dict[int, tuple[dict, int]] = {}  # id -> (state, version)
        self.lost_races = 0  # how many saves found a newer version (for tests)
        self.race_once = False  # the next save finds that another writer landed first

    async def add(self, assembly: Assembly, now: datetime) -> int:
        assembly_id = len(self.rows) + 1
        self.rows[assembly_id] = (assembly.to_dict(), 1)
        return assembly_id

    async def get(self, assembly_id: int) -> tuple[Assembly, int] | None:
        if assembly_id not in self.rows:
            return None
        body, version = self.rows[assembly_id]
        return Assembly.from_dict(body, id=assembly_id), version

    async def save(self, assembly: Assembly, version: int, now: datetime) -> bool:
        assert assembly.id is not None
        if self.race_once:
            self.race_once = False
            body, newer = self.rows[assembly.id]
            self.rows[assembly.id] = (body, newer + 1)
        if self.rows[assembly.id][1] != version:
            self.lost_races += 1
            return False
        self.rows[assembly.id] = (assembly.to_dict(), version + 1)
        return True

    async def of_group(self, group_id: int) -> list[Assembly]:
        found = [
            Assembly.from_dict(body, id=i)
            for i, (body, _) in self.rows.items()
            if body["group_id"] == group_id
        ]
        return sorted(found, key=lambda a: -(a.id or 0))

    async def live(self) -> list[int]:
        return [i for i, (body, _) in self.rows.items() if body["state"] != "closed"]

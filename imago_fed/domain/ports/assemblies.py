"""Port of the assemblies area: where an assembly's state is kept.

The whole state is saved at once with the version it was read at, so two
writers (the bot answering a member, the ticker timing a turn) never
overwrite each other: the loser reads again and re-applies its change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from imago_fed.domain.assemblies import Assembly

__all__ = ["AssemblyStore"]


class AssemblyStore(Protocol):
    async def add(self, assembly: Assembly, now: datetime) -> int:
        """Store a newly convened assembly; its id."""
        ...

    async def get(self, assembly_id: int) -> tuple[Assembly, int] | None:
        """The assembly and its version, or None."""
        ...

    async def save(self, assembly: Assembly, version: int, now: datetime) -> bool:
        """Write the state if it is still at ``version``; False if someone wrote first."""
        ...

    async def of_group(self, group_id: int) -> list[Assembly]:
        """The group's assemblies, newest first."""
        ...

    async def live(self) -> list[int]:
        """Ids of assemblies convened or open (the ticker's work)."""
        ...

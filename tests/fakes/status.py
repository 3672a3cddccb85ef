"""In-memory costs store and status readings, for the costs and status use cases."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from imago_fed.domain.costs import Bill, Contribution, Expense, Pledge
from imago_fed.domain.ports.status import QueueReading

__all__ = ["Broken", "MemoryCostsStore", "SetProbes", "SetQueue", "SetSchema"]


class MemoryCostsStore:
    def __init__(self) -> None:
        self.rows: dict[str, dict[int, Any]] = {
            "bill": {},
            "pledge": {},
            "contribution": {},
            "expense": {},
        }
        self._ids = itertools.count(1)

    def _add(self, kind: str, row: Any) -> Any:
        row = replace(row, id=next(self._ids))
        self.rows[kind][row.id] = row
        return row

    async def bills(self) -> list[Bill]:
        return sorted(self.rows["bill"].values(), key=lambda b: (b.renews_on, b.id))

    async def add_bill(self, bill: Bill) -> Bill:
        return self._add("bill", bill)

    async def pledges(self) -> list[Pledge]:
        return list(self.rows["pledge"].values())

    async def add_pledge(self, pledge: Pledge) -> Pledge:
        return self._add("pledge", pledge)

    async def contributions(self) -> list[Contribution]:
        return list(self.rows["contribution"].values())

    async def add_contribution(self, contribution: Contribution) -> Contribution:
        return self._add("contribution", contribution)

    async def expenses(self) -> list[Expense]:
        return list(self.rows["expense"].values())

    async def add_expense(self, expense: Expense) -> Expense:
        return self._add("expense", expense)

    async def remove(self, kind: str, row_id: int) -> bool:
        return self.rows[kind].pop(row_id, None) is not None


class Broken(Exception):
    """What a probe raises in these tests when told to fail."""


@dataclass
class SetSchema:
    current_revision: str | None = "head"
    fail: bool = False

    def expected(self) -> str:
        return "head"

    async def current(self) -> str | None:
        if self.fail:
            raise Broken("connection refused")
        return self.current_revision


@dataclass
class SetQueue:
    reading: QueueReading = field(default_factory=lambda: QueueReading(0, None, 0, []))
    hours: list[tuple[datetime, int, int]] = field(default_factory=list)

    async def queue(self) -> QueueReading:
        return self.reading

    async def hourly(self, since: datetime) -> list[tuple[datetime, int, int]]:
        return [row for row in self.hours if row[0] >= since]


@dataclass
class SetProbes:
    """Each reading as set; an exception instance is raised; ``hang`` never answers."""

    free_total: tuple[int, int] | None = (50, 100)
    certificate: date | Exception | None = None
    domain: date | Exception | None = None
    homeserver_error: str | Exception | None = None
    hang: bool = False

    async def _give(self, value: Any) -> Any:
        if self.hang:
            await asyncio.Event().wait()
        if isinstance(value, Exception):
            raise value
        return value

    async def disk(self) -> tuple[int, int] | None:
        return await self._give(self.free_total)

    async def certificate_expiry(self) -> date | None:
        return await self._give(self.certificate)

    async def domain_expiry(self) -> date | None:
        return await self._give(self.domain)

    async def homeserver(self) -> str | None:
        return await self._give(self.homeserver_error)

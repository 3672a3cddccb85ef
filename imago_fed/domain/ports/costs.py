"""Where bills, pledges and contributions are kept (see ``domain/costs.py``)."""

from __future__ import annotations

from typing import Protocol

from imago_fed.domain.costs import Bill, Contribution, Expense, Pledge

__all__ = ["CostsStore"]


class CostsStore(Protocol):
    async def bills(self) -> list[Bill]:
        """Every bill, soonest renewal first."""
        ...

    async def add_bill(self, bill: Bill) -> Bill:
        """Store a bill; it comes back with its id."""
        ...

    async def pledges(self) -> list[Pledge]:
        """Every pledge, oldest first (ended ones too)."""
        ...

    async def add_pledge(self, pledge: Pledge) -> Pledge: ...

    async def contributions(self) -> list[Contribution]:
        """Every contribution, newest first."""
        ...

    async def add_contribution(self, contribution: Contribution) -> Contribution: ...

    async def expenses(self) -> list[Expense]:
        """Every expense paid from the pool, newest first."""
        ...

    async def add_expense(self, expense: Expense) -> Expense:
        """Store an expense (only once its ``spend`` decision is adopted)."""
        ...

    async def remove(self, kind: str, row_id: int) -> bool:
        """Delete a bill, pledge, contribution or expense ("bill", "pledge", "contribution",
        "expense");
        False when there was none with this id."""
        ...

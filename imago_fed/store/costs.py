"""Bills, pledges, contributions and expenses (``CostsStore``); see ``domain/costs.py``."""

from __future__ import annotations

from typing import Any

import asyncpg

from imago_fed.domain.costs import Bill, Contribution, Expense, Pledge

__all__ = ["PgCostsStore"]

_TABLES = {"bill": "cost_bills", "pledge": "cost_pledges", "contribution": "cost_contributions",
           "expense": "cost_expenses"}  # fmt: skip


def _bill(row: Any) -> Bill:
    return Bill(
        label=row["label"],
        kind=row["kind"],
        amount=row["amount"],
        currency=row["currency"],
        period_months=row["period_months"],
        starts_on=row["starts_on"],
        renews_on=row["renews_on"],
        id=row["id"],
    )


def _pledge(row: Any) -> Pledge:
    return Pledge(
        member=row["member"],
        amount=row["amount"],
        currency=row["currency"],
        starts_on=row["starts_on"],
        ends_on=row["ends_on"],
        id=row["id"],
    )


def _contribution(row: Any) -> Contribution:
    return Contribution(
        member=row["member"],
        amount=row["amount"],
        currency=row["currency"],
        paid_on=row["paid_on"],
        note=row["note"],
        id=row["id"],
    )


def _expense(row: Any) -> Expense:
    return Expense(
        label=row["label"],
        amount=row["amount"],
        currency=row["currency"],
        spent_on=row["spent_on"],
        note=row["note"],
        id=row["id"],
    )


class PgCostsStore:
    """Implements :class:`imago_fed.domain.ports.costs.CostsStore`."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def bills(self) -> list[Bill]:
        rows = await self._pool.fetch("SELECT * FROM cost_bills ORDER BY renews_on, id")
        return [_bill(row) for row in rows]

    async def add_bill(self, bill: Bill) -> Bill:
        row = await self._pool.fetchrow(
            """
            INSERT INTO cost_bills (label, kind, amount, currency, period_months, starts_on,
                                    renews_on)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *
            """,
            bill.label, bill.kind, bill.amount, bill.currency, bill.period_months,
            bill.starts_on, bill.renews_on,
        )  # fmt: skip
        return _bill(row)

    async def pledges(self) -> list[Pledge]:
        rows = await self._pool.fetch("SELECT * FROM cost_pledges ORDER BY starts_on, id")
        return [_pledge(row) for row in rows]

    async def add_pledge(self, pledge: Pledge) -> Pledge:
        row = await self._pool.fetchrow(
            """
            INSERT INTO cost_pledges (member, amount, currency, starts_on, ends_on)
            VALUES ($1, $2, $3, $4, $5) RETURNING *
            """,
            pledge.member, pledge.amount, pledge.currency, pledge.starts_on, pledge.ends_on,
        )  # fmt: skip
        return _pledge(row)

    async def contributions(self) -> list[Contribution]:
        rows = await self._pool.fetch(
            "SELECT * FROM cost_contributions ORDER BY paid_on DESC, id DESC"
        )
        return [_contribution(row) for row in rows]

    async def add_contribution(self, contribution: Contribution) -> Contribution:
        row = await self._pool.fetchrow(
            """
            INSERT INTO cost_contributions (member, amount, currency, paid_on, note)
            VALUES ($1, $2, $3, $4, $5) RETURNING *
            """,
            contribution.member, contribution.amount, contribution.currency,
            contribution.paid_on, contribution.note,
        )  # fmt: skip
        return _contribution(row)

    async def expenses(self) -> list[Expense]:
        rows = await self._pool.fetch("SELECT * FROM cost_expenses ORDER BY spent_on DESC, id DESC")
        return [_expense(row) for row in rows]

    async def add_expense(self, expense: Expense) -> Expense:
        row = await self._pool.fetchrow(
            """
            INSERT INTO cost_expenses (label, amount, currency, spent_on, note)
            VALUES ($1, $2, $3, $4, $5) RETURNING *
            """,
            expense.label, expense.amount, expense.currency, expense.spent_on, expense.note,
        )  # fmt: skip
        return _expense(row)

    async def remove(self, kind: str, row_id: int) -> bool:
        table = _TABLES[kind]  # a fixed name from the table above, never input
        status = await self._pool.execute(f"DELETE FROM {table} WHERE id = $1", row_id)
        return status.endswith(" 1")

"""Bills, pledges and contributions (store/costs.py) in PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import asyncpg
import pytest

from imago_fed.domain.costs import Bill, Contribution, Expense, Pledge
from imago_fed.store.costs import PgCostsStore

HOSTING = Bill("VPS", "hosting", 1200, "EUR", 1, date(2026, 1, 1), date(2026, 6, 1))
DOMAIN = Bill("groups.example", "domain", 1500, "EUR", 12, date(2026, 1, 1), date(2027, 1, 1))


async def test_bills_round_trip_ordered_by_renewal(pool: asyncpg.Pool) -> None:
    costs = PgCostsStore(pool)
    domain, hosting = await costs.add_bill(DOMAIN), await costs.add_bill(HOSTING)
    assert domain == replace(DOMAIN, id=domain.id) and domain.id is not None
    assert await costs.bills() == [hosting, domain]


async def test_pledges_and_contributions_round_trip(pool: asyncpg.Pool) -> None:
    costs = PgCostsStore(pool)
    later = await costs.add_pledge(Pledge("@al@a.example", 500, "EUR", date(2026, 3, 1)))
    ended = await costs.add_pledge(
        Pledge("@bo@b.example", 300, "EUR", date(2026, 1, 1), date(2026, 4, 1))
    )
    assert await costs.pledges() == [ended, later]
    assert later.ends_on is None and ended.ends_on == date(2026, 4, 1)

    first = await costs.add_contribution(Contribution("@al@a.example", 500, "EUR",
                                                      date(2026, 3, 2), "March"))  # fmt: skip
    second = await costs.add_contribution(Contribution("@bo@b.example", 300, "EUR",
                                                       date(2026, 4, 2)))  # fmt: skip
    assert await costs.contributions() == [second, first]  # newest first
    assert first.note == "March" and second.note == ""


async def test_expenses_round_trip_newest_first_and_are_removed(pool: asyncpg.Pool) -> None:
    costs = PgCostsStore(pool)
    disk = await costs.add_expense(Expense("disk", 4000, "EUR", date(2026, 3, 2), "2 TB"))
    fee = await costs.add_expense(Expense("fee", 1500, "EUR", date(2026, 4, 2)))
    assert disk == Expense("disk", 4000, "EUR", date(2026, 3, 2), "2 TB", id=disk.id)
    assert await costs.expenses() == [fee, disk]
    assert disk.id is not None and await costs.remove("expense", disk.id)
    assert not await costs.remove("expense", disk.id)
    assert await costs.expenses() == [fee]
    with pytest.raises(asyncpg.CheckViolationError):
        await costs.add_expense(Expense("refund", -1, "EUR", date(2026, 4, 2)))


@pytest.mark.parametrize("kind", ["bill", "pledge", "contribution"])
async def test_a_row_is_removed_once_and_only_of_its_kind(pool: asyncpg.Pool, kind: str) -> None:
    costs = PgCostsStore(pool)
    bill = await costs.add_bill(HOSTING)
    pledge = await costs.add_pledge(Pledge("@al@a.example", 500, "EUR", date(2026, 3, 1)))
    paid = await costs.add_contribution(Contribution("@al@a.example", 500, "EUR", date(2026, 3, 2)))
    row_id = {"bill": bill.id, "pledge": pledge.id, "contribution": paid.id}[kind]
    assert row_id == 1  # the same id in each table: only the kind tells them apart
    assert await costs.remove(kind, row_id)
    assert not await costs.remove(kind, row_id)
    left = (len(await costs.bills()), len(await costs.pledges()), len(await costs.contributions()))
    assert left == tuple(0 if k == kind else 1 for k in ("bill", "pledge", "contribution"))

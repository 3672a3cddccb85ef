"""Cost coverage: balance, months ahead, run-out date, months, input rules."""

from __future__ import annotations

from datetime import date

import pytest

from imago_fed.domain.costs import (
    Bill,
    Contribution,
    Expense,
    Pledge,
    add_months,
    coverage,
    format_amount,
    parse_amount,
    validate_currency,
)
from imago_fed.domain.errors import InvalidInput

TODAY = date(2026, 12, 5)


def bill(amount: int, months: int = 1, starts: date = TODAY, currency: str = "EUR") -> Bill:
    return Bill("vps", "hosting", amount, currency, months, starts, date(2027, 1, 1))


def test_amounts() -> None:
    assert parse_amount("12.5") == 1250
    assert parse_amount(" 0 ") == 0
    assert parse_amount("1000000") == 100_000_000
    for bad in ("", "abc", "-1", "1.234", "NaN", "Infinity", "1e12"):
        with pytest.raises(InvalidInput):
            parse_amount(bad)
    assert format_amount(123456) == "1,234.56"
    assert validate_currency(" eur ") == "EUR"
    with pytest.raises(InvalidInput):
        validate_currency("EURO")


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 12, 5), 1) == date(2027, 1, 5)
    assert add_months(date(2026, 3, 15), -3) == date(2025, 12, 15)


def test_nothing_recorded() -> None:
    c = coverage([], [], [], "EUR", TODAY)
    assert (c.monthly_cost, c.balance, c.months_ahead, c.runs_out_on) == (0, 0, None, None)
    assert c.pledged_ratio is None and len(c.months) == 6


def test_pledges_covering_the_costs_never_run_out() -> None:
    c = coverage([bill(12000, 12)], [Pledge("ana", 1000, "EUR", TODAY)], [], "EUR", TODAY)
    assert (c.monthly_cost, c.monthly_pledged, c.pledged_ratio) == (1000, 1000, 1.0)
    assert c.runs_out_on is None


def test_run_out_date_from_the_balance_and_the_shortfall() -> None:
    # 10/month of costs, 5/month pledged, 60 paid today: 60 / 5 = 12 months.
    bills = [bill(1000)]
    pledges = [Pledge("ana", 500, "EUR", TODAY)]
    paid = [Contribution("bo", 6000, "EUR", TODAY)]
    c = coverage(bills, pledges, paid, "EUR", TODAY)
    assert c.pledged_ratio == 0.5
    assert 5960 <= c.balance < 6000  # today's day of costs (about 33) accrued
    assert c.months_ahead is not None and 5.9 < c.months_ahead <= 6.0
    assert c.runs_out_on is not None
    assert add_months(TODAY, 12) - c.runs_out_on < (add_months(TODAY, 1) - TODAY)


def test_an_empty_purse_has_run_out_today() -> None:
    c = coverage([bill(1000, starts=date(2026, 1, 1))], [], [], "EUR", TODAY)
    assert c.balance < 0 and c.runs_out_on == TODAY


def test_months_split_costs_and_payments_and_ignore_other_currencies() -> None:
    bills = [bill(3000, starts=date(2026, 10, 1)), bill(999, currency="USD")]
    paid = [
        Contribution("ana", 2000, "EUR", date(2026, 11, 20)),
        Contribution("bo", 700, "USD", date(2026, 11, 21)),
        Contribution("cy", 100, "EUR", date(2027, 1, 1)),  # not yet: in the future
    ]
    c = coverage(bills, [], paid, "EUR", TODAY, history_months=3)
    assert [m.month for m in c.months] == [date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]
    october, november, _ = c.months
    assert 2900 < october.cost < 3100 and october.paid == 0 and october.ratio == 0
    assert 2900 < november.cost < 3100 and november.paid == 2000
    assert c.other_currencies == ("USD",)


def test_expenses_drain_the_pool_in_the_month_they_are_spent() -> None:
    paid = [Contribution("ana", 10000, "EUR", date(2026, 11, 1))]
    spent = [
        Expense("disk", 4000, "EUR", date(2026, 11, 15)),
        Expense("stickers", 500, "USD", date(2026, 11, 16)),  # another currency: listed only
        Expense("next year", 900, "EUR", date(2027, 2, 1)),  # not yet spent: not counted
    ]
    before = coverage([], [], paid, "EUR", TODAY, history_months=2)
    after = coverage([], [], paid, "EUR", TODAY, expenses=spent, history_months=2)
    assert (before.balance, after.balance) == (10000, 6000)
    november, december = after.months
    assert (november.cost, november.paid, december.cost) == (4000, 10000, 0)
    assert after.other_currencies == ("USD",)
    # An expense takes money once: no monthly cost, so nothing runs out because of it.
    assert after.monthly_cost == 0 and after.runs_out_on is None

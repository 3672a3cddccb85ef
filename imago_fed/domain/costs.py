"""What the instance costs, who chips in, and how long the money lasts.

No payment is processed here: bills are what the instance must pay, pledges
are promises (an amount per month), contributions are money recorded once it
arrived, expenses are one-off spending from the pool (a decision of the
community, recorded once adopted). The model is an account that costs drain::

    balance(today) = Σ contributions paid so far - Σ bill costs accrued so far
                     - Σ expenses spent so far
                     (each bill accrues amount / period, month after month, from its start)

    monthly net    = Σ pledges running now - Σ monthly cost of the bills
    months ahead   = balance / monthly cost
    runs out on    = today + balance / -net months    (never, when net ≥ 0)

Amounts are integers in minor units (cents), so sums are exact. Only one
currency is counted (the instance's); rows in another currency are listed but
left out of the sums, since converting would need a rate we do not have.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from imago_fed.domain.errors import InvalidInput

__all__ = [
    "BILL_KINDS",
    "Bill",
    "Contribution",
    "Coverage",
    "Expense",
    "MonthCoverage",
    "Pledge",
    "add_months",
    "coverage",
    "coverage_sentence",
    "format_amount",
    "parse_amount",
    "validate_currency",
    "validate_period",
]

BILL_KINDS = ("hosting", "domain", "other")
_CURRENCY = re.compile(r"[A-Z]{3}")
AVERAGE_MONTH_DAYS = 365.25 / 12


@dataclass(frozen=True)
class Bill:
    label: str
    kind: str  # one of BILL_KINDS
    amount: int  # minor units, per period
    currency: str
    period_months: int
    starts_on: date
    renews_on: date  # paid up to this date
    id: int | None = None

    @property
    def monthly(self) -> Decimal:
        return Decimal(self.amount) / self.period_months


@dataclass(frozen=True)
class Pledge:
    member: str
    amount: int  # minor units per month
    currency: str
    starts_on: date
    ends_on: date | None = None
    id: int | None = None

    def running(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day < self.ends_on)


@dataclass(frozen=True)
class Contribution:
    member: str
    amount: int  # minor units
    currency: str
    paid_on: date
    note: str = ""
    id: int | None = None


@dataclass(frozen=True)
class Expense:
    """Money spent once from the pool (a new disk, a conference fee), by decision."""

    label: str
    amount: int  # minor units
    currency: str
    spent_on: date
    note: str = ""
    id: int | None = None


@dataclass(frozen=True)
class MonthCoverage:
    """One calendar month: what the bills and expenses cost in it and what was paid in it."""

    month: date  # the first day
    cost: int
    paid: int

    @property
    def ratio(self) -> float | None:
        return None if self.cost == 0 else self.paid / self.cost


@dataclass(frozen=True)
class Coverage:
    currency: str
    monthly_cost: int
    monthly_pledged: int
    balance: int
    months_ahead: float | None  # None: nothing costs anything
    runs_out_on: date | None  # None: never, if nothing changes
    months: tuple[MonthCoverage, ...]
    other_currencies: tuple[str, ...]

    @property
    def pledged_ratio(self) -> float | None:
        return None if self.monthly_cost == 0 else self.monthly_pledged / self.monthly_cost


# ----------------------------------------------------------------- input
def parse_amount(text: str) -> int:
    """``"12.5"`` -> 1250: a non-negative amount with at most two decimals, in minor units."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidInput("must be an amount such as 12.50", field="amount") from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise InvalidInput("must be a positive amount with at most two decimals", field="amount")
    if value > Decimal(10) ** 9:
        raise InvalidInput("is too large", field="amount")
    return int(value * 100)


def format_amount(minor: int | Decimal | float) -> str:
    return f"{Decimal(minor) / 100:,.2f}"


def validate_currency(code: str) -> str:
    code = code.strip().upper()
    if not _CURRENCY.fullmatch(code):
        raise InvalidInput("must be a three-letter ISO 4217 code such as EUR", field="currency")
    return code


def validate_period(months: int) -> int:
    if not 1 <= months <= 120:
        raise InvalidInput("must be between 1 and 120 months", field="period_months")
    return months


# ------------------------------------------------------------ arithmetic
def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _accrued(bill: Bill, start: date, end: date) -> Decimal:
    """What the bill costs between two days (end excluded), at a steady daily rate."""
    start, end = max(start, bill.starts_on), end
    if end <= start:
        return Decimal(0)
    return bill.monthly * Decimal((end - start).days) / Decimal(str(AVERAGE_MONTH_DAYS))


def coverage(
    bills: list[Bill],
    pledges: list[Pledge],
    contributions: list[Contribution],
    currency: str,
    today: date,
    *,
    expenses: Sequence[Expense] = (),
    history_months: int = 6,
) -> Coverage:
    """Everything the costs page shows, computed from the lists."""
    used = {b.currency for b in bills} | {p.currency for p in pledges}
    others = sorted((used | {c.currency for c in contributions}) - {currency})
    bills = [b for b in bills if b.currency == currency]
    pledges = [p for p in pledges if p.currency == currency]
    paid = [c for c in contributions if c.currency == currency and c.paid_on <= today]
    others = sorted(set(others) | ({e.currency for e in expenses} - {currency}))
    spent_once = [e for e in expenses if e.currency == currency and e.spent_on <= today]

    monthly_cost = sum((b.monthly for b in bills), Decimal(0))
    pledged = sum(p.amount for p in pledges if p.running(today))
    tomorrow = today + timedelta(days=1)
    spent = sum((_accrued(b, b.starts_on, tomorrow) for b in bills), Decimal(0))
    balance = sum(c.amount for c in paid) - spent - sum(e.amount for e in spent_once)

    months_ahead = None if monthly_cost == 0 else float(balance / monthly_cost)
    net = pledged - monthly_cost
    if net >= 0:
        runs_out = None
    elif balance <= 0:
        runs_out = today
    else:
        days = float(balance / -net) * AVERAGE_MONTH_DAYS
        runs_out = today + timedelta(days=int(days))

    first = date(today.year, today.month, 1)
    months = []
    for back in range(history_months - 1, -1, -1):
        start = add_months(first, -back)
        end = add_months(start, 1)
        cost = sum((_accrued(b, start, end) for b in bills), Decimal(0))
        cost += sum(e.amount for e in spent_once if start <= e.spent_on < end)
        got = sum(c.amount for c in paid if start <= c.paid_on < end)
        months.append(MonthCoverage(start, int(cost.to_integral_value()), got))
    return Coverage(
        currency=currency,
        monthly_cost=int(monthly_cost.to_integral_value()),
        monthly_pledged=pledged,
        balance=int(balance.to_integral_value()),
        months_ahead=months_ahead,
        runs_out_on=runs_out,
        months=tuple(months),
        other_currencies=tuple(others),
    )


def coverage_sentence(summary: Coverage) -> str:
    """The coverage in one sentence, for a chat answer or a page's summary line."""
    money = summary.currency
    if summary.monthly_cost == 0:
        return "No bill is recorded: the instance costs nothing yet."
    parts = [f"Costs {format_amount(summary.monthly_cost)} {money} a month"]
    pledged = f"{format_amount(summary.monthly_pledged)} {money} a month is pledged"
    ratio = summary.pledged_ratio
    parts.append(pledged + (f" ({ratio:.0%})" if ratio is not None else ""))
    parts.append(f"the pool holds {format_amount(summary.balance)} {money}")
    if summary.months_ahead is not None:
        parts.append(f"{max(summary.months_ahead, 0.0):.1f} months funded ahead")
    tail = (
        f"it runs out on {summary.runs_out_on.isoformat()} if nothing changes"
        if summary.runs_out_on is not None
        else "the pledges cover the costs"
    )
    return "; ".join(parts) + "; " + tail + "."

"""Use cases on the instance's costs: record bills, pledges, contributions; see coverage.

The admin pages and the admin API both call this, so both refuse the same
input with the same messages (``InvalidInput`` naming the field).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from imago_fed.domain.costs import (
    BILL_KINDS,
    Bill,
    Contribution,
    Coverage,
    Pledge,
    coverage,
    parse_amount,
    validate_currency,
    validate_period,
)
from imago_fed.domain.errors import InvalidInput, NotFound
from imago_fed.domain.ports import Clock
from imago_fed.domain.ports.costs import CostsStore

__all__ = ["Costs", "CostsView"]


@dataclass(frozen=True)
class CostsView:
    coverage: Coverage
    bills: list[Bill]
    pledges: list[Pledge]
    contributions: list[Contribution]


def _text(value: str, name: str, limit: int = 200) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise InvalidInput(f"must be 1 to {limit} characters", field=name)
    return value


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("must be a date such as 2027-01-31", field=name) from None


class Costs:
    def __init__(self, store: CostsStore, clock: Clock, currency: str) -> None:
        self._store, self._clock, self.currency = store, clock, currency

    def today(self) -> date:
        return self._clock.now().date()

    async def view(self) -> CostsView:
        bills, pledges = await self._store.bills(), await self._store.pledges()
        contributions = await self._store.contributions()
        summary = coverage(bills, pledges, contributions, self.currency, self.today())
        return CostsView(summary, bills, pledges, contributions)

    async def hosting_paid_until(self) -> date | None:
        """The soonest renewal of a hosting bill: the day the hosting is paid up to."""
        dates = [b.renews_on for b in await self._store.bills() if b.kind == "hosting"]
        return min(dates, default=None)

    async def add_bill(
        self,
        *,
        label: str,
        kind: str,
        amount: str,
        currency: str,
        period_months: int,
        renews_on: str,
        starts_on: str = "",
    ) -> Bill:
        if kind not in BILL_KINDS:
            raise InvalidInput(f"must be one of {', '.join(BILL_KINDS)}", field="kind")
        renews = _day(renews_on, "renews_on")
        starts = _day(starts_on, "starts_on") if starts_on.strip() else self.today()
        return await self._store.add_bill(
            Bill(
                label=_text(label, "label"),
                kind=kind,
                amount=parse_amount(amount),
                currency=validate_currency(currency or self.currency),
                period_months=validate_period(period_months),
                starts_on=starts,
                renews_on=renews,
            )
        )

    async def add_pledge(
        self, *, member: str, amount: str, currency: str, starts_on: str = "", ends_on: str = ""
    ) -> Pledge:
        starts = _day(starts_on, "starts_on") if starts_on.strip() else self.today()
        ends = _day(ends_on, "ends_on") if ends_on.strip() else None
        if ends is not None and ends <= starts:
            raise InvalidInput("must come after the start", field="ends_on")
        return await self._store.add_pledge(
            Pledge(
                member=_text(member, "member"),
                amount=parse_amount(amount),
                currency=validate_currency(currency or self.currency),
                starts_on=starts,
                ends_on=ends,
            )
        )

    async def add_contribution(
        self, *, member: str, amount: str, currency: str, paid_on: str = "", note: str = ""
    ) -> Contribution:
        if len(note) > 500:
            raise InvalidInput("must be at most 500 characters", field="note")
        return await self._store.add_contribution(
            Contribution(
                member=_text(member, "member"),
                amount=parse_amount(amount),
                currency=validate_currency(currency or self.currency),
                paid_on=_day(paid_on, "paid_on") if paid_on.strip() else self.today(),
                note=note.strip(),
            )
        )

    async def remove(self, kind: str, row_id: int) -> None:
        if kind not in ("bill", "pledge", "contribution"):
            raise NotFound(f"no such kind of cost row: {kind}")
        if not await self._store.remove(kind, row_id):
            raise NotFound(f"no {kind} {row_id}")

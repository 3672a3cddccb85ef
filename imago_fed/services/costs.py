"""Use cases on the instance's costs: record bills, pledges, contributions; see coverage.

The admin pages and the admin API both call this, so both refuse the same
input with the same messages (``InvalidInput`` naming the field).

Recording a bill commits the community's money, so it can be a decision: when
``[costs] group`` names a group, a bill is not recorded on the admin's word
but proposed as a ``spend`` decision of that group, under its control table,
and recorded when the decision is adopted (``carry_out``):

    propose_bill(...) ── checked like add_bill ──> spend proposal in <group>
        params {"costs": {"op": "bill", "bill": {...}}}
    adopted ──> Executor ──> carry_out ──> the bill is recorded

Spending from the pool (an expense: a new disk, a conference fee) is always
such a decision: ``propose_expense`` opens it (params ``{"costs": {"op":
"expense", "expense": {...}}}``) and the expense is recorded, and drains the
pool, only when it is adopted. Without ``[costs] group`` nobody can decide it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from imago_fed.domain.costs import (
    BILL_KINDS,
    Bill,
    Contribution,
    Coverage,
    Expense,
    Pledge,
    coverage,
    format_amount,
    parse_amount,
    validate_currency,
    validate_period,
)
from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.proposals import Proposal
from imago_fed.domain.governance.service import Governance
from imago_fed.domain.ports import Clock, GroupRepository
from imago_fed.domain.ports.costs import CostsStore

__all__ = ["Costs", "CostsView"]


@dataclass(frozen=True)
class CostsView:
    coverage: Coverage
    bills: list[Bill]
    pledges: list[Pledge]
    contributions: list[Contribution]
    expenses: list[Expense]


def _text(value: str, name: str, limit: int = 200) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise InvalidInput(f"must be 1 to {limit} characters", field=name)
    return value


def _bill_params(bill: Bill) -> dict[str, Any]:
    """The bill as a proposal keeps it (JSON), so the decision shows what is paid."""
    return {
        "label": bill.label, "kind": bill.kind, "amount": bill.amount,
        "currency": bill.currency, "period_months": bill.period_months,
        "starts_on": bill.starts_on.isoformat(), "renews_on": bill.renews_on.isoformat(),
    }  # fmt: skip


def _kind(kind: str) -> str:
    if kind not in BILL_KINDS:
        raise InvalidInput(f"must be one of {', '.join(BILL_KINDS)}", field="kind")
    return kind


def _bill_from_params(data: dict[str, Any]) -> Bill:
    amount = data["amount"]
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise InvalidInput("amount must be minor units", field="amount")
    return Bill(
        label=_text(str(data["label"]), "label"),
        kind=_kind(str(data["kind"])),
        amount=amount,
        currency=validate_currency(str(data["currency"])),
        period_months=validate_period(int(data["period_months"])),
        starts_on=date.fromisoformat(str(data["starts_on"])),
        renews_on=date.fromisoformat(str(data["renews_on"])),
    )


def _expense_params(expense: Expense) -> dict[str, Any]:
    return {
        "label": expense.label, "amount": expense.amount, "currency": expense.currency,
        "spent_on": expense.spent_on.isoformat(), "note": expense.note,
    }  # fmt: skip


def _expense_from_params(data: dict[str, Any]) -> Expense:
    amount = data["amount"]
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise InvalidInput("amount must be minor units", field="amount")
    return Expense(
        label=_text(str(data["label"]), "label"),
        amount=amount,
        currency=validate_currency(str(data["currency"])),
        spent_on=date.fromisoformat(str(data["spent_on"])),
        note=str(data.get("note", ""))[:500],
    )


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("must be a date such as 2027-01-31", field=name) from None


class Costs:
    def __init__(
        self, store: CostsStore, clock: Clock, currency: str, *, governed_by: str = ""
    ) -> None:
        self._store, self._clock, self.currency = store, clock, currency
        self.governed_by = governed_by  # the slug of the group deciding bills; "": admins
        self._governance: Governance | None = None
        self._groups: GroupRepository | None = None

    def attach(self, governance: Governance, groups: GroupRepository) -> None:
        """Governance executes our ``spend`` effect and we open its proposals."""
        self._governance, self._groups = governance, groups

    @property
    def governed(self) -> bool:
        """Whether bills are decisions of a group (``[costs] group``)."""
        return bool(self.governed_by)

    def today(self) -> date:
        return self._clock.now().date()

    async def view(self) -> CostsView:
        bills, pledges = await self._store.bills(), await self._store.pledges()
        contributions, expenses = await self._store.contributions(), await self._store.expenses()
        summary = coverage(
            bills, pledges, contributions, self.currency, self.today(), expenses=expenses
        )
        return CostsView(summary, bills, pledges, contributions, expenses)

    async def hosting_paid_until(self) -> date | None:
        """The soonest renewal of a hosting bill: the day the hosting is paid up to."""
        dates = [b.renews_on for b in await self._store.bills() if b.kind == "hosting"]
        return min(dates, default=None)

    def bill(
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
        """A bill checked from what a form or a request gave (not recorded)."""
        kind = _kind(kind)
        renews = _day(renews_on, "renews_on")
        starts = _day(starts_on, "starts_on") if starts_on.strip() else self.today()
        return Bill(
            label=_text(label, "label"),
            kind=kind,
            amount=parse_amount(amount),
            currency=validate_currency(currency or self.currency),
            period_months=validate_period(period_months),
            starts_on=starts,
            renews_on=renews,
        )

    async def add_bill(self, **fields: Any) -> Bill:
        """Record a bill at once (the instance's costs are not a group's decision)."""
        return await self._store.add_bill(self.bill(**fields))

    async def propose_bill(self, *, author: str, **fields: Any) -> Proposal:
        """Open the ``spend`` decision that records the bill once adopted."""
        bill = self.bill(**fields)
        money = f"{format_amount(bill.amount)} {bill.currency}"
        return await self._propose_spend(
            author, f"Pay {bill.label}: {money} every {bill.period_months} month(s)",
            {"op": "bill", "bill": _bill_params(bill)},
        )  # fmt: skip

    def expense(
        self, *, label: str, amount: str, currency: str = "", spent_on: str = "", note: str = ""
    ) -> Expense:
        """An expense checked from what a form or a request gave (not recorded)."""
        if len(note) > 500:
            raise InvalidInput("must be at most 500 characters", field="note")
        return Expense(
            label=_text(label, "label"),
            amount=parse_amount(amount),
            currency=validate_currency(currency or self.currency),
            spent_on=_day(spent_on, "spent_on") if spent_on.strip() else self.today(),
            note=note.strip(),
        )

    async def propose_expense(self, *, author: str, **fields: Any) -> Proposal:
        """Open the ``spend`` decision that pays the expense from the pool once adopted."""
        if not self.governed:
            raise Conflict("spending from the pool needs [costs] group: the group that decides")
        expense = self.expense(**fields)
        money = f"{format_amount(expense.amount)} {expense.currency}"
        return await self._propose_spend(
            author, f"Spend {money} from the pool on {expense.label}",
            {"op": "expense", "expense": _expense_params(expense)},
        )  # fmt: skip

    async def _propose_spend(self, author: str, title: str, costs: dict[str, Any]) -> Proposal:
        if self._governance is None or self._groups is None:
            raise RuntimeError("Costs.attach(governance, groups) was not called")
        group = await self._groups.get(self.governed_by)
        if group is None or group.id is None:
            raise NotFound(f"[costs] group names no group here: {self.governed_by}")
        return await self._governance.propose(
            group.id, action=ActionKind.SPEND, author=author, title=title,
            params={"costs": costs},
        )  # fmt: skip

    async def carry_out(self, proposal: Proposal) -> str | None:
        """The ``spend`` effect on the costs (``ActionEffect``); None when not ours."""
        params = proposal.params.get("costs")
        if proposal.action != ActionKind.SPEND or not isinstance(params, dict):
            return None
        if params.get("op") == "expense" and isinstance(params.get("expense"), dict):
            try:
                expense = _expense_from_params(params["expense"])
            except (InvalidInput, KeyError, TypeError, ValueError) as exc:
                return f"not carried out: the expense is malformed ({exc})"
            paid = await self._store.add_expense(expense)
            return f"expense {paid.id} recorded: {expense.label}"
        if params.get("op") != "bill" or not isinstance(params.get("bill"), dict):
            return "params.costs needs op 'bill' and the bill, or op 'expense' and the expense"
        try:
            bill = _bill_from_params(params["bill"])
        except (InvalidInput, KeyError, TypeError, ValueError) as exc:
            return f"not carried out: the bill is malformed ({exc})"
        recorded = await self._store.add_bill(bill)
        return f"bill {recorded.id} recorded: {bill.label}"

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
        if kind not in ("bill", "pledge", "contribution", "expense"):
            raise NotFound(f"no such kind of cost row: {kind}")
        if not await self._store.remove(kind, row_id):
            raise NotFound(f"no {kind} {row_id}")

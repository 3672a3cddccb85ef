"""The costs use cases over an in-memory store: what is refused, and defaults."""

from __future__ import annotations

from datetime import timedelta

import pytest

from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.services.costs import Costs
from tests.fakes.governance import T0, FakeClock
from tests.fakes.status import MemoryCostsStore


@pytest.fixture
def costs() -> Costs:
    return Costs(MemoryCostsStore(), FakeClock(T0), "EUR")


async def test_defaults_are_today_and_the_instance_currency(costs: Costs) -> None:
    pledge = await costs.add_pledge(member=" ana ", amount="7.5", currency="")
    assert (pledge.member, pledge.amount, pledge.currency, pledge.starts_on) == (
        "ana", 750, "EUR", T0.date(),
    )  # fmt: skip
    gift = await costs.add_contribution(member="bo", amount="10", currency="usd")
    assert (gift.currency, gift.paid_on) == ("USD", T0.date())
    view = await costs.view()
    assert view.coverage.other_currencies == ("USD",)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"label": " "}, "label"),
        ({"kind": "yacht"}, "kind"),
        ({"amount": "-5"}, "amount"),
        ({"period_months": 121}, "period_months"),
        ({"renews_on": "31/01/2027"}, "renews_on"),
        ({"starts_on": "yesterday"}, "starts_on"),
        ({"currency": "EU"}, "currency"),
    ],
)
async def test_bills_refused_name_the_field(costs: Costs, fields: dict, field: str) -> None:
    good = {
        "label": "VPS", "kind": "hosting", "amount": "5", "currency": "EUR",
        "period_months": 1, "renews_on": "2027-01-31",
    }  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        await costs.add_bill(**{**good, **fields})
    assert refused.value.field == field


async def test_a_pledge_ends_after_it_starts(costs: Costs) -> None:
    with pytest.raises(InvalidInput) as refused:
        await costs.add_pledge(
            member="ana", amount="1", currency="EUR", starts_on="2027-01-01", ends_on="2027-01-01"
        )
    assert refused.value.field == "ends_on"


async def test_hosting_paid_until_is_the_soonest_hosting_renewal(costs: Costs) -> None:
    assert await costs.hosting_paid_until() is None
    for kind, days in (("hosting", 40), ("hosting", 12), ("domain", 3)):
        await costs.add_bill(
            label=kind, kind=kind, amount="1", currency="EUR", period_months=1,
            renews_on=(T0.date() + timedelta(days=days)).isoformat(),
        )  # fmt: skip
    assert await costs.hosting_paid_until() == T0.date() + timedelta(days=12)


async def test_remove(costs: Costs) -> None:
    gift = await costs.add_contribution(member="bo", amount="1", currency="EUR")
    assert gift.id is not None
    await costs.remove("contribution", gift.id)
    with pytest.raises(NotFound):
        await costs.remove("contribution", gift.id)
    with pytest.raises(NotFound):
        await costs.remove("yacht", 1)


async def test_spending_from_the_pool_needs_a_deciding_group(costs: Costs) -> None:
    with pytest.raises(Conflict, match=r"\[costs\] group"):
        await costs.propose_expense(author="ann", label="disk", amount="40")
    governed = Costs(MemoryCostsStore(), FakeClock(T0), "EUR", governed_by="commons")
    for fields, field in [
        ({"label": "", "amount": "40"}, "label"),
        ({"label": "disk", "amount": "-4"}, "amount"),
        ({"label": "disk", "amount": "4", "spent_on": "soon"}, "spent_on"),
        ({"label": "disk", "amount": "4", "note": "x" * 501}, "note"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            await governed.propose_expense(author="ann", **fields)
        assert refused.value.field == field
    expense = governed.expense(label=" disk ", amount="40")
    assert (expense.label, expense.amount, expense.currency, expense.spent_on) == (
        "disk", 4000, "EUR", T0.date(),
    )  # fmt: skip

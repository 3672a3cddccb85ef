"""Bills as ``spend`` decisions of the group ``[costs] group`` names, over PostgreSQL,
wired as the server wires them: proposed, recorded only once adopted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from imago_fed.app import build_runtime
from imago_fed.domain.errors import InvalidInput, NotFound
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.table import default_table, parse_changes
from imago_fed.web.runtime import Runtime

VPS = dict(label="VPS", kind="hosting", amount="12.50", currency="", period_months=1,
           renews_on="2027-01-01")  # fmt: skip


@pytest.fixture
async def rt(migrated_db: str, make_settings) -> AsyncIterator[Runtime]:
    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=4)
    try:
        yield build_runtime(make_settings(migrated_db, IMAGO_COSTS_GROUP="commons"), pool)
    finally:
        await pool.close()


async def test_a_bill_waits_for_the_groups_consent_then_is_recorded(rt: Runtime) -> None:
    assert rt.costs.governed
    with pytest.raises(NotFound, match="names no group here: commons"):
        await rt.costs.propose_bill(author="ann", **VPS)
    group = await rt.groups.create("commons", "Commons")
    assert group.id is not None

    # The default table: spend by consensus, objections for three days.
    waiting = await rt.costs.propose_bill(author="ann", **VPS)
    assert waiting.action == ActionKind.SPEND and waiting.state == "open"
    assert waiting.title == "Pay VPS: 12.50 EUR every 1 month(s)"
    assert waiting.params["costs"]["bill"]["amount"] == 1250
    assert (await rt.costs.view()).bills == []

    # Under do-ocracy the decision is taken at once, and the bill recorded.
    table = default_table().amended(parse_changes({"spend": {"protocol": "doocracy"}}))
    await rt.governance_store.save_table(group.id, table, datetime.now(UTC))
    adopted = await rt.costs.propose_bill(author="ann", **VPS)
    assert adopted.state == "executed", adopted.result
    assert (
        adopted.result["executed"].startswith("bill ")
        and "recorded: VPS" in adopted.result["executed"]
    )
    [bill] = (await rt.costs.view()).bills
    assert (bill.label, bill.amount, bill.currency) == ("VPS", 1250, "EUR")

    # Bad input is refused before any decision opens.
    with pytest.raises(InvalidInput):
        await rt.costs.propose_bill(author="ann", **{**VPS, "amount": "-3"})
    with pytest.raises(InvalidInput):
        await rt.costs.propose_bill(author="ann", **{**VPS, "kind": "yacht"})


async def test_a_hand_made_spend_decision_with_a_bad_bill_says_so(rt: Runtime) -> None:
    group = await rt.groups.create("commons", "Commons")
    assert group.id is not None
    table = default_table().amended(parse_changes({"spend": {"protocol": "doocracy"}}))
    await rt.governance_store.save_table(group.id, table, datetime.now(UTC))
    proposal = await rt.governance.propose(
        group.id, action=ActionKind.SPEND, title="by hand", author="ann",
        params={"costs": {"op": "bill", "bill": {"label": "x", "kind": "yacht"}}},
    )  # fmt: skip
    assert "the bill is malformed" in proposal.result["executed"]
    assert (await rt.costs.view()).bills == []


async def test_spending_from_the_pool_is_recorded_only_once_adopted(rt: Runtime) -> None:
    group = await rt.groups.create("commons", "Commons")
    assert group.id is not None
    await rt.costs.add_contribution(member="ann", amount="100", currency="")
    disk = dict(label="Disk", amount="40", note="2 TB")

    waiting = await rt.costs.propose_expense(author="ann", **disk)
    assert waiting.action == ActionKind.SPEND and waiting.state == "open"
    assert waiting.title == "Spend 40.00 EUR from the pool on Disk"
    assert waiting.params["costs"] == {
        "op": "expense",
        "expense": {"label": "Disk", "amount": 4000, "currency": "EUR",
                    "spent_on": waiting.params["costs"]["expense"]["spent_on"], "note": "2 TB"},
    }  # fmt: skip
    view = await rt.costs.view()
    assert view.expenses == [] and view.coverage.balance == 10000

    table = default_table().amended(parse_changes({"spend": {"protocol": "doocracy"}}))
    await rt.governance_store.save_table(group.id, table, datetime.now(UTC))
    adopted = await rt.costs.propose_expense(author="ann", **disk)
    assert adopted.state == "executed", adopted.result
    assert "recorded: Disk" in adopted.result["executed"]
    view = await rt.costs.view()
    assert [(e.label, e.amount, e.note) for e in view.expenses] == [("Disk", 4000, "2 TB")]
    assert view.coverage.balance == 6000

    # A hand-made decision with a broken expense records nothing and says why.
    broken = await rt.governance.propose(
        group.id, action=ActionKind.SPEND, title="by hand", author="ann",
        params={"costs": {"op": "expense", "expense": {"label": "x", "amount": -5}}},
    )  # fmt: skip
    assert "the expense is malformed" in broken.result["executed"]
    assert len((await rt.costs.view()).expenses) == 1

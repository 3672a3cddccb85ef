"""Admin API: the instance's costs (bills, pledges, contributions, expenses) and their coverage.

The same use cases as the costs pages (``services/costs.py``): amounts are
decimal strings ("12.50") in, minor units and formatted strings out.
"""

from __future__ import annotations

from typing import Any

from quart import Response, jsonify

from imago_fed.domain.costs import BILL_KINDS, Bill, Contribution, Coverage, Expense, Pledge
from imago_fed.web.admin import admin, api
from imago_fed.web.admin_governance import proposal_json
from imago_fed.web.errors import ApiError
from imago_fed.web.openapi import ERROR_REF, request_body
from imago_fed.web.runtime import runtime

__all__ = ["bill_json", "contribution_json", "coverage_json", "expense_json", "pledge_json"]

_MONEY = {"type": "integer", "description": "minor units (cents)"}
_AMOUNT_IN = {"type": "string", "maxLength": 20, "description": "a decimal amount, e.g. 12.50"}
_DATE_IN = {"type": "string", "maxLength": 10, "description": "YYYY-MM-DD"}
_CURRENCY_IN = {"type": "string", "maxLength": 3, "description": "ISO 4217; default: [costs]"}

BILL_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "label": {"type": "string"},
        "kind": {"type": "string", "enum": list(BILL_KINDS)}, "amount": _MONEY,
        "currency": {"type": "string"}, "period_months": {"type": "integer"},
        "starts_on": {"type": "string", "format": "date"},
        "renews_on": {"type": "string", "format": "date"},
    },
}  # fmt: skip
PLEDGE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "member": {"type": "string"}, "amount": _MONEY,
        "currency": {"type": "string"}, "starts_on": {"type": "string", "format": "date"},
        "ends_on": {"type": ["string", "null"], "format": "date"},
    },
}  # fmt: skip
CONTRIBUTION_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "member": {"type": "string"}, "amount": _MONEY,
        "currency": {"type": "string"}, "paid_on": {"type": "string", "format": "date"},
        "note": {"type": "string"},
    },
}  # fmt: skip
EXPENSE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "label": {"type": "string"}, "amount": _MONEY,
        "currency": {"type": "string"}, "spent_on": {"type": "string", "format": "date"},
        "note": {"type": "string"},
    },
}  # fmt: skip
COVERAGE_SCHEMA = {
    "type": "object",
    "properties": {
        "currency": {"type": "string"}, "monthly_cost": _MONEY, "monthly_pledged": _MONEY,
        "pledged_ratio": {"type": ["number", "null"]}, "balance": _MONEY,
        "months_ahead": {"type": ["number", "null"]},
        "runs_out_on": {"type": ["string", "null"], "format": "date"},
        "months": {"type": "array", "items": {"type": "object"}},
        "other_currencies": {"type": "array", "items": {"type": "string"}},
    },
}  # fmt: skip
SUMMARY_SCHEMA = {
    "type": "object",
    "properties": {
        "coverage": COVERAGE_SCHEMA,
        "bills": {"type": "array", "items": BILL_SCHEMA},
        "pledges": {"type": "array", "items": PLEDGE_SCHEMA},
        "contributions": {"type": "array", "items": CONTRIBUTION_SCHEMA},
        "expenses": {"type": "array", "items": EXPENSE_SCHEMA},
    },
}
NEW_BILL = {
    "type": "object",
    "required": ["label", "kind", "amount", "period_months", "renews_on"],
    "properties": {
        "label": {"type": "string", "maxLength": 200},
        "kind": {"type": "string", "enum": list(BILL_KINDS)},
        "amount": _AMOUNT_IN, "currency": _CURRENCY_IN,
        "period_months": {"type": "integer", "minimum": 1, "maximum": 120},
        "starts_on": _DATE_IN, "renews_on": _DATE_IN,
        "author": {"type": "string", "maxLength": 2048,
                   "description": "who proposes it, when [costs] group decides bills"},
    },
}  # fmt: skip
NEW_PLEDGE = {
    "type": "object",
    "required": ["member", "amount"],
    "properties": {
        "member": {"type": "string", "maxLength": 200}, "amount": _AMOUNT_IN,
        "currency": _CURRENCY_IN, "starts_on": _DATE_IN, "ends_on": _DATE_IN,
    },
}  # fmt: skip
NEW_CONTRIBUTION = {
    "type": "object",
    "required": ["member", "amount"],
    "properties": {
        "member": {"type": "string", "maxLength": 200}, "amount": _AMOUNT_IN,
        "currency": _CURRENCY_IN, "paid_on": _DATE_IN, "note": {"type": "string", "maxLength": 500},
    },
}  # fmt: skip
NEW_EXPENSE = {
    "type": "object",
    "required": ["label", "amount"],
    "properties": {
        "label": {"type": "string", "maxLength": 200}, "amount": _AMOUNT_IN,
        "currency": _CURRENCY_IN, "spent_on": _DATE_IN,
        "note": {"type": "string", "maxLength": 500},
        "author": {"type": "string", "maxLength": 2048, "description": "who proposes it"},
    },
}  # fmt: skip
PROPOSAL_SCHEMA = {"type": "object", "description": "a proposal, as GET /proposals/{id} shows it"}
KINDS = {
    "bills": "bill", "pledges": "pledge", "contributions": "contribution", "expenses": "expense"
}  # fmt: skip


def bill_json(b: Bill) -> dict[str, Any]:
    return {
        "id": b.id, "label": b.label, "kind": b.kind, "amount": b.amount,
        "currency": b.currency, "period_months": b.period_months,
        "starts_on": b.starts_on.isoformat(), "renews_on": b.renews_on.isoformat(),
    }  # fmt: skip


def pledge_json(p: Pledge) -> dict[str, Any]:
    return {
        "id": p.id, "member": p.member, "amount": p.amount, "currency": p.currency,
        "starts_on": p.starts_on.isoformat(),
        "ends_on": p.ends_on.isoformat() if p.ends_on else None,
    }  # fmt: skip


def contribution_json(c: Contribution) -> dict[str, Any]:
    return {
        "id": c.id, "member": c.member, "amount": c.amount, "currency": c.currency,
        "paid_on": c.paid_on.isoformat(), "note": c.note,
    }  # fmt: skip


def expense_json(e: Expense) -> dict[str, Any]:
    return {
        "id": e.id, "label": e.label, "amount": e.amount, "currency": e.currency,
        "spent_on": e.spent_on.isoformat(), "note": e.note,
    }  # fmt: skip


def coverage_json(c: Coverage) -> dict[str, Any]:
    return {
        "currency": c.currency,
        "monthly_cost": c.monthly_cost,
        "monthly_pledged": c.monthly_pledged,
        "pledged_ratio": c.pledged_ratio,
        "balance": c.balance,
        "months_ahead": c.months_ahead,
        "runs_out_on": c.runs_out_on.isoformat() if c.runs_out_on else None,
        "months": [
            {"month": m.month.isoformat()[:7], "cost": m.cost, "paid": m.paid} for m in c.months
        ],
        "other_currencies": list(c.other_currencies),
    }


@api.route(
    admin, "/costs", "GET", summary="Coverage, bills, pledges and contributions",
    responses={200: ("the costs", SUMMARY_SCHEMA)},
)  # fmt: skip
async def get_costs() -> Response:
    view = await runtime().costs.view()
    return jsonify(
        {
            "coverage": coverage_json(view.coverage),
            "bills": [bill_json(b) for b in view.bills],
            "pledges": [pledge_json(p) for p in view.pledges],
            "contributions": [contribution_json(c) for c in view.contributions],
            "expenses": [expense_json(e) for e in view.expenses],
        }
    )


@api.route(
    admin, "/costs/bills", "POST",
    summary="Record a bill; when [costs] group is set, open that group's spend decision"
    " instead (the bill is recorded once it is adopted)",
    request_schema=NEW_BILL,
    responses={
        201: ("the bill", BILL_SCHEMA),
        202: ("the spend decision opened (result.executed: what was done)", PROPOSAL_SCHEMA),
        404: ("[costs] group names no group", ERROR_REF),
        422: ("invalid input", ERROR_REF),
    },
)  # fmt: skip
async def add_bill() -> tuple[Response, int]:
    body = request_body()
    costs = runtime().costs
    fields: dict[str, Any] = dict(
        label=body["label"], kind=body["kind"], amount=body["amount"],
        currency=body.get("currency", ""), period_months=body["period_months"],
        renews_on=body["renews_on"], starts_on=body.get("starts_on", ""),
    )  # fmt: skip
    if costs.governed:
        author = str(body.get("author") or "admin")
        return jsonify(proposal_json(await costs.propose_bill(author=author, **fields))), 202
    return jsonify(bill_json(await costs.add_bill(**fields))), 201


@api.route(
    admin, "/costs/pledges", "POST", summary="Record a pledge (an amount per month)",
    request_schema=NEW_PLEDGE,
    responses={201: ("the pledge", PLEDGE_SCHEMA), 422: ("invalid input", ERROR_REF)},
)  # fmt: skip
async def add_pledge() -> tuple[Response, int]:
    body = request_body()
    pledge = await runtime().costs.add_pledge(
        member=body["member"], amount=body["amount"], currency=body.get("currency", ""),
        starts_on=body.get("starts_on", ""), ends_on=body.get("ends_on", ""),
    )  # fmt: skip
    return jsonify(pledge_json(pledge)), 201


@api.route(
    admin, "/costs/contributions", "POST", summary="Record a contribution (money received)",
    request_schema=NEW_CONTRIBUTION,
    responses={201: ("the contribution", CONTRIBUTION_SCHEMA), 422: ("invalid input", ERROR_REF)},
)  # fmt: skip
async def add_contribution() -> tuple[Response, int]:
    body = request_body()
    contribution = await runtime().costs.add_contribution(
        member=body["member"], amount=body["amount"], currency=body.get("currency", ""),
        paid_on=body.get("paid_on", ""), note=body.get("note", ""),
    )  # fmt: skip
    return jsonify(contribution_json(contribution)), 201


@api.route(
    admin, "/costs/expenses", "POST",
    summary="Propose spending from the pool: opens the spend decision of [costs] group;"
    " the expense is recorded once it is adopted",
    request_schema=NEW_EXPENSE,
    responses={
        202: ("the spend decision opened (result.executed: what was done)", PROPOSAL_SCHEMA),
        404: ("[costs] group names no group", ERROR_REF),
        409: ("no [costs] group is set: nobody can decide it", ERROR_REF),
        422: ("invalid input", ERROR_REF),
    },
)  # fmt: skip
async def add_expense() -> tuple[Response, int]:
    body = request_body()
    proposal = await runtime().costs.propose_expense(
        author=str(body.get("author") or "admin"), label=body["label"], amount=body["amount"],
        currency=body.get("currency", ""), spent_on=body.get("spent_on", ""),
        note=body.get("note", ""),
    )  # fmt: skip
    return jsonify(proposal_json(proposal)), 202


@api.route(
    admin, "/costs/<which>/<int:row_id>", "DELETE",
    summary="Remove a bill, pledge, contribution or expense"
    " (which: bills, pledges, contributions, expenses)",
    responses={204: ("removed", None), 404: ("no such row", ERROR_REF)},
)  # fmt: skip
async def remove_cost(which: str, row_id: int) -> Response:
    if which not in KINDS:
        raise ApiError(404, "not_found", f"no {which} {row_id}")
    await runtime().costs.remove(KINDS[which], row_id)
    return Response("", status=204)

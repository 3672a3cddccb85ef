"""The costs pages: what the instance pays, who pledged, what came in, how long it lasts.

    GET  /admin/costs                              the summary and the three lists
    POST /admin/costs/bills | pledges | contributions   add one (then back to the list);
                                                   a bill is a spend decision of the
                                                   group [costs] group names, if any
    POST /admin/costs/expenses                     propose spending from the pool (always
                                                   a spend decision; recorded once adopted)
    POST /admin/costs/<kind>/<id>/delete           remove one

Posts redirect back (303) so a reload does not record twice; a refused value
re-renders the page with the message next to the form (422). CSRF is checked
for every POST by the admin blueprint's rule, repeated here for this blueprint.
"""

from __future__ import annotations

import contextlib
from typing import Any

from quart import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response as WerkzeugResponse

from imago_fed.domain.costs import BILL_KINDS, format_amount
from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.web.pages.session import require_admin, verify_csrf
from imago_fed.web.params import ascii_int
from imago_fed.web.runtime import runtime

__all__ = ["costs_pages"]

costs_pages = Blueprint("costs_pages", __name__, url_prefix="/admin/costs")
KINDS = {
    "bills": "bill", "pledges": "pledge", "contributions": "contribution", "expenses": "expense"
}  # fmt: skip


@costs_pages.before_request
async def _csrf() -> None:
    if request.method == "POST":
        await verify_csrf()


async def _page(
    error: InvalidInput | None = None, form: str = "", status: int = 200, proposed: str = ""
) -> Response:
    rt = runtime()
    proposal = None
    if proposed.isdigit() and len(proposed) < 19:
        with contextlib.suppress(NotFound):  # a stale link: the page without the notice
            proposal = await rt.governance.get(int(proposed))
    view = await rt.costs.view()
    body = await render_template(
        "costs.html",
        view=view,
        coverage=view.coverage,
        money=format_amount,
        kinds=BILL_KINDS,
        currency=rt.costs.currency,
        today=rt.costs.today().isoformat(),
        error=error,
        error_form=form,
        proposal=proposal,
        deciding_group=rt.costs.governed_by,
    )
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


@costs_pages.get("/")
@require_admin
async def costs_page() -> Response:
    return await _page(proposed=request.args.get("proposed", ""))


def _int(value: str, field: str) -> int:
    number = ascii_int(value.strip())
    if number is None:
        raise InvalidInput("must be a whole number", field=field)
    return number


async def _add(which: str, form: Any) -> int | None:
    """Record the row; when bills are a group's decision, the proposal's id instead."""
    costs = runtime().costs
    if which == "bills":
        fields: dict[str, Any] = dict(
            label=form.get("label", ""),
            kind=form.get("kind", ""),
            amount=form.get("amount", ""),
            currency=form.get("currency", ""),
            period_months=_int(form.get("period_months", ""), "period_months"),
            renews_on=form.get("renews_on", ""),
            starts_on=form.get("starts_on", ""),
        )
        if costs.governed:
            return (await costs.propose_bill(author="admin", **fields)).id
        await costs.add_bill(**fields)
    elif which == "expenses":
        proposal = await costs.propose_expense(
            author="admin",
            label=form.get("label", ""),
            amount=form.get("amount", ""),
            currency=form.get("currency", ""),
            spent_on=form.get("spent_on", ""),
            note=form.get("note", ""),
        )
        return proposal.id
    elif which == "pledges":
        await costs.add_pledge(
            member=form.get("member", ""),
            amount=form.get("amount", ""),
            currency=form.get("currency", ""),
            starts_on=form.get("starts_on", ""),
            ends_on=form.get("ends_on", ""),
        )
    else:
        await costs.add_contribution(
            member=form.get("member", ""),
            amount=form.get("amount", ""),
            currency=form.get("currency", ""),
            paid_on=form.get("paid_on", ""),
            note=form.get("note", ""),
        )
    return None


@costs_pages.post("/<which>")
@require_admin
async def add(which: str) -> Response | WerkzeugResponse:
    if which not in KINDS:
        return Response("no such list", status=404)
    try:
        proposal = await _add(which, await request.form)
    except InvalidInput as exc:
        return await _page(exc, which, 422)
    except Conflict as exc:  # an expense with no group to decide it
        return await _page(InvalidInput(exc.message, field="group"), which, 409)
    if proposal is not None:
        return redirect(url_for("costs_pages.costs_page", proposed=proposal) + f"#{which}", 303)
    return redirect(url_for("costs_pages.costs_page") + f"#{which}", 303)


@costs_pages.post("/<which>/<int:row_id>/delete")
@require_admin
async def remove(which: str, row_id: int) -> Response | WerkzeugResponse:
    if which not in KINDS:
        return Response("no such list", status=404)
    await runtime().costs.remove(KINDS[which], row_id)
    return redirect(url_for("costs_pages.costs_page") + f"#{which}", 303)

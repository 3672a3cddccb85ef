"""The admin pages: sign in and out, and the status dashboard.

    /admin             -> /admin/status
    /admin/sign-in     GET the form, POST the admin token (wrong token: 401)
    /admin/sign-out    POST (a link would let any page sign you out)
    /admin/status      the checks, the queue and delivery charts, cost coverage

A POST without the session's CSRF token is refused with 403 before any
handler runs (see ``_csrf`` below).
"""

from __future__ import annotations

from datetime import datetime

from quart import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response as WerkzeugResponse

from imago_fed.domain.costs import format_amount
from imago_fed.domain.status import worst
from imago_fed.web.pages import charts
from imago_fed.web.pages.session import (
    CsrfRefused,
    require_admin,
    safe_next,
    sign_in,
    sign_out,
    token_matches,
    verify_csrf,
)
from imago_fed.web.runtime import runtime

__all__ = ["admin_pages", "csrf_refused_page"]

admin_pages = Blueprint("admin_pages", __name__, url_prefix="/admin")
CHART_DAYS = 3


def _html(body: str, status: int = 200) -> Response:
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


async def csrf_refused_page(_exc: CsrfRefused) -> Response:
    return _html(await render_template("refused.html"), 403)


@admin_pages.before_request
async def _csrf() -> None:
    if request.method == "POST":
        await verify_csrf()


@admin_pages.get("/")
async def index() -> WerkzeugResponse:
    return redirect(url_for("admin_pages.status_page"))


@admin_pages.get("/sign-in")
async def sign_in_form() -> Response:
    return _html(
        await render_template("sign_in.html", next=safe_next(request.args.get("next")), error=None)
    )


@admin_pages.post("/sign-in")
async def sign_in_submit() -> Response | WerkzeugResponse:
    form = await request.form
    target = safe_next(form.get("next"))
    if not token_matches(form.get("token", "")):
        body = await render_template(
            "sign_in.html", next=target, error="That token is not the admin token."
        )
        return _html(body, 401)
    sign_in()
    return redirect(target, 303)


@admin_pages.post("/sign-out")
async def sign_out_submit() -> WerkzeugResponse:
    sign_out()
    return redirect(url_for("admin_pages.sign_in_form"), 303)


def _hour_label(hour: datetime) -> str:
    return hour.strftime("%d %b %H:00")


@admin_pages.get("/status")
@require_admin
async def status_page() -> Response:
    rt = runtime()
    checks = await rt.status_board.checks()
    hours = await rt.status_board.hours(CHART_DAYS)
    labels = [_hour_label(h.hour) for h in hours]
    queue_chart = charts.line(
        f"Deliveries waiting, per hour, last {CHART_DAYS} days",
        labels,
        [charts.Series("waiting", "c1", [h.waiting for h in hours])],
    )
    delivered_chart = charts.bars(
        f"Deliveries made per hour, last {CHART_DAYS} days",
        labels,
        [charts.Series("delivered", "c2", [h.delivered for h in hours])],
    )
    view = await rt.costs.view()
    months = view.coverage.months
    coverage_chart = charts.bars(
        f"Costs and contributions per month ({view.coverage.currency})",
        [m.month.strftime("%b %Y") for m in months],
        [
            charts.Series("costs", "c3", [m.cost / 100 for m in months]),
            charts.Series("contributions", "c2", [m.paid / 100 for m in months]),
        ],
    )
    return _html(
        await render_template(
            "status.html",
            checks=checks,
            overall=worst(checks),
            charts=[queue_chart, delivered_chart, coverage_chart],
            coverage=view.coverage,
            money=format_amount,
        )
    )

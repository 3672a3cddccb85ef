"""The invitation page: /invite/<code> in a browser.

An invitation link opens this page: the group, what the invitation allows,
and a form where the invited person gives their Matrix id (``@me:server``)
or fediverse handle (``@me@host``). Posting it (with the CSRF token) redeems
the code through the same use case as the bot and the admin API: admitted at
once, or an ``admit`` proposal, as the group's table says. An unknown code
is a 404 page, an expired or used-up one says so; neither shows a form.
"""

from __future__ import annotations

from quart import Blueprint, Response, render_template, request

from imago_fed.domain.errors import DomainError, NotFound
from imago_fed.web.pages.session import verify_csrf
from imago_fed.web.runtime import runtime

__all__ = ["invite_pages"]

invite_pages = Blueprint("invite_pages", __name__)


def _html(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type="text/html; charset=utf-8")


async def _page(code: str, *, message: str = "", error: str = "", status: int = 200) -> Response:
    rt = runtime()
    membership = rt.membership
    assert membership is not None
    try:
        invitation, group = await membership.invitation(code)
    except NotFound as exc:
        return _html(await render_template("invite.html", refusal=exc.message), 404)
    except DomainError as exc:  # expired, revoked, used up
        return _html(await render_template("invite.html", refusal=exc.message), 410)
    body = await render_template(
        "invite.html", group=group, invitation=invitation, code=code, message=message,
        error=error, handle=f"@{group.slug}@{rt.settings.instance.domain}",
        matrix=rt.matrix is not None,
    )  # fmt: skip
    return _html(body, status)


@invite_pages.get("/invite/<code>")
async def invite(code: str) -> Response:
    return await _page(code)


@invite_pages.post("/invite/<code>")
async def redeem(code: str) -> Response:
    await verify_csrf()
    form = await request.form
    who = str(form.get("member", "")).strip()[:300]
    membership = runtime().membership
    assert membership is not None
    if not who:
        return await _page(code, error="Give your Matrix id or fediverse handle.", status=422)
    try:
        message = await membership.redeem(code, who)
    except DomainError as exc:
        return await _page(code, error=exc.message, status=422)
    return await _page(code, message=message)

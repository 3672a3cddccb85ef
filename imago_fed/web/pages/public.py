"""Public pages: the instance's groups, one group in a browser, the status summary.

``/groups/<slug>`` itself belongs to the federation blueprint, which answers
the ActivityPub document unless the browser asks for HTML; it then calls
:func:`group_page` here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from quart import Blueprint, Response, render_template, request

from imago_fed.domain.costs import coverage_sentence
from imago_fed.domain.groups import Group
from imago_fed.domain.status import worst
from imago_fed.web.errors import ApiError
from imago_fed.web.runtime import runtime

__all__ = ["group_page", "public_pages"]

public_pages = Blueprint("public_pages", __name__)
HOME_PAGE_SIZE = 50


def _html(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type="text/html; charset=utf-8")


@public_pages.get("/")
async def home() -> Response:
    rt = runtime()
    after = request.args.get("after") or None
    page = list(await rt.groups.list(limit=HOME_PAGE_SIZE, after=after))
    groups = [group for group in page if group.discoverable]
    more = page[-1].slug if len(page) == HOME_PAGE_SIZE else None
    return _html(await render_template("home.html", groups=groups, more=more, after=after))


def _matrix_link(slug: str) -> str | None:
    rt = runtime()
    if rt.matrix is None:
        return None
    return "https://matrix.to/#/" + quote(rt.matrix.ids.space_alias(slug), safe="")


async def _proposals(group: Group) -> list[dict[str, Any]]:
    """Open proposals first, then the latest decided ones, with their results."""
    rt = runtime()
    assert group.id is not None
    proposals = await rt.governance.list_proposals(group.id)
    proposals.sort(key=lambda p: (p.state != "open", -(p.id or 0)))
    shown = []
    for proposal in proposals[:20]:
        described = await rt.governance.describe(proposal)
        election = (
            await rt.elections.for_proposal(proposal.id)
            if described["secret"] and proposal.id is not None
            else None
        )
        described["election_id"] = election.id if election is not None else None
        described["election_state"] = election.state if election is not None else None
        effects = await rt.effects.of_proposal(proposal.id or 0) if rt.effects else []
        described["effects"] = [(e["name"], e["state"]) for e in effects]
        shown.append(described)
    return shown


async def group_page(group: Group) -> Response:
    rt = runtime()
    handle = f"@{group.slug}@{rt.settings.instance.domain}"
    body = await render_template(
        "group.html",
        group=group,
        handle=handle,
        actor_url=rt.ids.group(group.slug),
        matrix_link=_matrix_link(group.slug),
        proposals=await _proposals(group),
        place=getattr(group, "place", None),
        faces=await _faces(group),
        themes=list(getattr(group, "themes", None) or ()),
    )
    response = _html(body)
    response.headers["Vary"] = "Accept"
    return response


async def _faces(group: Group) -> dict[str, dict[str, str]]:
    """The group's avatar and header as the page shows them: a URL and the alt text."""
    rt = runtime()
    if rt.faces is None or group.id is None:
        return {}
    return {
        role: {"url": f"{rt.ids.base_url}/media/{face.media_id}", "alt": face.name}
        for role, face in (await rt.faces.of(group.id)).items()
    }


@public_pages.get("/status")
async def public_status() -> Response:
    rt = runtime()
    if not rt.settings.status.public:
        raise ApiError(404, "not_found", "this instance does not publish its status")
    checks = await rt.status_board.checks()
    costs = coverage_sentence((await rt.costs.view()).coverage)  # members see who chips in
    return _html(
        await render_template(
            "public_status.html", checks=checks, overall=worst(checks), costs=costs
        )
    )

"""The voting booth: ``/elections/<id>/booth``, where a voter encrypts in the browser.

The server renders the questions as the proposal defines them (one form per
counting method, each unable to express an invalid ballot) and embeds the
election parameters, so the page needs no request but the one that casts.
Encryption, proofs and the credential's signature happen in the page's
script (``static/booth``); the server only ever receives the encrypted
ballot, through the same ``POST /elections/<id>/ballots`` as the command
line, and checks it in full there.

The credential is typed in, or arrives in the link's fragment
(``…/booth#XXX-XXX-XXX-XXX-XXX``), which browsers never send to a server;
a query string would land in access logs, so none is read.
"""

from __future__ import annotations

from quart import Blueprint, Response, render_template, request

from imago_fed.domain.governance.counting import MJ_GRADES
from imago_fed.web.pages.booth_text import TEXT, pick_language
from imago_fed.web.runtime import runtime

__all__ = ["booth_pages"]

booth_pages = Blueprint("booth_pages", __name__)


@booth_pages.get("/elections/<int:election_id>/booth")
async def booth(election_id: int) -> Response:
    described = await runtime().elections.describe(election_id)
    proposal = await runtime().governance.get(described["proposal_id"])
    language = pick_language(request.accept_languages)
    text = TEXT[language]
    grades = list(text["grades"])[:MJ_GRADES]  # type: ignore[call-overload]
    data = {
        "id": described["id"],
        "method": described["method"],
        "options": described["options"],
        "grades": MJ_GRADES,
        "election": described["election"],
        "ballots": f"/elections/{election_id}/ballots",
        "audits": f"/elections/{election_id}/audits",
        "trackers": f"/elections/{election_id}/trackers",
        "text": text["script"],
    }
    body = await render_template(
        "booth.html",
        lang=language,
        t=text,
        title=proposal.title,
        election=described,
        is_open=described["state"] == "open" and described["election"] is not None,
        grades=grades,
        data=data,
        params_url=f"{runtime().settings.instance.base_url}/elections/{election_id}",
    )
    response = Response(body, content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept-Language"
    # The page runs only its own scripts and talks only to this server; the
    # credential must not leak through a referrer either.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response

"""A group's offers and needs as other servers fetch them: the FEP-0837
Proposal at its id (typed Proposal and Note, so Mastodon shows it too).

A pending intent (its decision not taken yet) is not public: 404. A
withdrawn or expired one answers 410 with a Tombstone, as a deleted post does.
"""

from __future__ import annotations

import json

from quart import Response

from imago_fed.activitypub import resources as wire
from imago_fed.activitypub.vocab import ACTIVITY_JSON
from imago_fed.domain.errors import NotFound
from imago_fed.domain.ports.resources import StoredIntent
from imago_fed.web.federation import federation
from imago_fed.web.runtime import runtime

__all__ = ["intent_proposal"]


def _json(document: object, status: int = 200) -> Response:
    return Response(
        json.dumps(document, ensure_ascii=False),
        status=status,
        content_type=f"{ACTIVITY_JSON}; charset=utf-8",
        headers={"Vary": "Accept", "Access-Control-Allow-Origin": "*"},
    )


async def _public(slug: str, intent_id: int) -> StoredIntent | Response:
    rt = runtime()
    group = await rt.groups.get(slug)  # NotFound -> 404
    if rt.resources is None:
        raise NotFound("no resources here")
    stored = await rt.resources.intent(intent_id)
    if stored.group_id != group.id or stored.intent.state == "pending":
        raise NotFound(f"no intent {intent_id} in {slug}")
    if stored.intent.state in ("withdrawn", "expired"):
        gone = {"@context": wire.RESOURCE_CONTEXT, "id": stored.ap_id, "type": "Tombstone",
                "formerType": "Proposal", "status": stored.intent.state}  # fmt: skip
        return _json(gone, 410)
    return stored


@federation.get("/groups/<slug>/intents/<int:intent_id>")
async def intent_proposal(slug: str, intent_id: int) -> Response:
    found = await _public(slug, intent_id)
    if isinstance(found, Response):
        return found
    return _json(wire.proposal(runtime().ids, slug, found))

"""The graph as other servers read it: a group's accepted relations.

The actor links it as ``relations`` (``imago:relations``); each item is an
``as:Relationship`` (subject, relationship = kind IRI, object), so any server
can walk the graph of groups without asking us anything else.
"""

from __future__ import annotations

import json

from quart import Response

from imago_fed.activitypub.relations import relations_collection, relationship_item
from imago_fed.activitypub.vocab import ACTIVITY_JSON
from imago_fed.web.federation import federation
from imago_fed.web.runtime import runtime

__all__ = ["group_relations"]


@federation.get("/groups/<slug>/relations")
async def group_relations(slug: str) -> Response:
    rt = runtime()
    await rt.groups.get(slug)  # NotFound -> 404
    if rt.relations is None:
        items = []
    else:
        accepted = await rt.relations.list(slug, frozenset({"accepted"}))
        items = [relationship_item(r) for r in accepted]
    document = relations_collection(f"{rt.ids.group(slug)}/relations", items)
    return Response(
        json.dumps(document, ensure_ascii=False),
        content_type=f"{ACTIVITY_JSON}; charset=utf-8",
        headers={"Vary": "Accept", "Access-Control-Allow-Origin": "*"},
    )

"""Admin API for a group's place, themes and proximity settings, and its nearest groups.

The place and themes are set through ``PATCH /api/v1/groups/{slug}`` (with the
name and summary, web/admin_groups.py); this module holds their shapes, the
helper that applies them, and ``GET /api/v1/groups/{slug}/nearby``.
"""

from __future__ import annotations

from typing import Any

from quart import Response, jsonify, request

from imago_fed.domain.graph.proximity import MAX_HOPS, MAX_K
from imago_fed.domain.ports.graph import NodeProfile
from imago_fed.services.proximity import Proximity
from imago_fed.web.admin import admin, api
from imago_fed.web.errors import ApiError
from imago_fed.web.openapi import ERROR_REF
from imago_fed.web.runtime import runtime

__all__ = ["GRAPH_FIELDS", "GRAPH_PROPERTIES", "apply_graph_fields", "graph_json"]

PLACE = {
    "type": ["object", "null"],
    "description": 'a WikiData place {"wikidata": "Q90"} (coordinates from the gazetteer), or'
    ' {"lat": 48.85, "lon": 2.35, "label": "Paris"} (optionally with "wikidata"); null clears',
    "properties": {
        "wikidata": {"type": "string", "maxLength": 100},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "label": {"type": "string", "maxLength": 200},
    },
    "additionalProperties": False,
}
THEMES = {
    "type": "array",
    "description": "WikiData ids of the group's themes (Q7397 or an entity IRI), at most 50",
    "items": {"type": "string", "maxLength": 100},
    "maxItems": 50,
}
WEIGHTS = {
    "type": "object",
    "description": "how the group weighs proximity: geo, theme, graph (>= 0), scale_km (where"
    " geographic closeness falls to 1/e), decay (per hop beyond the first); missing keys stay",
    "properties": {
        name: {"type": "number", "minimum": 0}
        for name in ("geo", "theme", "graph", "scale_km", "decay")
    },
    "additionalProperties": False,
}
# What PATCH /groups/{slug} accepts besides name and summary, and what it answers.
GRAPH_PROPERTIES: dict[str, Any] = {"place": PLACE, "themes": THEMES, "proximity": WEIGHTS}
GRAPH_FIELDS = tuple(GRAPH_PROPERTIES)
GRAPH_RESPONSE: dict[str, Any] = {
    "place": {"type": ["object", "null"]},
    "themes": {"type": "array", "items": {"type": "object"}},
    "proximity": {"type": "object"},
}
NEARBY_ITEM = {
    "type": "object",
    "required": ["actor", "handle", "score", "distance_km", "shared_themes", "hops", "why"],
    "properties": {
        "actor": {"type": "string"},
        "handle": {"type": ["string", "null"]},
        "score": {"type": "number"},
        "distance_km": {"type": ["number", "null"]},
        "shared_themes": {"type": "array", "items": {"type": "string"}},
        "hops": {"type": ["integer", "null"]},
        "why": {"type": "string"},
    },
}
NEARBY = {"type": "object", "properties": {"items": {"type": "array", "items": NEARBY_ITEM}}}


def _proximity() -> Proximity:
    found = runtime().proximity
    if found is None:
        raise ApiError(503, "unavailable", "proximity is not wired in this process")
    return found


async def graph_json(proximity: Proximity, profile: NodeProfile) -> dict[str, Any]:
    """The group's place, themes (with labels) and weights, as the admin API shows them."""
    labels = await proximity.theme_labels(profile.themes)
    return {
        "place": profile.place.to_dict() if profile.place else None,
        "themes": [{"wikidata": q, "label": labels.get(q)} for q in profile.themes],
        "proximity": profile.weights.to_dict(),
    }


async def apply_graph_fields(slug: str, body: dict[str, Any]) -> dict[str, Any]:
    """Apply the graph fields present in a PATCH body; answer the group's graph view."""
    proximity = _proximity()
    given = {name: body[name] for name in GRAPH_FIELDS if name in body}
    profile = await proximity.update(slug, **given) if given else await proximity.profile(slug)
    return await graph_json(proximity, profile)


def _whole(name: str, default: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise ApiError(422, "invalid_input", f"{name}: a whole number from 1 to {high}")
    return int(raw)


@api.route(
    admin, "/groups/<slug>/nearby", "GET",
    summary="The k groups closest to this one (local and remote), best first, each with"
    " its distance, shared themes, hops and why",
    query={"k": {"type": "integer", "minimum": 1, "maximum": MAX_K},
           "hops": {"type": "integer", "minimum": 1, "maximum": MAX_HOPS}},
    responses={200: ("the closest groups", NEARBY), 404: ("no such group", ERROR_REF),
               422: ("invalid k or hops", ERROR_REF)},
)  # fmt: skip
async def nearby(slug: str) -> Response:
    k, hops = _whole("k", 50, MAX_K), _whole("hops", 3, MAX_HOPS)
    found = await _proximity().nearby(slug, k, hops=hops)
    return jsonify({"items": [n.to_dict() for n in found]})

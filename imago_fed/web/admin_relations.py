"""Admin API for the graph of groups: relations, feed rules, propagations.

Every change is a decision of the acting group: these handlers open a
``relate`` or ``propagate`` proposal (adopted at once under the default
do-ocracy) and answer 202 with it; ``result.executed`` says what was done.
"""

from __future__ import annotations

from typing import Any

from quart import Response, jsonify, request

from imago_fed.domain.graph.relations import RELATION_STATES
from imago_fed.services.propagation import Propagation, item_json
from imago_fed.services.relations import Relations, relation_json
from imago_fed.web.admin import admin, api
from imago_fed.web.admin_governance import proposal_json
from imago_fed.web.errors import ApiError
from imago_fed.web.openapi import ERROR_REF, request_body
from imago_fed.web.runtime import runtime

OBJ = {"type": "object"}
LIST = {"type": "object", "properties": {"items": {"type": "array"}}}
NOT_FOUND = ("no such group, relation or item", ERROR_REF)
INVALID = ("invalid input (unknown kind, a relation to oneself, ...)", ERROR_REF)
DECIDED = ("the decision opened (result.executed: what was done)", OBJ)
AUTHOR = {"author": {"type": "string", "maxLength": 2048}}
RELATE = {
    "type": "object",
    "required": ["target", "kind"],
    "properties": {
        "target": {"type": "string", "maxLength": 2048},
        "kind": {"type": "string", "maxLength": 32},
        **AUTHOR,
    },
}
ACT = {"type": "object", "properties": AUTHOR}
FEED_RULES = {
    "type": "object",
    "properties": {
        "enabled": {"type": "boolean"},
        "accept": {"type": "object"},
        "blocked": {"type": "array", "items": {"type": "string"}},
        "reannounce": {"type": "string", "enum": ["hold", "at_once"]},
        "rate_limit": {"type": "object"},
    },
}
PROPAGATE = {
    "type": "object",
    "required": ["object"],
    "properties": {
        "object": {"type": "string", "maxLength": 2048},
        "criteria": {"type": "object"},
        **AUTHOR,
    },
}


def _relations() -> Relations:
    found = runtime().relations
    if found is None:
        raise ApiError(503, "unavailable", "relations are not wired in this process")
    return found


def _propagation() -> Propagation:
    found = runtime().propagation
    if found is None:
        raise ApiError(503, "unavailable", "propagation is not wired in this process")
    return found


def _author() -> tuple[dict[str, Any], str]:
    body = request_body()
    return body, str(body.get("author") or "admin")


# --------------------------------------------------------------- relations
@api.route(
    admin, "/groups/<slug>/relations", "GET",
    summary="The group's relations (query state: proposed, accepted, ...)",
    query={"state": {"type": "string", "enum": sorted(RELATION_STATES)}},
    responses={200: ("relations, newest first", LIST), 404: NOT_FOUND},
)  # fmt: skip
async def list_relations(slug: str) -> Response:
    state = request.args.get("state")
    if state is not None and state not in RELATION_STATES:
        raise ApiError(422, "invalid_input", f"state: one of {', '.join(sorted(RELATION_STATES))}")
    relations = _relations()
    found = await relations.list(slug, frozenset({state}) if state else None)
    me = relations.actor(slug)
    return jsonify({"items": [relation_json(r, me) for r in found]})


@api.route(
    admin, "/groups/<slug>/relations", "POST",
    summary="Propose a relation: the group is <kind> of target (@name@host or URL)",
    request_schema=RELATE,
    responses={202: DECIDED, 404: NOT_FOUND, 409: ("already related", ERROR_REF), 422: INVALID},
)  # fmt: skip
async def propose_relation(slug: str) -> tuple[Response, int]:
    body, author = _author()
    proposal = await _relations().propose(
        slug, str(body["target"]), str(body["kind"]), author=author
    )
    return jsonify(proposal_json(proposal)), 202


@api.route(
    admin, "/groups/<slug>/relations/<int:relation_id>/accept", "POST",
    summary="Accept a relation another group proposed (a relate decision)",
    request_schema=ACT, body_required=False,
    responses={202: DECIDED, 404: NOT_FOUND, 409: ("not awaiting our answer", ERROR_REF)},
)  # fmt: skip
async def accept_relation(slug: str, relation_id: int) -> tuple[Response, int]:
    _, author = _author()
    proposal = await _relations().answer(slug, relation_id, accept=True, author=author)
    return jsonify(proposal_json(proposal)), 202


@api.route(
    admin, "/groups/<slug>/relations/<int:relation_id>/reject", "POST",
    summary="Reject a relation another group proposed (a relate decision)",
    request_schema=ACT, body_required=False,
    responses={202: DECIDED, 404: NOT_FOUND, 409: ("not awaiting our answer", ERROR_REF)},
)  # fmt: skip
async def reject_relation(slug: str, relation_id: int) -> tuple[Response, int]:
    _, author = _author()
    proposal = await _relations().answer(slug, relation_id, accept=False, author=author)
    return jsonify(proposal_json(proposal)), 202


@api.route(
    admin, "/groups/<slug>/relations/<int:relation_id>", "DELETE",
    summary="Remove a relation, or withdraw our proposal (a relate decision)",
    query={"author": AUTHOR["author"]},
    responses={202: DECIDED, 404: NOT_FOUND, 409: ("nothing to remove", ERROR_REF)},
)  # fmt: skip
async def remove_relation(slug: str, relation_id: int) -> tuple[Response, int]:
    author = request.args.get("author") or "admin"
    proposal = await _relations().remove(slug, relation_id, author=author)
    return jsonify(proposal_json(proposal)), 202


# -------------------------------------------------------------- feed rules
@api.route(
    admin, "/groups/<slug>/feed-rules", "GET",
    summary="Which propagated items the group accepts, and what it does with them",
    responses={200: ("the feed rules (defaults if none written)", OBJ), 404: NOT_FOUND},
)  # fmt: skip
async def get_feed_rules(slug: str) -> Response:
    return jsonify((await _propagation().feed_rules(slug)).to_dict())


@api.route(
    admin, "/groups/<slug>/feed-rules", "PUT",
    summary="Write the feed rules (missing keys take the defaults)",
    request_schema=FEED_RULES,
    responses={200: ("the rules stored", OBJ), 404: NOT_FOUND, 422: INVALID},
)  # fmt: skip
async def put_feed_rules(slug: str) -> Response:
    body = request_body()
    return jsonify((await _propagation().set_feed_rules(slug, body)).to_dict())


# ------------------------------------------------------------ propagations
@api.route(
    admin, "/groups/<slug>/propagations", "POST",
    summary="Propagate one of the group's announcements (a propagate decision); criteria:"
    " k, radius_km, themes, relation_kinds, hop_limit",
    request_schema=PROPAGATE,
    responses={202: DECIDED, 404: NOT_FOUND, 422: INVALID},
)  # fmt: skip
async def propagate(slug: str) -> tuple[Response, int]:
    body, author = _author()
    proposal = await _propagation().request(
        slug, body["object"], body.get("criteria", {}), author=author
    )
    return jsonify(proposal_json(proposal)), 202


@api.route(
    admin, "/groups/<slug>/propagations", "GET",
    summary="Items the group propagated (sent) or received (accept, hold, released)",
    responses={200: ("items, newest first", LIST), 404: NOT_FOUND},
)  # fmt: skip
async def list_propagations(slug: str) -> Response:
    return jsonify({"items": [item_json(i) for i in await _propagation().items(slug)]})


@api.route(
    admin, "/groups/<slug>/propagations/<int:item_id>/release", "POST",
    summary="Let a held item through: boost it to followers, relay it if it may travel on",
    responses={200: ("the item", OBJ), 404: NOT_FOUND, 422: ("not held", ERROR_REF)},
)  # fmt: skip
async def release_item(slug: str, item_id: int) -> Response:
    return jsonify(item_json(await _propagation().release(slug, item_id)))

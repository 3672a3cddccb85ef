"""Admin API for resources: offers and needs, matches, agreements, inventories.

Publishing an intent opens the group's ``publish_offer`` decision; offering
or accepting an agreement opens its ``spend`` decision (each carried out
when adopted: at once under a do-ocracy). Rejecting an agreement and
recording its fulfilment or calling it off are facts, done at once.
"""

from __future__ import annotations

from typing import Any

from quart import Response, jsonify, request

from imago_fed.domain.resources.agreements import AGREEMENT, InventoryItem
from imago_fed.domain.resources.intents import INTENT
from imago_fed.services.resources import Resources, agreement_json
from imago_fed.web.admin import admin, api
from imago_fed.web.admin_governance import proposal_json
from imago_fed.web.errors import ApiError
from imago_fed.web.openapi import ERROR_REF, request_body
from imago_fed.web.runtime import runtime

OBJ = {"type": "object"}
LIST = {"type": "object", "properties": {"items": {"type": "array"}}}
NOT_FOUND = ("no such group, intent or agreement", ERROR_REF)
INVALID = ("invalid input; error.field names the field", ERROR_REF)
CONFLICT = ("not in a state that allows it", ERROR_REF)
DECIDED = ("the decision opened (result.executed: what was done)", OBJ)
AUTHOR = {"author": {"type": "string", "maxLength": 2048}}
QUANTITY = {
    "type": "object",
    "description": 'an OM2 unit and an amount, e.g. {"value": 2, "unit": "one"}',
}
TIME = {"type": "string", "maxLength": 64, "description": "ISO 8601 with its offset"}
INTENT_BODY = {
    "type": "object",
    "required": ["purpose", "action"],
    "properties": {
        "purpose": {"type": "string", "enum": ["offer", "request"]},
        "action": {"type": "string", "maxLength": 200},
        "resource_conforms_to": {"type": "string", "maxLength": 500},
        "name": {"type": "string", "maxLength": 200},
        "note": {"type": "string", "maxLength": 5000},
        "quantity": QUANTITY,
        "available_from": TIME,
        "available_until": TIME,
        "place": {"type": "object", "description": '{"lat", "lon", "label"?}'},
        "range_km": {"type": "integer"},
        "reciprocal": {"type": "object", "description": "action, resource_conforms_to, quantity"},
        **AUTHOR,
    },
}
AGREE = {
    "type": "object",
    "properties": {
        "intent_id": {"type": "integer"},
        "intent": {"type": "string", "maxLength": 2048, "description": "a Proposal IRI"},
        "quantity": QUANTITY,
        **AUTHOR,
    },
}
ACT = {"type": "object", "properties": AUTHOR}
SPREAD = {
    "type": "object",
    "properties": {
        "criteria": {
            "type": "object",
            "description": "k, radius_km, themes, relation_kinds, hop_limit (as for any"
            " propagation)",
        },
        **AUTHOR,
    },
}
STOCK = {
    "type": "object",
    "required": ["resource_conforms_to", "quantity"],
    "properties": {
        "resource_conforms_to": {"type": "string", "maxLength": 500},
        "name": {"type": "string", "maxLength": 200},
        "quantity": QUANTITY,
    },
}


def _resources() -> Resources:
    found = runtime().resources
    if found is None:
        raise ApiError(503, "unavailable", "resources are not wired in this process")
    return found


def _body() -> dict[str, Any]:
    """The body, checked against the route's schema before the handler ran."""
    return request_body()


def _states(allowed: frozenset[str]) -> frozenset[str] | None:
    state = request.args.get("state")
    if state is None:
        return None
    if state not in allowed:
        raise ApiError(422, "invalid_input", f"state: one of {', '.join(sorted(allowed))}")
    return frozenset({state})


def _item_json(item: InventoryItem) -> dict[str, Any]:
    resource = item.resource
    return {
        "resource_conforms_to": resource.iri or resource.label,
        "name": item.name,
        "quantity": item.quantity.to_dict(),
    }


# ----------------------------------------------------------------- intents
@api.route(
    admin, "/groups/<slug>/intents", "POST",
    summary="Publish an offer or a need (opens the group's publish_offer decision)",
    request_schema=INTENT_BODY,
    responses={201: ("the intent (id, ap_id, state) and its decision", OBJ), 404: NOT_FOUND,
               422: INVALID},
)  # fmt: skip
async def create_intent(slug: str) -> tuple[Response, int]:
    body = _body()
    author = str(body.pop("author", None) or "admin")
    stored, proposal = await _resources().publish(slug, body, author=author)
    return jsonify({**stored.intent.to_dict(), "decision": proposal_json(proposal)}), 201


@api.route(
    admin, "/groups/<slug>/intents", "GET",
    summary="The group's offers and needs, newest first (query state)",
    query={"state": {"type": "string", "enum": sorted(INTENT.states)}},
    responses={200: ("intents", LIST), 404: NOT_FOUND, 422: INVALID},
)  # fmt: skip
async def list_intents(slug: str) -> Response:
    found = await _resources().intents(slug, _states(INTENT.states))
    return jsonify({"items": [s.intent.to_dict() for s in found]})


@api.route(
    admin, "/intents", "GET",
    summary="Every published intent the instance knows, ours and other servers', newest"
    " first (query state, purpose)",
    query={"state": {"type": "string", "enum": sorted(INTENT.states)},
           "purpose": {"type": "string", "enum": ["offer", "request"]}},
    responses={200: ("intents (local: true for our groups')", LIST), 422: INVALID},
)  # fmt: skip
async def known_intents() -> Response:
    purpose = request.args.get("purpose")
    if purpose is not None and purpose not in ("offer", "request"):
        raise ApiError(422, "invalid_input", "purpose: offer or request")
    found = await _resources().known(_states(INTENT.states), purpose)
    return jsonify(
        {"items": [{**s.intent.to_dict(), "local": s.group_id is not None} for s in found]}
    )


@api.route(
    admin, "/intents/<int:intent_id>", "GET",
    summary="One intent, ours or another server's",
    responses={200: ("the intent", OBJ), 404: NOT_FOUND},
)  # fmt: skip
async def get_intent(intent_id: int) -> Response:
    return jsonify((await _resources().intent(intent_id)).intent.to_dict())


@api.route(
    admin, "/groups/<slug>/intents/<int:intent_id>", "DELETE",
    summary="Withdraw an offer or a need (followers are told)",
    responses={200: ("the intent, withdrawn", OBJ), 404: NOT_FOUND, 409: CONFLICT},
)  # fmt: skip
async def withdraw_intent(slug: str, intent_id: int) -> Response:
    return jsonify((await _resources().withdraw(slug, intent_id)).intent.to_dict())


@api.route(
    admin, "/groups/<slug>/intents/<int:intent_id>/propagations", "POST",
    summary="Propagate an open offer or need to the closest groups through the graph (the"
    " group's propagate decision); each receiver's feed rules decide, and one that takes it"
    " matches it with its own",
    request_schema=SPREAD, body_required=False,
    responses={202: DECIDED, 404: NOT_FOUND, 409: CONFLICT, 422: INVALID},
)  # fmt: skip
async def propagate_intent(slug: str, intent_id: int) -> tuple[Response, int]:
    body = _body()
    propagation = runtime().propagation
    if propagation is None:
        raise ApiError(503, "unavailable", "propagation is not wired in this process")
    proposal = await propagation.request_intent(
        slug, intent_id, body.get("criteria"), author=str(body.get("author") or "admin")
    )
    return jsonify(proposal_json(proposal)), 202


# ---------------------------------------------------------------- matching
@api.route(
    admin, "/intents/<int:intent_id>/matches", "GET",
    summary="The best counterparts of an intent (query limit, 1 to 50), with score and why",
    query={"limit": {"type": "integer", "minimum": 1, "maximum": 50}},
    responses={200: ("items: intent, group, score, parts, why", LIST), 404: NOT_FOUND,
               422: INVALID},
)  # fmt: skip
async def intent_matches(intent_id: int) -> Response:
    raw = request.args.get("limit", "10")
    if not raw.isdigit() or not 1 <= int(raw) <= 50:
        raise ApiError(422, "invalid_input", "limit: a whole number from 1 to 50")
    found = await _resources().matches(intent_id, int(raw))
    return jsonify({"items": [m.to_dict() for m in found]})


@api.route(
    admin, "/groups/<slug>/matches", "GET",
    summary="For each open intent of the group, its best three counterparts",
    responses={200: ("items: intent, matches", LIST), 404: NOT_FOUND},
)  # fmt: skip
async def group_matches(slug: str) -> Response:
    return jsonify({"items": await _resources().group_matches(slug)})


# -------------------------------------------------------------- agreements
@api.route(
    admin, "/groups/<slug>/agreements", "POST",
    summary="Answer another group's intent (intent_id, or intent: its Proposal IRI) for a"
    " quantity (default: all that is left); opens the group's spend decision",
    request_schema=AGREE,
    responses={202: DECIDED, 404: NOT_FOUND, 409: CONFLICT, 422: INVALID},
)  # fmt: skip
async def propose_agreement(slug: str) -> tuple[Response, int]:
    body = _body()
    reference = body.get("intent_id", body.get("intent"))
    if reference is None:
        raise ApiError(422, "invalid_input", "intent_id or intent: one is required")
    proposal = await _resources().propose_agreement(
        slug, reference, body.get("quantity"), author=str(body.get("author") or "admin")
    )
    return jsonify(proposal_json(proposal)), 202


@api.route(
    admin, "/groups/<slug>/agreements", "GET",
    summary="The group's agreements, newest first (query state)",
    query={"state": {"type": "string", "enum": sorted(AGREEMENT.states)}},
    responses={200: ("agreements", LIST), 404: NOT_FOUND, 422: INVALID},
)  # fmt: skip
async def list_agreements(slug: str) -> Response:
    found = await _resources().agreements(slug, _states(AGREEMENT.states))
    return jsonify({"items": [agreement_json(a) for a in found]})


@api.route(
    admin, "/groups/<slug>/agreements/<int:agreement_id>", "GET",
    summary="One agreement as the group sees it",
    responses={200: ("the agreement", OBJ), 404: NOT_FOUND},
)  # fmt: skip
async def get_agreement(slug: str, agreement_id: int) -> Response:
    return jsonify(agreement_json(await _resources().agreement(slug, agreement_id)))


@api.route(
    admin, "/groups/<slug>/agreements/<int:agreement_id>/accept", "POST",
    summary="Accept an agreement offered on one of our intents (opens a spend decision)",
    request_schema=ACT, body_required=False,
    responses={202: DECIDED, 404: NOT_FOUND, 409: CONFLICT},
)  # fmt: skip
async def accept_agreement(slug: str, agreement_id: int) -> tuple[Response, int]:
    body = _body()
    proposal = await _resources().accept(
        slug, agreement_id, author=str(body.get("author") or "admin")
    )
    return jsonify(proposal_json(proposal)), 202


@api.route(
    admin, "/groups/<slug>/agreements/<int:agreement_id>/reject", "POST",
    summary="Reject an agreement offered on one of our intents (at once)",
    request_schema=ACT, body_required=False,
    responses={200: ("the agreement, rejected", OBJ), 404: NOT_FOUND, 409: CONFLICT},
)  # fmt: skip
async def reject_agreement(slug: str, agreement_id: int) -> Response:
    _body()
    return jsonify(agreement_json(await _resources().reject(slug, agreement_id)))


@api.route(
    admin, "/groups/<slug>/agreements/<int:agreement_id>/fulfil", "POST",
    summary="Record that an accepted agreement was carried out (stocks move, the other side"
    " is told)",
    responses={200: ("the agreement, fulfilled", OBJ), 404: NOT_FOUND, 409: CONFLICT},
)  # fmt: skip
async def fulfil_agreement(slug: str, agreement_id: int) -> Response:
    return jsonify(agreement_json(await _resources().fulfil(slug, agreement_id)))


@api.route(
    admin, "/groups/<slug>/agreements/<int:agreement_id>/cancel", "POST",
    summary="Call off an accepted agreement not yet carried out (either party; the intent"
    " opens again with its quantity back, stocks stay, the other side is told)",
    responses={200: ("the agreement, cancelled", OBJ), 404: NOT_FOUND,
               409: ("not accepted (offered, or already fulfilled or ended)", ERROR_REF)},
)  # fmt: skip
async def cancel_agreement(slug: str, agreement_id: int) -> Response:
    return jsonify(agreement_json(await _resources().cancel(slug, agreement_id)))


# --------------------------------------------------------------- inventory
@api.route(
    admin, "/groups/<slug>/inventory", "GET",
    summary="What the group has on hand, per resource type",
    responses={200: ("stocks", LIST), 404: NOT_FOUND},
)  # fmt: skip
async def get_inventory(slug: str) -> Response:
    return jsonify({"items": [_item_json(i) for i in await _resources().inventory(slug)]})


@api.route(
    admin, "/groups/<slug>/inventory", "PUT",
    summary="Record the stock of one resource type",
    request_schema=STOCK,
    responses={200: ("the stock", OBJ), 404: NOT_FOUND, 422: INVALID},
)  # fmt: skip
async def put_stock(slug: str) -> Response:
    body = _body()
    return jsonify(_item_json(await _resources().set_stock(slug, body)))

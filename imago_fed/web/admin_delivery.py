"""Admin API for outbound delivery: the queue, its dead letters, the peer hosts.

An admin asks "is federation flowing?" (stats), "what did we give up on, and
why?" (dead letters, with the last status and error), "which servers are
down?" (peers) -- and can send a dead delivery again, or declare a host
reachable again without waiting for the next probe.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from quart import Response, jsonify, request

from imago_fed.web.admin import admin, api
from imago_fed.web.errors import ApiError
from imago_fed.web.openapi import ERROR_REF
from imago_fed.web.runtime import runtime

TIME = {"type": ["string", "null"], "format": "date-time"}
STATS_SCHEMA = {
    "type": "object",
    "properties": {
        "queued": {"type": "integer"},
        "delivered": {"type": "integer"},
        "dead": {"type": "integer"},
        "in_flight": {"type": "integer", "description": "queued rows under a live lease"},
        "oldest_queued_at": TIME,
    },
}
DELIVERY_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "activity_id": {"type": "string"},
        "group_slug": {"type": ["string", "null"], "description": "null: the instance actor"},
        "inbox": {"type": "string"},
        "host": {"type": "string"},
        "state": {"type": "string", "enum": ["queued", "delivered", "dead"]},
        "attempts": {"type": "integer"},
        "next_attempt": TIME,
        "last_status": {"type": ["integer", "null"]},
        "last_error": {"type": ["string", "null"]},
        "created_at": TIME,
        "delivered_at": TIME,
    },
}
PEER_SCHEMA = {
    "type": "object",
    "properties": {
        "host": {"type": "string"},
        "signature_scheme": {"type": "string", "enum": ["cavage", "rfc9421"]},
        "unavailable": {"type": "boolean"},
        "failure_days": {"type": "integer"},
        "first_failure_at": TIME,
        "last_failure_at": TIME,
        "last_success_at": TIME,
        "queued": {"type": "integer", "description": "deliveries waiting for this host"},
    },
}

LIMIT = {"type": "integer", "minimum": 1, "maximum": 500}


def _page(item_schema: dict[str, Any], cursor: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": item_schema},
            "next_after": cursor,
        },
    }


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _limit() -> int:
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise ApiError(422, "invalid_input", "limit: must be an integer from 1 to 500")
    return int(raw)


@api.route(
    admin,
    "/deliveries/stats",
    "GET",
    summary="Delivery queue: rows per state, in flight, oldest waiting",
    responses={200: ("queue statistics", STATS_SCHEMA)},
)
async def delivery_stats() -> Response:
    return jsonify(_jsonable(await runtime().delivery_admin.stats()))


@api.route(
    admin,
    "/deliveries/dead",
    "GET",
    summary="Dead letters: deliveries given up on, oldest first",
    query={"limit": LIMIT, "after": {"type": "integer"}},
    responses={
        200: ("a page of dead deliveries", _page(DELIVERY_SCHEMA, {"type": ["integer", "null"]})),
        422: ("invalid input", ERROR_REF),
    },
)
async def dead_deliveries() -> Response:
    limit, after = _limit(), request.args.get("after")
    if after is not None and not after.isdigit():
        raise ApiError(422, "invalid_input", "after: must be a delivery id")
    rows = await runtime().delivery_admin.dead_letters(
        limit=limit, after=int(after) if after else None
    )
    return jsonify(
        {
            "items": [_jsonable(row) for row in rows],
            "next_after": rows[-1]["id"] if len(rows) == limit else None,
        }
    )


@api.route(
    admin,
    "/deliveries/<int:delivery_id>/retry",
    "POST",
    summary="Send a dead delivery again (attempts reset), or a queued one now",
    responses={
        200: ("the delivery, queued", DELIVERY_SCHEMA),
        404: ("no such delivery", ERROR_REF),
        409: ("already delivered", ERROR_REF),
    },
)
async def retry_delivery(delivery_id: int) -> Response:
    row = await runtime().delivery_admin.retry(delivery_id)
    if row is None:
        raise ApiError(404, "not_found", f"no delivery {delivery_id}")
    if row["state"] == "delivered":
        raise ApiError(409, "conflict", f"delivery {delivery_id} was already delivered")
    return jsonify(_jsonable(row))


@api.route(
    admin,
    "/peers",
    "GET",
    summary="Remote hosts: signature scheme, health, waiting deliveries",
    query={"limit": LIMIT, "after": {"type": "string"}},
    responses={
        200: ("a page of hosts, by name", _page(PEER_SCHEMA, {"type": ["string", "null"]})),
        422: ("invalid input", ERROR_REF),
    },
)
async def list_peers() -> Response:
    limit = _limit()
    rows = await runtime().delivery_admin.peers(limit=limit, after=request.args.get("after"))
    return jsonify(
        {
            "items": [_jsonable(row) for row in rows],
            "next_after": rows[-1]["host"] if len(rows) == limit else None,
        }
    )


@api.route(
    admin,
    "/peers/<host>/reset",
    "POST",
    summary="Declare a host reachable again: its failures are forgotten, deliveries resume",
    responses={204: ("reset", None), 404: ("unknown host", ERROR_REF)},
)
async def reset_peer(host: str) -> tuple[str, int]:
    if not await runtime().delivery_admin.reset_peer(host):
        raise ApiError(404, "not_found", f"no peer host {host!r}")
    return "", 204

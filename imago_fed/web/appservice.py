"""The Matrix Application Service API: what the homeserver calls on us.

    PUT  /_matrix/app/v1/transactions/{txnId}   persist, answer 200 at once
    GET  /_matrix/app/v1/users/{userId}         200 only for puppets we know
    GET  /_matrix/app/v1/rooms/{alias}          200 after creating a group's room
    POST /_matrix/app/v1/ping                   200 {}

The homeserver keeps one transaction in flight and backs off for minutes on
an error, so this layer never does the work itself: it stores the events and
says 200; a replayed transaction id is a 200 that stores nothing (the
bridge's ``BridgeInbox`` port keeps them; its workers do the work).
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from quart import Blueprint, Response, jsonify, request

from imago_fed.domain.errors import NotFound
from imago_fed.web.body import BodyRefused, json_document
from imago_fed.web.metrics import app_metrics
from imago_fed.web.runtime import runtime

__all__ = ["appservice"]

log = logging.getLogger(__name__)
appservice = Blueprint("appservice", __name__, url_prefix="/_matrix/app")


def _error(status: int, errcode: str, message: str) -> Response:
    response = jsonify({"errcode": errcode, "error": message})
    response.status_code = status
    return response


@appservice.before_request
async def _authenticate() -> Response | None:
    rt = runtime()
    if rt.matrix is None:
        return _error(404, "M_UNRECOGNIZED", "the Matrix bridge is not enabled")
    header = request.headers.get("Authorization", "")
    bearer = header[7:].strip() if header.lower().startswith("bearer ") else None
    legacy = request.args.get("access_token")
    if bearer is None and legacy is None:
        return _error(401, "M_MISSING_TOKEN", "missing hs_token")
    expected = rt.settings.matrix.hs_token.value.encode()
    given = [t for t in (bearer, legacy) if t is not None]
    if len(set(given)) > 1 or not all(hmac.compare_digest(t.encode(), expected) for t in given):
        log.warning("appservice request with a wrong hs_token", extra={"path": request.path})
        return _error(403, "M_FORBIDDEN", "wrong hs_token")
    return None


# The errcode of each refusal at the body's door (web/body.py).
_REFUSED = {400: "M_NOT_JSON", 413: "M_TOO_LARGE", 415: "M_NOT_JSON"}


@appservice.put("/v1/transactions/<txn_id>")
async def transaction(txn_id: str) -> Response:
    try:
        body: Any = await json_document()
    except BodyRefused as exc:
        return _error(exc.status, _REFUSED.get(exc.status, "M_UNKNOWN"), exc.message)
    if not isinstance(body, dict) or not isinstance(body.get("events", []), list):
        log.info("appservice transaction refused: not an object with an events list")
        return _error(400, "M_NOT_JSON", "a transaction is a JSON object with an events list")
    rt = runtime()
    assert rt.matrix is not None
    stored = await rt.matrix.inbox.store_transaction(txn_id, body, rt.clock.now())
    app_metrics().transactions.labels("stored" if stored else "replayed").inc()
    if not stored:
        log.info("replayed appservice transaction ignored", extra={"txn": txn_id})
    return jsonify({})


@appservice.get("/v1/users/<user_id>")
async def query_user(user_id: str) -> Response:
    rt = runtime()
    assert rt.matrix is not None
    if await rt.matrix.store.puppet_registered(user_id):
        return jsonify({})
    return _error(404, "M_NOT_FOUND", "no such user")


@appservice.get("/v1/rooms/<alias>")
async def query_room(alias: str) -> Response:
    """Someone looked up #_imago_<slug>:server: create the group's rooms now."""
    rt = runtime()
    assert rt.matrix is not None
    parsed = rt.matrix.ids.parse_alias(alias)
    if parsed is None or rt.matrix.client.resolving(alias):
        # (While we look an alias up ourselves, the homeserver asks us: "no".)
        return _error(404, "M_NOT_FOUND", "not one of our aliases")
    try:
        group = await rt.groups.get(parsed[0])
    except NotFound:
        return _error(404, "M_NOT_FOUND", "no such group")
    await rt.matrix.rooms(group)
    return jsonify({})


@appservice.post("/v1/ping")
async def ping() -> Response:
    return jsonify({})


@appservice.route("/<path:rest>", methods=["GET", "PUT", "POST", "DELETE"])
async def unknown(rest: str) -> Response:
    return _error(404, "M_UNRECOGNIZED", "unknown appservice endpoint")

"""The admin API under ``/api/v1``: bearer-token auth and the OpenAPI document.

Resource routes live in their own modules (``admin_groups`` ...) and register
through :data:`api`, the one registry the document is rendered from.
"""

from __future__ import annotations

import hmac

from quart import Blueprint, Response, jsonify, request

from imago_fed import __version__
from imago_fed.web.errors import ApiError
from imago_fed.web.openapi import ApiRegistry
from imago_fed.web.runtime import runtime

__all__ = ["admin", "api"]

admin = Blueprint("admin", __name__, url_prefix="/api/v1")
api = ApiRegistry(title="Imago Fed admin API", version=__version__)
OPENAPI_RULE = "/openapi.json"


@admin.before_request
async def _require_admin_token() -> None:
    if request.url_rule is not None and request.url_rule.rule.endswith(OPENAPI_RULE):
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "an admin bearer token is required")
    expected = runtime().settings.instance.admin_token.value
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "the admin token is not valid")


@api.route(
    admin,
    OPENAPI_RULE,
    "GET",
    summary="This document",
    responses={200: ("OpenAPI 3.1 document", {"type": "object"})},
    authenticated=False,
)
async def openapi_document() -> Response:
    return jsonify(api.document(runtime().settings.instance.base_url))

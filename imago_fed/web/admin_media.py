"""Admin API: a group's avatar and header picture.

The picture travels inside the JSON body, base64-encoded, so the request is
an ordinary JSON call (and stays under ``[http] max_body_bytes``: about
750 kB of picture with the default 1 MiB). It goes through the media
library like any file: type sniffed, metadata removed, thumbnail, blurhash;
then the Group actor's ``icon``/``image`` and the Matrix rooms' avatar
follow (a ``group_changed`` event).
"""

from __future__ import annotations

import base64
import binascii

from quart import Response, jsonify

from imago_fed.activitypub.media import media_url
from imago_fed.domain.media import MAX_ALT_LENGTH, Attachment, MediaRefused
from imago_fed.web.admin import admin, api
from imago_fed.web.errors import ApiError
from imago_fed.web.openapi import ERROR_REF, Schema, request_body
from imago_fed.web.runtime import runtime

__all__ = ["FACE_SCHEMA", "SET_FACE_SCHEMA"]

SET_FACE_SCHEMA = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {"type": "string", "description": "the image file, base64-encoded"},
        "media_type": {"type": "string", "maxLength": 100,
                       "description": "image/jpeg, image/png, image/gif or image/webp"},
        "alt": {"type": "string", "maxLength": MAX_ALT_LENGTH, "description": "alt text"},
    },
}  # fmt: skip
FACE_SCHEMA = {
    "type": "object",
    "required": ["media_id", "url", "media_type", "width", "height"],
    "properties": {
        "media_id": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "media_type": {"type": "string"},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "blurhash": {"type": "string"},
        "alt": {"type": "string"},
    },
}


def _face_json(face: Attachment) -> dict[str, object]:
    return {
        "media_id": face.media_id,
        "url": media_url(runtime().ids.base_url, face.media_id),
        "media_type": face.media_type,
        "width": face.width,
        "height": face.height,
        "blurhash": face.blurhash,
        "alt": face.name,
    }


async def _set(slug: str, role: str) -> Response:
    body = request_body()
    try:
        data = base64.b64decode(body["data"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(422, "invalid_input", "data: must be base64") from exc
    faces = runtime().faces
    if faces is None:  # pragma: no cover - always wired by build_runtime
        raise ApiError(503, "unavailable", "the media store is not configured")
    try:
        face = await faces.set(
            slug, role, data, declared=body.get("media_type", ""), alt=body.get("alt", "")
        )
    except MediaRefused as exc:
        raise ApiError(422, "media_refused", exc.message) from exc
    return jsonify(_face_json(face))


async def _remove(slug: str, role: str) -> tuple[str, int]:
    faces = runtime().faces
    if faces is None or not await faces.remove(slug, role):
        raise ApiError(404, "not_found", f"the group has no {role}")
    return "", 204


_SET_RESPONSES: dict[int, tuple[str, Schema | None]] = {
    200: ("the picture, as served", FACE_SCHEMA),
    404: ("no such group", ERROR_REF),
    422: ("invalid input, or a file refused (not an image, too large, broken)", ERROR_REF),
}
_REMOVE_RESPONSES: dict[int, tuple[str, Schema | None]] = {
    204: ("removed", None),
    404: ("no such group or picture", ERROR_REF),
}


@api.route(admin, "/groups/<slug>/avatar", "PUT", summary="Set a group's avatar",
           request_schema=SET_FACE_SCHEMA, responses=_SET_RESPONSES)  # fmt: skip
async def set_group_avatar(slug: str) -> Response:
    return await _set(slug, "avatar")


@api.route(admin, "/groups/<slug>/header", "PUT", summary="Set a group's header picture",
           request_schema=SET_FACE_SCHEMA, responses=_SET_RESPONSES)  # fmt: skip
async def set_group_header(slug: str) -> Response:
    return await _set(slug, "header")


@api.route(admin, "/groups/<slug>/avatar", "DELETE", summary="Remove a group's avatar",
           responses=_REMOVE_RESPONSES)  # fmt: skip
async def remove_group_avatar(slug: str) -> tuple[str, int]:
    return await _remove(slug, "avatar")


@api.route(admin, "/groups/<slug>/header", "DELETE", summary="Remove a group's header picture",
           responses=_REMOVE_RESPONSES)  # fmt: skip
async def remove_group_header(slug: str) -> tuple[str, int]:
    return await _remove(slug, "header")

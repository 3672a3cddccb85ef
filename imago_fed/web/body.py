"""The one door for request bodies: size, media type, then strict JSON.

Every route that reads a body goes through here (admin API, inbox,
appservice, elections), so a hostile body is refused the same way
everywhere, before any of it reaches a decoder or the database::

    read_body()      past [http] max_body_bytes ─> 413
    require_type()   Content-Type not one the route accepts ─> 415
    json_document()  strict_json.loads: not UTF-8, NUL, lone surrogate,
                     too deep, duplicate key, NaN, not JSON ─> 400

The inbox door (``web/inbox_door.py``, raw ASGI in front of Quart) applies
the same rules through the same functions, given the path and header.

Refusals are :class:`BodyRefused` (an :class:`ApiError`, so the admin API
renders them in its error shape; the inbox and the appservice catch them
and answer in theirs), each with one log line naming the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from quart import request
from werkzeug.exceptions import RequestEntityTooLarge

from imago_fed.web.errors import ApiError
from imago_fed.web.strict_json import JsonRefused, loads

__all__ = [
    "ACTIVITY_TYPES",
    "JSON_TYPES",
    "TEXT_FILE_TYPES",
    "BodyRefused",
    "decode",
    "json_document",
    "media_type",
    "read_body",
    "require_type",
    "text_document",
    "too_large",
]

log = logging.getLogger(__name__)

JSON_TYPES = frozenset({"application/json"})
# What ActivityPub senders use: activity+json, ld+json with the AS profile, and
# plain json (some servers send it; the document is JSON-LD all the same).
ACTIVITY_TYPES = frozenset({"application/activity+json", "application/ld+json", "application/json"})
# Files relayed verbatim (trustee keys, ballots): JSON text, sent by tools that
# may name it text/plain or octet-stream, or not name it at all ("" below).
TEXT_FILE_TYPES = frozenset({"", "application/json", "text/plain", "application/octet-stream"})


class BodyRefused(ApiError):
    """A request body refused at the door: 400, 413 or 415."""


def refuse(status: int, code: str, message: str, path: str | None = None) -> BodyRefused:
    """The refusal, logged once; ``path`` when there is no Quart request (web/inbox_door.py)."""
    log.info(
        "request body refused",
        extra={"status": status, "reason": message, "path": request.path if path is None else path},
    )
    return BodyRefused(status, code, message)


def too_large(limit: int | None, path: str | None = None) -> BodyRefused:
    return refuse(413, "request_entity_too_large", f"the body is larger than {limit} bytes", path)


def media_type(header: str | None) -> str:
    """The media type of a Content-Type header, lower-cased, parameters dropped."""
    return (header or "").split(";", 1)[0].strip().lower()


def require_type(
    accepted: Collection[str], content_type: str | None = None, path: str | None = None
) -> None:
    """415 unless the Content-Type (the request's, or ``content_type`` given with
    ``path`` outside Quart) names one of ``accepted``."""
    if path is None:
        content_type = request.headers.get("Content-Type")
    found = media_type(content_type)
    if found not in accepted:
        wanted = " or ".join(sorted(t for t in accepted if t)) or "no body"
        shown = found[:60] or "none"
        message = f"Content-Type {shown}: expected {wanted}"
        raise refuse(415, "unsupported_media_type", message, path)


async def read_body(*, cache: bool = True) -> bytes:
    """The raw body, at most ``[http] max_body_bytes`` of it (413 beyond)."""
    try:
        return await request.get_data(cache=cache, as_text=False, parse_form_data=False)
    except RequestEntityTooLarge:
        raise too_large(request.max_content_length) from None


async def text_document() -> str:
    """A file relayed verbatim (a trustee's key or share, a ballot): its text.

    The text is what is kept (ballots are hashed as sent), but it is decoded
    here all the same, as one JSON document or as JSON lines (belenios-tool
    writes both), so the parsers behind never see what the door refuses.
    """
    raw = await read_body()
    require_type(TEXT_FILE_TYPES)
    try:
        loads(raw)
    except JsonRefused as whole:
        lines = raw.split(b"\n")
        try:
            for line in lines:
                if line.strip():
                    loads(line)
        except JsonRefused:
            raise refuse(400, "malformed_body", str(whole)) from None
    return raw.decode("utf-8")


async def json_document(accepted: Collection[str] = JSON_TYPES) -> Any:
    """The body as strictly decoded JSON, after the size and media type checks."""
    raw = await read_body()
    require_type(accepted)
    return decode(raw)


def decode(raw: bytes, path: str | None = None) -> Any:
    try:
        return loads(raw)
    except JsonRefused as exc:
        raise refuse(400, "malformed_body", str(exc), path) from None

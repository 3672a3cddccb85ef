"""Attachments in ActivityStreams: read them, write them, fetch their bytes.

    inbound   note["attachment"] (Document, Image, Video, Audio; url as a
              string, a Link or a list)  ──> domain Attachment (url set)
    outbound  Attachment in our store    ──> Document {mediaType, url, name,
              width, height, blurhash}     (Mastodon paints the blurhash first)
    fetch     RemoteMedia port over the guarded client: its address rules,
              http rules and redirect rules, with the media size cap

The converters are pure; :class:`FediverseMedia` does the one kind of I/O.
"""

from __future__ import annotations

from typing import Any

from imago_fed.activitypub.http import FediClient, FetchError, ForbiddenUrl, ResponseTooLarge
from imago_fed.activitypub.vocab import as_list
from imago_fed.domain.media import (
    ACCEPTED,
    MAX_ATTACHMENTS,
    Attachment,
    MediaRefused,
    MediaUnavailable,
    alt_text,
    normalize_type,
)

__all__ = [
    "FediverseMedia",
    "attachment_document",
    "face_document",
    "icon_url",
    "media_url",
    "read_attachments",
]

_TYPES = {"Document", "Image", "Video", "Audio"}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _link(value: Any) -> tuple[str, str]:
    """(href, media type) of a url value: a string, a Link, or the first usable of a list."""
    for item in as_list(value):
        if isinstance(item, str):
            return item, ""
        if isinstance(item, dict) and isinstance(item.get("href"), str):
            media_type = item.get("mediaType")
            return item["href"], media_type if isinstance(media_type, str) else ""
    return "", ""


def icon_url(actor: dict[str, Any]) -> str:
    """The URL of an actor's avatar (``icon``: an Image, a Link, a URL, or a list)."""
    for icon in as_list(actor.get("icon")):
        url = icon if isinstance(icon, str) else ""
        if isinstance(icon, dict):
            url = _link(icon.get("url"))[0]
        if url.startswith(("https://", "http://")):
            return url
    return ""


def read_attachments(note: dict[str, Any]) -> tuple[Attachment, ...]:
    """The media attachments of a post we may keep (at most MAX_ATTACHMENTS).

    Links, property values and types we do not keep are passed over; the
    declared type is only a hint here, the bytes decide when fetched.
    """
    found: list[Attachment] = []
    for item in as_list(note.get("attachment")):
        if not isinstance(item, dict) or item.get("type") not in _TYPES:
            continue
        url, link_type = _link(item.get("url"))
        if not url.startswith(("https://", "http://")):
            continue
        declared = item.get("mediaType")
        media_type = normalize_type(declared if isinstance(declared, str) else link_type)
        if media_type not in ACCEPTED:
            continue
        found.append(
            Attachment(
                media_type=media_type,
                url=url,
                name=alt_text(item.get("name")),
                width=_int(item.get("width")),
                height=_int(item.get("height")),
                blurhash=item["blurhash"][:100] if isinstance(item.get("blurhash"), str) else "",
            )
        )
        if len(found) == MAX_ATTACHMENTS:
            break
    return tuple(found)


def media_url(base_url: str, media_id: str) -> str:
    """Where our server serves a stored file."""
    return f"{base_url}/media/{media_id}"


def attachment_document(base_url: str, attachment: Attachment) -> dict[str, Any]:
    """A stored file as an attachment of a Note (or an actor's icon)."""
    document: dict[str, Any] = {
        "type": "Document",  # what Mastodon sends for every kind; all readers take it
        "mediaType": attachment.media_type,
        "url": media_url(base_url, attachment.media_id),
    }
    if attachment.name:
        document["name"] = attachment.name
    if attachment.width and attachment.height:
        document["width"], document["height"] = attachment.width, attachment.height
    if attachment.blurhash:
        document["blurhash"] = attachment.blurhash
    return document


def face_document(base_url: str, attachment: Attachment) -> dict[str, Any]:
    """A group's avatar (``icon``) or header (``image``): an Image, as Mastodon reads them."""
    document: dict[str, Any] = {
        "type": "Image",
        "mediaType": attachment.media_type,
        "url": media_url(base_url, attachment.media_id),
    }
    if attachment.name:
        document["name"] = attachment.name
    return document


class FediverseMedia:
    """``RemoteMedia`` over the federation client (the one with the guard)."""

    def __init__(self, http: FediClient) -> None:
        self._http = http

    async def fetch(self, url: str, *, max_bytes: int) -> tuple[bytes, str]:
        try:
            return await self._http.get_bytes(url, max_bytes=max_bytes)
        except ResponseTooLarge as exc:
            raise MediaRefused(f"over the {max_bytes} byte cap: {exc}") from exc
        except ForbiddenUrl as exc:  # and ForbiddenAddress: never worth a retry
            raise MediaRefused(f"refused address: {exc}") from exc
        except FetchError as exc:
            raise MediaUnavailable(str(exc)) from exc

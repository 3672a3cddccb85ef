"""Reading ActivityStreams as servers actually send it.

Compacted AS2 comes in many dialects: a value may be a string or a list, an
object may be embedded or referenced by id, the public collection may be
written ``https://www.w3.org/ns/activitystreams#Public``, ``as:Public`` or
``Public`` (Fedify compacts to the latter two). Mastodon reads the compacted
form with these tolerances instead of running a JSON-LD processor on every
activity; so do we. :mod:`.jsonld` handles the rare documents whose context
renames terms.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = [
    "ACTIVITY_JSON",
    "AS2_CONTEXT",
    "AS_PUBLIC",
    "JSON_CONTENT_TYPES",
    "LD_JSON",
    "SECURITY_CONTEXT",
    "addressees",
    "as_list",
    "first_id",
    "id_of",
    "is_public",
]

AS2_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
_PUBLIC_FORMS = frozenset({AS_PUBLIC, "as:Public", "Public"})
ACTIVITY_JSON = "application/activity+json"
LD_JSON = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
JSON_CONTENT_TYPES = ("application/activity+json", "application/ld+json", "application/json")


def as_list(value: Any) -> list[Any]:
    """A property's values as a list, whether it was absent, single or a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def id_of(value: Any) -> str | None:
    """The id of a reference: the string itself, or an embedded object's ``id``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        found = value.get("id", value.get("@id"))
        return found if isinstance(found, str) else None
    return None


def first_id(value: Any) -> str | None:
    for item in as_list(value):
        found = id_of(item)
        if found:
            return found
    return None


def is_public(uri: str) -> bool:
    return uri in _PUBLIC_FORMS


def addressees(document: dict[str, Any]) -> Iterator[str]:
    """Every id in to, cc, bto, bcc, audience, and Mention tags' hrefs."""
    for key in ("to", "cc", "bto", "bcc", "audience"):
        for item in as_list(document.get(key)):
            found = id_of(item)
            if found:
                yield found
    for tag in as_list(document.get("tag")):
        if isinstance(tag, dict) and tag.get("type") == "Mention":
            href = tag.get("href")
            if isinstance(href, str):
                yield href

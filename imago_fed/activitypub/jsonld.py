"""JSON-LD, only where needed, and never over the network.

Most activities use the ActivityStreams context (plus the security context
and inline term maps) and are read as compacted JSON by :mod:`.vocab`. A
document whose context is something else (say, it maps ``to`` to another
IRI) is re-compacted with pyld against the AS2 context so the same reader
works. Context documents come only from the bundle in ``contexts/`` (the
W3C/W3ID documents Fedify also preloads); any other remote context is
refused, since fetching it would let a sender make us issue requests.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from pyld import jsonld

from imago_fed.activitypub.vocab import AS2_CONTEXT, SECURITY_CONTEXT, as_list

__all__ = ["JsonLdError", "bundled_loader", "normalize"]

# Contexts whose terms we read directly; inline dicts only add extension terms.
_PLAIN_CONTEXTS = frozenset(
    {
        AS2_CONTEXT,
        AS2_CONTEXT + ".jsonld",
        "http://www.w3.org/ns/activitystreams",
        SECURITY_CONTEXT,
        "https://w3id.org/security/data-integrity/v1",
        "https://w3id.org/security/multikey/v1",
        "https://w3id.org/identity/v1",
        "https://www.w3.org/ns/did/v1",
        "https://purl.archive.org/socialweb/webfinger",
        "https://gotosocial.org/ns",
        "http://schema.org/",
    }
)
# Terms the AS2 reader relies on: an inline map may not redefine them.
_CORE_TERMS = frozenset(
    {"id", "type", "actor", "object", "target", "to", "cc", "bto", "bcc", "audience",
     "inReplyTo", "tag", "href", "attributedTo", "content", "name", "inbox", "publicKey"}
)  # fmt: skip


class JsonLdError(ValueError):
    """The document's context cannot be understood without the network."""


@cache
def _bundled() -> dict[str, Any]:
    text = resources.files("imago_fed.activitypub").joinpath("contexts/preloaded.json")
    return json.loads(text.read_text(encoding="utf-8"))


def _loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    document = _bundled().get(url.removesuffix(".jsonld"))
    if document is None:
        raise JsonLdError(f"context {url} is not bundled; refusing to fetch it")
    return {"contextUrl": None, "documentUrl": url, "document": document}


#: The loader for other readers that expand documents (bundled contexts only).
bundled_loader = _loader


def _renames_core(term_map: dict[str, Any]) -> bool:
    """Does an inline context alias a keyword or map a new name onto a core term?"""
    if _CORE_TERMS & term_map.keys():
        return True
    for value in term_map.values():
        target = value.get("@id") if isinstance(value, dict) else value
        if not isinstance(target, str):
            continue
        local = target.removeprefix("as:").removeprefix(AS2_CONTEXT + "#")
        if target.startswith("@") or (local != target and local in _CORE_TERMS):
            return True
    return False


def _is_plain(context: Any) -> bool:
    for item in as_list(context):
        if isinstance(item, str) and item in _PLAIN_CONTEXTS:
            continue
        if isinstance(item, dict) and not _renames_core(item):
            continue
        return False
    return True


def normalize(document: dict[str, Any]) -> dict[str, Any]:
    """The document in the AS2 compacted form our readers expect."""
    context = document.get("@context")
    if context is None or _is_plain(context):
        return document
    try:
        compacted = jsonld.compact(
            document,
            {"@context": [AS2_CONTEXT, SECURITY_CONTEXT]},
            {"documentLoader": _loader},
        )
    except jsonld.JsonLdError as exc:
        raise JsonLdError(f"cannot interpret the JSON-LD context: {exc}") from exc
    except (TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        # pyld assumes well-shaped input in places; a sender's odd shapes are its fault
        raise JsonLdError(f"cannot interpret the JSON-LD document: {type(exc).__name__}") from exc
    return compacted

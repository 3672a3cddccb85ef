"""Entry point for inbound requests: detect the signature scheme and parse it.

Both schemes put something in a ``Signature`` header, so the scheme is told
by ``Signature-Input``, which only RFC 9421 uses (a request can therefore
carry only one of the two; see swicg/activitypub-http-signature#10).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from .base import HeadersLike, SignedRequest, normalize_headers
from .cavage import parse_cavage
from .errors import MissingSignature
from .rfc9421 import parse_rfc9421

__all__ = ["parse_signed_request"]


def parse_signed_request(
    method: str, url: str, headers: HeadersLike, *, now: datetime
) -> SignedRequest:
    """Parse a signed request's signature and check its coverage and freshness.

    ``url`` is the absolute URL the sender addressed (public scheme and host,
    path and query exactly as received). Returns a :class:`SignedRequest`
    exposing ``key_id`` and ``scheme``; look the key up, then call
    ``.verify(public_key, body)`` with the raw body bytes.

    Raises :class:`MissingSignature` if the request is not signed, else
    :class:`MalformedSignature`, :class:`InvalidSignature` or
    :class:`StaleSignature`.
    """
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"url must be absolute, got {url!r}")
    normalized = normalize_headers(headers)
    if "signature-input" in normalized:
        return parse_rfc9421(method, url, normalized, now=now)
    if "signature" in normalized:
        return parse_cavage(method, url, normalized, now=now)
    raise MissingSignature("request is not signed")

"""Errors raised while parsing and verifying HTTP signatures.

One small hierarchy, so that the web layer can map failures to responses
in a single place and the signature code stays free of HTTP concerns::

    SignatureError                 base: "this request is not authenticated"
    ├── MalformedSignature         the signature cannot even be parsed
    │                              (bad syntax, missing keyId, bad Date): 400
    ├── InvalidSignature           parsed, but refused: bad signature, body
    │   │                          digest mismatch, insufficient coverage,
    │   │                          unsupported algorithm or key: 401
    │   └── MissingSignature       no signature headers at all: 401, or let
    │                              the request through where unsigned access
    │                              is allowed (e.g. GETs without authorized
    │                              fetch)
    └── StaleSignature             outside the accepted time window: 401

The status codes above are the caller's mapping (they follow Mastodon);
nothing in this package knows about them.
"""

from __future__ import annotations

__all__ = [
    "InvalidSignature",
    "MalformedSignature",
    "MissingSignature",
    "SignatureError",
    "StaleSignature",
]


class SignatureError(Exception):
    """Base class: the request's HTTP signature could not be accepted."""


class MalformedSignature(SignatureError):
    """The signature headers (or a header they rely on) cannot be parsed."""


class InvalidSignature(SignatureError):
    """The signature was parsed but does not authenticate the request."""


class MissingSignature(InvalidSignature):
    """The request carries no HTTP signature at all."""


class StaleSignature(SignatureError):
    """The signature's creation or expiry time is outside the accepted window."""

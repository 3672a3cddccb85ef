"""HTTP Signatures for ActivityPub: draft-cavage-12 and RFC 9421.

Outbound: :func:`sign_request_cavage` / :func:`sign_request_rfc9421` return
the headers to add to a request. Inbound: :func:`parse_signed_request`
detects the scheme and checks coverage and freshness without a key; the
caller resolves ``.key_id`` (asynchronously, as it likes) and then calls
``.verify(public_key, body)``. Failures raise :class:`SignatureError`
subclasses, described in :mod:`.errors`.
"""

from .base import HeadersLike, SignatureScheme, SignedRequest
from .cavage import CavageSignedRequest, sign_request_cavage
from .digest import check_content_digest, check_digest, make_content_digest, make_digest
from .errors import (
    InvalidSignature,
    MalformedSignature,
    MissingSignature,
    SignatureError,
    StaleSignature,
)
from .parse import parse_signed_request
from .rfc9421 import Rfc9421SignedRequest, sign_request_rfc9421

__all__ = [
    "CavageSignedRequest",
    "HeadersLike",
    "InvalidSignature",
    "MalformedSignature",
    "MissingSignature",
    "Rfc9421SignedRequest",
    "SignatureError",
    "SignatureScheme",
    "SignedRequest",
    "StaleSignature",
    "check_content_digest",
    "check_digest",
    "make_content_digest",
    "make_digest",
    "parse_signed_request",
    "sign_request_cavage",
    "sign_request_rfc9421",
]

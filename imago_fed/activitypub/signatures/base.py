"""What both signature schemes share: header handling, the time window, the verified-request shape.

Verification is split in two steps because key lookup is the caller's
business and is asynchronous in the server (it may fetch a remote actor):

1. parse the request's signature headers, check what the signature covers
   and that it is fresh, and learn the ``key_id`` -- all without a key, so a
   malformed, under-covered or stale request is refused before any network
   traffic;
2. ``SignedRequest.verify(public_key, body)`` once the key is known.

The time window is Mastodon's: a signature is refused when it was created
more than an hour in the future, or when ``now`` is more than an hour past
its expiry (by default ``created`` + 5 minutes, never more than ``created``
+ 12 hours). Every function takes ``now`` explicitly so that tests and
callers control the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from imago_fed.domain.urls import host_from_url

from .errors import InvalidSignature, StaleSignature

__all__ = [
    "CLOCK_SKEW",
    "DEFAULT_VALIDITY",
    "MAX_VALIDITY",
    "HeadersLike",
    "SignatureScheme",
    "SignedRequest",
    "check_time_window",
    "header_bytes",
    "host_from_url",
    "normalize_headers",
    "require_aware",
    "require_rsa_public_key",
]

#: Tolerated clock difference on either side of the window.
CLOCK_SKEW = timedelta(hours=1)
#: Validity of a signature that states no expiry.
DEFAULT_VALIDITY = timedelta(minutes=5)
#: Upper bound on a stated expiry, counted from creation.
MAX_VALIDITY = timedelta(hours=12)

#: Request headers as a mapping (``dict``, ``httpx.Headers``, werkzeug
#: ``Headers``...) or as ``(name, value)`` pairs, ``str`` or raw ``bytes``.
HeadersLike = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]


class SignatureScheme(StrEnum):
    """Which HTTP signature standard a request uses."""

    CAVAGE = "cavage"  # draft-cavage-http-signatures-12, as the fediverse uses it
    RFC9421 = "rfc9421"  # RFC 9421 HTTP Message Signatures


class SignedRequest(Protocol):
    """A request whose signature parsed and passed the coverage and time checks."""

    @property
    def scheme(self) -> SignatureScheme: ...

    @property
    def key_id(self) -> str: ...

    @property
    def created(self) -> datetime: ...

    def verify(self, public_key: PublicKeyTypes, body: bytes | None = None) -> None:
        """Raise :class:`SignatureError` unless the signature and body digest hold."""
        ...


def _text(value: str | bytes) -> str:
    # Header bytes are Latin-1 on the wire (RFC 9110 section 5.5); decoding
    # them that way is lossless and matches what ASGI servers hand out.
    return value.decode("latin-1") if isinstance(value, bytes) else value


def normalize_headers(headers: HeadersLike) -> dict[str, str]:
    """Return headers keyed by lower-case name, values trimmed, repeats joined with ``", "``."""
    items = headers.items() if hasattr(headers, "items") else headers
    result: dict[str, str] = {}
    for raw_name, raw_value in items:
        name = _text(raw_name).strip().lower()
        value = _text(raw_value).strip()
        result[name] = f"{result[name]}, {value}" if name in result else value
    return result


def header_bytes(text: str) -> bytes:
    """Encode a signing string as the bytes the sender signed.

    Values decoded as Latin-1 go back to their wire bytes; anything outside
    Latin-1 cannot have come off the wire and is taken as UTF-8.
    """
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def require_aware(now: datetime) -> None:
    """Refuse naive datetimes: a signature time is an instant, not a wall-clock reading."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")


def check_time_window(created: datetime, expires: datetime | None, now: datetime) -> None:
    """Raise :class:`StaleSignature` unless ``now`` is inside the window of the signature."""
    require_aware(now)
    if created > now + CLOCK_SKEW:
        raise StaleSignature(f"signature created in the future ({created.isoformat()})")
    limit = created + MAX_VALIDITY
    effective = min(expires, limit) if expires is not None else created + DEFAULT_VALIDITY
    if now > effective + CLOCK_SKEW:
        raise StaleSignature(f"signature expired ({effective.isoformat()})")


def require_rsa_public_key(key: PublicKeyTypes) -> rsa.RSAPublicKey:
    """Both schemes are used with RSA only (as Mastodon does); refuse other key types."""
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidSignature(f"unsupported key type {type(key).__name__}; RSA required")
    return key

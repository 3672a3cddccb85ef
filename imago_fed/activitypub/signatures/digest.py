"""Body digests: ``Digest`` (RFC 3230, used with cavage) and ``Content-Digest`` (RFC 9530).

A signature covers the digest header, not the body, so the digest is what
binds the body to the signature. It must be checked against the *raw* body
bytes as received, before any JSON parsing: re-serialising the parsed JSON
would not reproduce the sender's bytes.

Like Mastodon, only SHA-256 is accepted; other algorithms offered next to it
are ignored, and a header offering no SHA-256 is refused. Every failure is an
:class:`InvalidSignature`: a body that does not match its digest is not
authenticated, whatever the reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import http_sf

from .errors import InvalidSignature

__all__ = [
    "check_content_digest",
    "check_digest",
    "make_content_digest",
    "make_digest",
]


def _sha256(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


def make_digest(body: bytes) -> str:
    """Return the value of a cavage-style ``Digest`` header: ``SHA-256=<base64>``."""
    return "SHA-256=" + base64.b64encode(_sha256(body)).decode("ascii")


def check_digest(value: str, body: bytes) -> None:
    """Check a ``Digest`` header value against the raw body.

    Raises :class:`InvalidSignature` if there is no SHA-256 member, if it is
    not valid base64 of 32 bytes, or if it does not match the body.
    """
    offered: dict[str, str] = {}
    for member in value.split(","):
        algorithm, sep, encoded = member.partition("=")
        if sep:
            offered.setdefault(algorithm.strip().lower(), encoded.strip())
    if "sha-256" not in offered:
        algorithms = ", ".join(offered) or "none"
        raise InvalidSignature(f"Digest header offers no SHA-256 (offered: {algorithms})")
    try:
        claimed = base64.b64decode(offered["sha-256"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSignature("Digest SHA-256 value is not valid base64") from exc
    if len(claimed) != hashlib.sha256().digest_size:
        raise InvalidSignature("Digest SHA-256 value has the wrong length")
    if not hmac.compare_digest(claimed, _sha256(body)):
        raise InvalidSignature("Digest does not match the request body")


def make_content_digest(body: bytes) -> str:
    """Return the value of an RFC 9530 ``Content-Digest`` header: ``sha-256=:<base64>:``."""
    return "sha-256=:" + base64.b64encode(_sha256(body)).decode("ascii") + ":"


def _reject_duplicate(key: str, context: str) -> None:
    raise ValueError(f"duplicate key {key!r} in {context}")


def check_content_digest(value: str, body: bytes) -> None:
    """Check a ``Content-Digest`` header value against the raw body.

    Raises :class:`InvalidSignature` if the header is not a Structured Field
    dictionary, has no ``sha-256`` byte-sequence member of 32 bytes, or if
    that member does not match the body.
    """
    try:
        members = http_sf.parse(
            value.encode("ascii"), tltype="dictionary", on_duplicate_key=_reject_duplicate
        )
    except (UnicodeEncodeError, ValueError) as exc:
        raise InvalidSignature("Content-Digest is not a valid Structured Field dictionary") from exc
    if not isinstance(members, dict):  # pragma: no cover - parse(tltype="dictionary")
        raise InvalidSignature("Content-Digest is not a Structured Field dictionary")
    member = members.get("sha-256")
    if member is None:
        algorithms = ", ".join(members) or "none"
        raise InvalidSignature(f"Content-Digest offers no sha-256 (offered: {algorithms})")
    claimed = member[0] if isinstance(member, tuple) else None  # (value, parameters)
    if not isinstance(claimed, bytes) or len(claimed) != hashlib.sha256().digest_size:
        raise InvalidSignature("Content-Digest sha-256 member is not a 32-byte byte sequence")
    if not hmac.compare_digest(claimed, _sha256(body)):
        raise InvalidSignature("Content-Digest does not match the request body")

"""draft-cavage-http-signatures-12, the scheme most of the fediverse still speaks.

No maintained Python library implements it, and its fediverse dialect
differs from the draft anyway, so it is written here, following Mastodon's
verifier (``app/lib/signed_request.rb``) closely:

* ``algorithm`` may be ``rsa-sha256`` or ``hs2019`` (the default when absent);
  both mean RSASSA-PKCS1-v1_5 with SHA-256;
* the signature must cover ``date`` or ``(created)``, ``(request-target)``
  or ``digest``, ``host`` on GET and ``digest`` on POST;
* ``(request-target)`` is tried with the query string and then without it,
  because Fedify (and old Mastodon) sign the path alone;
* the ``Digest`` header is checked against the raw body.

Two deliberate strictnesses beyond Mastodon: the time checked is the one
the signature covers (``(created)`` if covered, else ``Date``), and an
``expires`` parameter only counts when ``(expires)`` is covered -- an
unsigned parameter must not stretch the replay window.

Signing produces ``rsa-sha256`` over ``(request-target) host date`` plus
``digest`` when there is a body, which every implementation accepts.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from .base import (
    HeadersLike,
    SignatureScheme,
    check_time_window,
    header_bytes,
    host_from_url,
    normalize_headers,
    require_aware,
    require_rsa_public_key,
)
from .digest import check_digest, make_digest
from .errors import InvalidSignature, MalformedSignature

__all__ = [
    "CavageSignedRequest",
    "parse_cavage",
    "parse_signature_params",
    "sign_request_cavage",
    "signing_string",
]

REQUEST_TARGET = "(request-target)"
CREATED = "(created)"
EXPIRES = "(expires)"
_SUPPORTED_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})

_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
# (The quoted value as an unrolled loop: linear, a run of plain characters at a
# time rather than one alternation per character of a 344-character signature.)
_PARAM = re.compile(
    rf'[ \t]*({_TOKEN})[ \t]*=[ \t]*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|({_TOKEN}))[ \t]*'
)
_TIMESTAMP = re.compile(r"\d{1,12}(?:\.\d{1,9})?")


def parse_signature_params(value: str) -> dict[str, str]:
    """Parse a ``Signature`` header into its parameters (names lower-cased).

    Raises :class:`MalformedSignature` on bad syntax or a repeated parameter.
    """
    params: dict[str, str] = {}
    pos = 0
    while True:
        match = _PARAM.match(value, pos)
        if match is None:
            raise MalformedSignature(f"unparseable Signature header near offset {pos}")
        name = match[1].lower()
        if name in params:
            raise MalformedSignature(f"repeated Signature parameter {name!r}")
        quoted, token = match[2], match[3]
        if quoted is not None and "\\" in quoted:
            quoted = re.sub(r"\\(.)", r"\1", quoted)
        params[name] = quoted if quoted is not None else token
        pos = match.end()
        if pos == len(value):
            return params
        if value[pos] != ",":
            raise MalformedSignature(f"expected ',' in Signature header at offset {pos}")
        pos += 1


def _request_target(method: str, path_and_query: str) -> str:
    return f"{REQUEST_TARGET}: {method.lower()} {path_and_query}"


def signing_string(
    covered: tuple[str, ...],
    *,
    method: str,
    path_and_query: str,
    headers: dict[str, str],
    params: dict[str, str] | None = None,
) -> str:
    """Build the cavage signing string: ``name: value`` lines joined by ``\\n``.

    ``headers`` must be normalised (lower-case names); ``params`` holds the
    ``created``/``expires`` values for the ``(created)``/``(expires)`` lines.
    """
    params = params or {}
    lines = []
    for name in covered:
        if name == REQUEST_TARGET:
            lines.append(_request_target(method, path_and_query))
        elif name in (CREATED, EXPIRES):
            lines.append(f"{name}: {params[name[1:-1]]}")
        else:
            lines.append(f"{name}: {headers[name]}")
    return "\n".join(lines)


def _targets(url: str) -> tuple[str, str]:
    """``(path?query, path)`` for ``url``, raw as sent (no decoding)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    return (f"{path}?{parts.query}" if parts.query else path), path


def _timestamp(params: dict[str, str], name: str) -> datetime:
    raw = params.get(name)
    if raw is None or not _TIMESTAMP.fullmatch(raw):
        raise MalformedSignature(f"({name}) is covered but the {name} parameter is missing or bad")
    try:
        return datetime.fromtimestamp(float(raw), tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise MalformedSignature(f"{name} parameter out of range") from exc


def _http_date(value: str) -> datetime:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError) as exc:
        raise MalformedSignature(f"unparseable Date header {value!r}") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class CavageSignedRequest:
    """A parsed cavage signature whose coverage and time window are acceptable."""

    key_id: str
    algorithm: str
    covered: tuple[str, ...]
    signature: bytes
    created: datetime
    method: str
    path_and_query: str
    path: str
    headers: dict[str, str]
    params: dict[str, str]
    scheme: SignatureScheme = field(default=SignatureScheme.CAVAGE, init=False)

    def signing_strings(self) -> list[str]:
        """Candidate signing strings: with the query first, then without it."""
        candidates = list(dict.fromkeys([self.path_and_query, self.path]))
        return [
            signing_string(
                self.covered,
                method=self.method,
                path_and_query=target,
                headers=self.headers,
                params=self.params,
            )
            for target in candidates
        ]

    def verify(self, public_key: PublicKeyTypes, body: bytes | None = None) -> None:
        """Check the body digest, then the signature; raise :class:`InvalidSignature`."""
        key = require_rsa_public_key(public_key)
        body = body or b""
        if "digest" in self.covered:
            check_digest(self.headers["digest"], body)
        elif body:
            raise InvalidSignature("request has a body but the signature does not cover digest")
        for candidate in self.signing_strings():
            try:
                key.verify(
                    self.signature, header_bytes(candidate), padding.PKCS1v15(), hashes.SHA256()
                )
            except _CryptoInvalidSignature:
                continue
            return
        raise InvalidSignature("signature does not verify with the given key")


def _check_coverage(method: str, covered: tuple[str, ...]) -> None:
    if "date" not in covered and CREATED not in covered:
        raise InvalidSignature("signature must cover date or (created)")
    if REQUEST_TARGET not in covered and "digest" not in covered:
        raise InvalidSignature("signature must cover (request-target) or digest")
    if method == "GET" and "host" not in covered:
        raise InvalidSignature("signature must cover host on GET")
    if method == "POST" and "digest" not in covered:
        raise InvalidSignature("signature must cover digest on POST")


def parse_cavage(
    method: str, url: str, headers: HeadersLike, *, now: datetime
) -> CavageSignedRequest:
    """Parse and pre-check a cavage-signed request (no key needed yet).

    ``url`` is the request URL (absolute, or just ``/path?query``) with the
    path and query exactly as received. Raises :class:`MalformedSignature`,
    :class:`InvalidSignature` (unsupported algorithm, insufficient coverage)
    or :class:`StaleSignature`.
    """
    require_aware(now)
    method = method.upper()
    normalized = normalize_headers(headers)
    if "signature" not in normalized:
        raise MalformedSignature("no Signature header")
    params = parse_signature_params(normalized["signature"])
    key_id = params.get("keyid", "")
    if not key_id or not params.get("signature"):
        raise MalformedSignature("Signature header needs keyId and signature")
    try:
        signature = base64.b64decode(params["signature"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedSignature("signature is not valid base64") from exc
    algorithm = params.get("algorithm", "hs2019").lower()
    if algorithm not in _SUPPORTED_ALGORITHMS:
        raise InvalidSignature(f"unsupported signature algorithm {algorithm!r}")
    default_covered = CREATED if algorithm == "hs2019" else "date"
    covered = tuple(params.get("headers", default_covered).lower().split())
    if not covered:
        raise MalformedSignature("empty headers parameter")
    for name in covered:
        if name in (CREATED, EXPIRES):
            if algorithm != "hs2019":
                raise MalformedSignature(f"{name} cannot be used with {algorithm}")
            _timestamp(params, name[1:-1])
        elif name.startswith("("):
            if name != REQUEST_TARGET:
                raise MalformedSignature(f"unknown pseudo-header {name}")
        elif name not in normalized:
            raise InvalidSignature(f"covered header {name!r} is absent")
    _check_coverage(method, covered)

    if CREATED in covered:
        created = _timestamp(params, "created")
    else:
        created = _http_date(normalized["date"])
    expires = _timestamp(params, "expires") if EXPIRES in covered else None
    check_time_window(created, expires, now)

    path_and_query, path = _targets(url)
    return CavageSignedRequest(
        key_id=key_id,
        algorithm=algorithm,
        covered=covered,
        signature=signature,
        created=created,
        method=method,
        path_and_query=path_and_query,
        path=path,
        headers={name: normalized[name] for name in covered if not name.startswith("(")},
        params={name: params[name] for name in ("created", "expires") if name in params},
    )


def _quote(value: str) -> str:
    if '"' in value or "\\" in value or not value.isprintable():
        raise ValueError(f"cannot put {value!r} in a Signature header")
    return f'"{value}"'


def sign_request_cavage(
    method: str,
    url: str,
    headers: HeadersLike,
    body: bytes | None,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    now: datetime,
    *,
    include_query: bool = True,
) -> dict[str, str]:
    """Sign a request the cavage way; return the headers to add to it.

    Covers ``(request-target) host date``, plus ``digest`` when there is a
    body (a POST always has one; ``None`` counts as empty). ``Host`` and
    ``Date`` already in ``headers`` are kept, otherwise derived from ``url``
    and ``now``; all covered headers are returned so that the caller sends
    exactly what was signed. ``include_query=False`` signs the path alone,
    as Fedify does.
    """
    require_aware(now)
    method = method.upper()
    normalized = normalize_headers(headers)
    added = {
        "Host": normalized.get("host") or host_from_url(url),
        "Date": normalized.get("date") or format_datetime(now.astimezone(UTC), usegmt=True),
    }
    covered = [REQUEST_TARGET, "host", "date"]
    if body is not None or method == "POST":
        added["Digest"] = make_digest(body or b"")
        covered.append("digest")
    path_and_query, path = _targets(url)
    text = signing_string(
        tuple(covered),
        method=method,
        path_and_query=path_and_query if include_query else path,
        headers={name.lower(): value for name, value in added.items()},
    )
    signature = private_key.sign(header_bytes(text), padding.PKCS1v15(), hashes.SHA256())
    added["Signature"] = ",".join(
        [
            f"keyId={_quote(key_id)}",
            'algorithm="rsa-sha256"',
            f"headers={_quote(' '.join(covered))}",
            f'signature="{base64.b64encode(signature).decode("ascii")}"',
        ]
    )
    return added

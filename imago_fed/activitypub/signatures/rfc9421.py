"""RFC 9421 HTTP Message Signatures, in the profile Mastodon accepts.

The signature base and the cryptography come from ``http-message-signatures``
(its core signer and verifier, driven through a tiny request adapter rather
than its client hooks, which do not fit our httpx or server code). What is
ours is the fediverse policy on top, matching Mastodon:

* exactly one signature, algorithm ``rsa-v1_5-sha256``;
* ``keyid`` and ``created`` required;
* ``@method`` and ``@target-uri`` covered, plus ``content-digest`` on POST,
  with ``Content-Digest`` (sha-256) checked against the raw body;
* the same time window as cavage, against an explicit ``now`` (the library
  reads the system clock, so its own time checks are replaced).

The policy checks run at parse time, before the caller looks the key up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import http_sf
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    MappingKeyResolver,
    algorithms,
)
from http_message_signatures.structures import CaseInsensitiveDict

from .base import (
    HeadersLike,
    SignatureScheme,
    check_time_window,
    normalize_headers,
    require_aware,
    require_rsa_public_key,
)
from .digest import check_content_digest
from .errors import InvalidSignature, MalformedSignature

__all__ = ["Rfc9421SignedRequest", "parse_rfc9421", "sign_request_rfc9421"]

ALGORITHM = algorithms.RSA_V1_5_SHA256
LABEL = "sig1"
REQUIRED_COMPONENTS = ("@method", "@target-uri")


@dataclass
class _Message:
    """The request interface the library's component resolver reads."""

    method: str
    url: str
    headers: CaseInsensitiveDict


class _Verifier(HTTPMessageVerifier):
    """The library's verifier, minus its system-clock time checks.

    ``parse_rfc9421`` has already applied our window to the same
    ``created``/``expires`` values with the caller's ``now``.
    """

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        return None


def sign_request_rfc9421(
    method: str,
    url: str,
    headers: HeadersLike,
    body: bytes | None,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    now: datetime,
) -> dict[str, str]:
    """Sign a request per RFC 9421; return the headers to add to it.

    Covers ``@method @target-uri``, plus ``content-digest`` when there is a
    body (a POST always has one; ``None`` counts as empty), with parameters
    ``created`` and ``keyid`` under the label ``sig1``. Returns
    ``Signature-Input``, ``Signature`` and, with a body, ``Content-Digest``.
    """
    require_aware(now)
    method = method.upper()
    fields = CaseInsensitiveDict(normalize_headers(headers))
    fields.pop("content-digest", None)  # ours is computed from the body below
    if body is None and method == "POST":
        body = b""
    message = _Message(method, url, fields)
    signer = HTTPMessageSigner(
        signature_algorithm=ALGORITHM,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: private_key}),
    )
    try:
        signer.sign(
            message,
            key_id=key_id,
            created=now,
            label=LABEL,
            include_alg=False,
            covered_component_ids=REQUIRED_COMPONENTS,
            body=body,
        )
    except HTTPMessageSignaturesException as exc:
        raise ValueError(f"cannot sign request: {exc}") from exc
    added = {"Signature-Input": fields["signature-input"], "Signature": fields["signature"]}
    if body is not None:
        added["Content-Digest"] = fields["content-digest"]
    return added


@dataclass(frozen=True)
class Rfc9421SignedRequest:
    """A parsed RFC 9421 signature whose coverage and time window are acceptable."""

    key_id: str
    created: datetime
    covered: tuple[str, ...]
    method: str
    url: str
    headers: dict[str, str]
    scheme: SignatureScheme = field(default=SignatureScheme.RFC9421, init=False)

    def verify(self, public_key: PublicKeyTypes, body: bytes | None = None) -> None:
        """Check the body digest, then the signature; raise :class:`InvalidSignature`."""
        key = require_rsa_public_key(public_key)
        body = body or b""
        if "content-digest" in self.covered:
            check_content_digest(self.headers["content-digest"], body)
        elif body:
            raise InvalidSignature("request has a body but content-digest is not covered")
        verifier = _Verifier(
            signature_algorithm=ALGORITHM,
            key_resolver=MappingKeyResolver(public_keys={self.key_id: key}, private_keys={}),
        )
        message = _Message(self.method, self.url, CaseInsensitiveDict(self.headers))
        try:
            verifier.verify(message, max_age=None, require_components=REQUIRED_COMPONENTS)
        except HTTPMessageSignaturesException as exc:
            raise InvalidSignature(f"signature does not verify: {exc}") from exc


def _reject_duplicate(key: str, context: str) -> None:
    raise ValueError(f"duplicate key {key!r} in {context}")


def _dictionary(headers: dict[str, str], name: str) -> dict[str, Any]:
    if name not in headers:
        raise MalformedSignature(f"no {name} header")
    try:
        parsed = http_sf.parse(
            headers[name].encode("ascii"), tltype="dictionary", on_duplicate_key=_reject_duplicate
        )
    except (UnicodeEncodeError, ValueError) as exc:
        raise MalformedSignature(f"{name} is not a Structured Field dictionary") from exc
    if not isinstance(parsed, dict) or not parsed:
        raise MalformedSignature(f"{name} is empty")
    return parsed


def _time(params: dict[str, Any], name: str) -> datetime | None:
    value = params.get(name)
    if value is None:
        return None
    if type(value) is not int:
        raise MalformedSignature(f"{name} must be an integer")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise MalformedSignature(f"{name} out of range") from exc


def parse_rfc9421(
    method: str, url: str, headers: HeadersLike, *, now: datetime
) -> Rfc9421SignedRequest:
    """Parse and pre-check an RFC 9421-signed request (no key needed yet).

    ``url`` must be the absolute target URI as the sender addressed it
    (public scheme and host, no default port). Raises
    :class:`MalformedSignature`, :class:`InvalidSignature` (several
    signatures, unsupported algorithm, missing ``created``, insufficient
    coverage) or :class:`StaleSignature`.
    """
    require_aware(now)
    method = method.upper()
    normalized = normalize_headers(headers)
    inputs = _dictionary(normalized, "signature-input")
    signatures = _dictionary(normalized, "signature")
    if inputs.keys() != signatures.keys():
        raise MalformedSignature("Signature-Input and Signature labels differ")
    if len(inputs) != 1:
        raise InvalidSignature("exactly one signature is accepted")
    (label,) = inputs
    components, params = inputs[label]
    signature = signatures[label][0]
    if not isinstance(components, list) or not isinstance(signature, bytes):
        raise MalformedSignature(f"signature {label!r} has the wrong structure")
    if not all(isinstance(component, str) for component, _ in components):
        raise MalformedSignature("covered components must be strings")
    # Policy looks at plain components only: "content-digest";sf is not "content-digest".
    covered = [component for component, component_params in components if not component_params]
    key_id = params.get("keyid")
    if not isinstance(key_id, str) or not key_id:
        raise MalformedSignature("signature needs a keyid string")
    alg = params.get("alg", ALGORITHM.algorithm_id)
    if alg != ALGORITHM.algorithm_id:
        raise InvalidSignature(f"unsupported signature algorithm {alg!r}")
    created = _time(params, "created")
    if created is None:
        raise InvalidSignature("signature needs a created parameter")
    expires = _time(params, "expires")

    required = REQUIRED_COMPONENTS + (("content-digest",) if method == "POST" else ())
    missing = [name for name in required if name not in covered]
    if missing:
        raise InvalidSignature(f"signature must cover {', '.join(missing)}")
    for name, _ in components:
        if not name.startswith("@") and name not in normalized:
            raise InvalidSignature(f"covered header {name!r} is absent")
    check_time_window(created, expires, now)

    return Rfc9421SignedRequest(
        key_id=key_id,
        created=created,
        covered=tuple(covered),
        method=method,
        url=url,
        headers=normalized,
    )

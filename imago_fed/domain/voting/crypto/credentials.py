"""Belenios credentials (spec 4.8): what lets a voter sign, and only once.

    private   "XXX-XXX-XXX-XXX-XXX": 14 random base58 digits and a checksum
              53 - (n mod 53), n the 14 digits read as a base-58 number
    secret    s = PBKDF2-HMAC-SHA256(private, salt = election uuid,
              1000 iterations, 32 bytes) read big-endian, mod q
    public    g^s, published in the election's list, optionally ",weight"

The credential authority makes the private ones, hands them out, publishes
only the public list; the server then accepts one counted ballot per public
credential (the last one), signed with s (see ballots.py). The private
string is hashed exactly as typed, dashes included, as belenios-tool does.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

from imago_fed.domain.voting.crypto.election import BASE58
from imago_fed.domain.voting.crypto.encoding import FormatError, parse_weight
from imago_fed.domain.voting.crypto.groups import Group, InvalidElement

__all__ = [
    "MembershipCheck",
    "PublicCredentials",
    "credential_is_valid",
    "derive_secret",
    "format_public_credential",
    "generate_credential",
    "public_credential",
]

_DIGITS = {c: i for i, c in enumerate(BASE58)}


def _checksum_ok(raw: str) -> bool:
    if len(raw) != 15 or any(c not in _DIGITS for c in raw):
        return False
    n = 0
    for c in raw[:14]:
        n = 58 * n + _DIGITS[c]
    return (n + _DIGITS[raw[14]]) % 53 == 0


def credential_is_valid(text: str) -> bool:
    """``XXXXXXXXXXXXXXX`` or ``XXX-XXX-XXX-XXX-XXX`` with a good checksum."""
    if len(text) == 19 and all(text[i] == "-" for i in (3, 7, 11, 15)):
        text = text.replace("-", "")
    return len(text) == 15 and _checksum_ok(text)


def generate_credential() -> str:
    digits = [secrets.randbelow(58) for _ in range(14)]
    n = 0
    for d in digits:
        n = 58 * n + d
    raw = "".join(BASE58[d] for d in digits) + BASE58[53 - n % 53]
    return "-".join(raw[i : i + 3] for i in range(0, 15, 3))


def derive_secret(group: Group, uuid: str, credential: str) -> int:
    if not credential_is_valid(credential):
        raise FormatError("invalid private credential (format or checksum)")
    derived = hashlib.pbkdf2_hmac("sha256", credential.encode(), uuid.encode(), 1000, 32)
    return int.from_bytes(derived, "big") % group.q


def public_credential(group: Group, uuid: str, credential: str) -> Any:
    return group.g_pow(derive_secret(group, uuid, credential))


def format_public_credential(group: Group, public: Any, weight: int | None = None) -> str:
    text = group.encode(public)
    return text if weight is None else f"{text},{weight}"


class PublicCredentials:
    """The published list: canonical element string -> weight.

    Every element is checked for membership once, here (or by the caller,
    who may spread the checks over processes: ``check_members=False`` and
    :func:`non_members`), so a ballot only has to show a listed string.
    """

    def __init__(self, group: Group, lines: Iterable[Any], *, check_members: bool = True) -> None:
        self.weights: dict[str, int] = {}
        self.has_weights = False
        for line in lines:
            if not isinstance(line, str):
                raise FormatError("a public credential is a string")
            text, sep, weight_text = line.partition(",")
            weight = 1
            if sep:
                self.has_weights = True
                weight = parse_weight(weight_text)
            try:
                element = group.decode(text)
            except InvalidElement as exc:
                raise FormatError(f"public credential: {exc}") from exc
            if check_members and not group.is_member(element):
                raise FormatError(f"public credential not in the group: {text[:20]}...")
            key = group.encode(element)
            if key in self.weights:
                raise FormatError(f"duplicate public credential: {key[:20]}...")
            self.weights[key] = weight

    def __len__(self) -> int:
        return len(self.weights)

    def __contains__(self, credential: str) -> bool:
        return credential in self.weights

    @property
    def total_weight(self) -> int:
        return sum(self.weights.values())


class MembershipCheck:
    """``non_members(texts)``: the encoded elements that are not in the group."""

    def __init__(self, group: Group) -> None:
        self.group = group

    def non_members(self, texts: list[str]) -> list[str]:
        return [t for t in texts if not self.group.is_member(self.group.decode(t))]

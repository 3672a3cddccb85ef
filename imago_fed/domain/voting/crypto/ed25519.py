"""Ed25519: the prime-order subgroup of Curve25519 through libsodium.

Same :class:`~imago_fed.domain.voting.crypto.groups.Group` interface as the
finite-field groups, written multiplicatively (``mul`` is point addition,
``pow`` scalar multiplication) so that the proofs above do not care.

    element   the 32-byte compressed point libsodium uses (``bytes``)
    string    64 hex digits of that encoding read as a little-endian number,
              which is how Belenios >= 2.1 writes Ed25519 points (2.0 does
              not know the group at all)
    member    ``crypto_core_ed25519_is_valid_point`` (canonical, on the curve,
              in the subgroup of order l, not of small order) or the identity
    g^e       ``crypto_scalarmult_ed25519_base_noclamp``: libsodium's own
              precomputed tables, so no comb of ours

libsodium refuses to produce the identity (scalar 0 mod l, or the identity
as input); those cases are answered here before calling it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence

from nacl.bindings import (
    crypto_core_ed25519_add,
    crypto_core_ed25519_is_valid_point,
    crypto_core_ed25519_sub,
    crypto_scalarmult_ed25519_base_noclamp,
    crypto_scalarmult_ed25519_noclamp,
)
from nacl.exceptions import RuntimeError as NaclRuntimeError

from imago_fed.domain.voting.crypto.groups import InvalidElement, Prepared

__all__ = ["ED25519", "Ed25519Group"]

L = 2**252 + 27742317777372353535851937790883648493
IDENTITY = bytes([1]) + bytes(31)
_HEX = frozenset("0123456789abcdef")


class _Point:
    """A prepared base: libsodium has no multi-exponentiation to share."""

    __slots__ = ("_group", "value")

    def __init__(self, group: Ed25519Group, value: bytes) -> None:
        self._group, self.value = group, value

    def pow(self, e: int) -> bytes:
        return self._group.pow(self.value, e)

    def is_member(self) -> bool:
        return self._group.is_member(self.value)


class Ed25519Group:
    """The Ed25519 group with Belenios 2.1+'s string encoding."""

    name = "Ed25519"
    q = L
    one = IDENTITY

    def __init__(self) -> None:
        self.g = crypto_scalarmult_ed25519_base_noclamp((1).to_bytes(32, "little"))

    def __repr__(self) -> str:
        return "<Ed25519Group>"

    def __reduce__(self) -> tuple[object, ...]:
        return (_the_group, ())

    def decode(self, text: str) -> bytes:
        if not isinstance(text, str) or len(text) != 64 or not _HEX.issuperset(text):
            raise InvalidElement(f"not 64 lowercase hex digits: {str(text)[:40]!r}")
        return bytes.fromhex(text)[::-1]

    def encode(self, x: bytes) -> str:
        return x[::-1].hex()

    def is_member(self, x: bytes) -> bool:
        return x == IDENTITY or bool(crypto_core_ed25519_is_valid_point(x))

    def mul(self, a: bytes, b: bytes) -> bytes:
        try:
            return crypto_core_ed25519_add(a, b)
        except NaclRuntimeError as exc:
            raise InvalidElement("not a curve point") from exc

    def div(self, a: bytes, b: bytes) -> bytes:
        try:
            return crypto_core_ed25519_sub(a, b)
        except NaclRuntimeError as exc:
            raise InvalidElement("not a curve point") from exc

    def pow(self, x: bytes, e: int) -> bytes:
        e %= L
        if e == 0 or x == IDENTITY:
            return IDENTITY
        try:
            return crypto_scalarmult_ed25519_noclamp(e.to_bytes(32, "little"), x)
        except NaclRuntimeError as exc:
            raise InvalidElement("scalar multiplication refused (small-order point)") from exc

    def g_pow(self, e: int) -> bytes:
        e %= L
        if e == 0:
            return IDENTITY
        return crypto_scalarmult_ed25519_base_noclamp(e.to_bytes(32, "little"))

    def g_small(self, m: int) -> bytes:
        return self.g_pow(m)

    def fixed_base(self, x: bytes) -> _Point:
        return _Point(self, x)

    def prepare(self, x: bytes) -> _Point:
        return _Point(self, x)

    def prepare_product(self, parts: Sequence[Prepared]) -> _Point:
        value = IDENTITY
        for part in parts:
            value = self.mul(value, part.value)
        return _Point(self, value)

    def hash_to_scalar(self, prefix: str, elements: Iterable[bytes]) -> int:
        text = prefix + ",".join(x[::-1].hex() for x in elements)
        return int.from_bytes(hashlib.sha256(text.encode()).digest(), "big") % L

    def random_scalar(self) -> int:
        return secrets.randbelow(L)


ED25519 = Ed25519Group()


def _the_group() -> Ed25519Group:
    return ED25519

"""Trustees: who holds the decryption key, alone or t-of-n (spec 3.1.1, 4.5-4.7).

    trustees = [["Single", {pok, public_key}], ["Pedersen", {threshold,
                certs, coefexps, verification_keys}], …]
    y        = product of every item's sub-key (the server always holds
               one Single key of its own, so no trustee set alone decrypts)

Single: x at random, X = g^x, a proof of knowledge hashed ``pok|G|X|A``.

Pedersen (Belenios's threshold mode, as ``setup generate-trustee-key-
threshold --step 1…6`` runs it): each of n trustees

    1. picks a seed; sk = SHA256("sk|"seed), dk = SHA256("dk|"seed); its
       cert is {verification: g^sk, encryption: g^dk} signed ``sigmsg|M|A``
    3. picks f_i of degree t-1, publishes coefexps A_ik = g^a_ik (signed)
       and sends s_ij = f_i(j) to trustee j (belenios encrypts these with
       AES-CCM under ek_j; here the caller carries them privately)
    5. checks g^s_ij = prod_k A_ik^(j^k) for every i, keeps x_j = sum_i s_ij
       and publishes X_j = g^x_j with a proof of knowledge
    6. everyone checks X_j = prod_i prod_k A_ik^(j^k); sub-key prod_i A_i0

``threshold`` (Belenios's field) is t, the number of shares needed. Any t of
them decrypt with Lagrange coefficients lambda_d = prod_{k != d} k/(k-d)
mod q over their 1-based positions; t - 1 learn nothing and ``combine``
says so (:class:`NotEnoughShares`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from imago_fed.domain.voting.crypto.election import BASE58
from imago_fed.domain.voting.crypto.encoding import FormatError, compact, sha256_hex
from imago_fed.domain.voting.crypto.groups import Group, InvalidElement
from imago_fed.domain.voting.crypto.proofs import (
    Proof,
    parse_proof,
    pok_prefix,
    proof_json,
    schnorr_prove,
    schnorr_verify,
)

__all__ = [
    "NotEnoughShares",
    "PedersenTrustees",
    "SingleTrustee",
    "ThresholdTrustee",
    "TrusteeError",
    "TrusteePublicKey",
    "combine_keys",
    "generate_single",
    "lagrange",
    "parse_trustees",
    "pedersen_ceremony",
    "trustees_json",
]


class TrusteeError(Exception):
    """A trustee structure that does not check; ``check`` names what failed."""

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(f"{check}: {detail}")
        self.check, self.detail = check, detail


class NotEnoughShares(TrusteeError):
    """Fewer valid partial decryptions than a Pedersen item's threshold."""


@dataclass(frozen=True, slots=True)
class TrusteePublicKey:
    public_key: Any
    pok: Proof
    name: str | None = None

    def to_json(self, group: Group) -> dict[str, Any]:
        out: dict[str, Any] = {
            "pok": proof_json(self.pok),
            "public_key": group.encode(self.public_key),
        }
        if self.name is not None:
            out["name"] = self.name
        return out

    @classmethod
    def parse(cls, group: Group, value: Any) -> TrusteePublicKey:
        try:
            return cls(
                group.decode(value["public_key"]), parse_proof(value["pok"]), value.get("name")
            )
        except (KeyError, TypeError, InvalidElement) as exc:
            raise FormatError(f"malformed trustee public key: {exc}") from exc

    def check(self, group: Group) -> bool:
        return group.is_member(self.public_key) and schnorr_verify(
            group, self.public_key, self.pok, pok_prefix(group, self.public_key)
        )


@dataclass(frozen=True)
class SingleTrustee:
    key: TrusteePublicKey

    @property
    def size(self) -> int:
        return 1


@dataclass(frozen=True)
class PedersenTrustees:
    threshold: int
    certs: tuple[dict[str, Any], ...]  # signed messages, kept verbatim
    coefexps: tuple[dict[str, Any], ...]
    verification_keys: tuple[TrusteePublicKey, ...]

    @property
    def size(self) -> int:
        return len(self.verification_keys)


Kind = SingleTrustee | PedersenTrustees


def generate_single(group: Group, name: str | None = None) -> tuple[int, TrusteePublicKey]:
    """A fresh private key x and its published half (with proof of knowledge)."""
    x = group.random_scalar()
    public = group.g_pow(x)
    return x, TrusteePublicKey(public, schnorr_prove(group, x, pok_prefix(group, public)), name)


def parse_trustees(group: Group, raw: str | bytes) -> list[Kind]:
    try:
        value = json.loads(raw)
        kinds: list[Kind] = []
        for tag, body in value:
            if tag == "Single":
                kinds.append(SingleTrustee(TrusteePublicKey.parse(group, body)))
            elif tag == "Pedersen":
                kinds.append(
                    PedersenTrustees(
                        int(body["threshold"]),
                        tuple(body["certs"]),
                        tuple(body["coefexps"]),
                        tuple(TrusteePublicKey.parse(group, k) for k in body["verification_keys"]),
                    )
                )
            else:
                raise FormatError(f"unknown trustee kind {tag!r}")
    except (ValueError, KeyError, TypeError) as exc:
        raise FormatError(f"malformed trustees: {exc}") from exc
    return kinds


def trustees_json(group: Group, kinds: Sequence[Kind]) -> str:
    items: list[Any] = []
    for kind in kinds:
        if isinstance(kind, SingleTrustee):
            items.append(["Single", kind.key.to_json(group)])
        else:
            items.append(
                [
                    "Pedersen",
                    {
                        "threshold": kind.threshold,
                        "certs": list(kind.certs),
                        "coefexps": list(kind.coefexps),
                        "verification_keys": [k.to_json(group) for k in kind.verification_keys],
                    },
                ]
            )
    return compact(items)


# ----------------------------------------------------------- signed messages
def _sign(group: Group, sk: int, message: str) -> dict[str, Any]:
    proof = schnorr_prove(group, sk, f"sigmsg|{message}|")
    return {"message": message, "signature": proof_json(proof)}


def _verify_signed(group: Group, vk: Any, signed: dict[str, Any]) -> bool:
    try:
        message, proof = signed["message"], parse_proof(signed["signature"])
    except (KeyError, TypeError, FormatError):
        return False
    return isinstance(message, str) and schnorr_verify(group, vk, proof, f"sigmsg|{message}|")


def _coefexps(group: Group, signed: dict[str, Any]) -> list[Any]:
    values = json.loads(signed["message"])["coefexps"]
    return [group.decode(v) for v in values]


def _verification_key(group: Group, coefexps: Sequence[Sequence[Any]], j: int) -> Any:
    """prod_i prod_k A_ik^(j^k): g^(x_j) from the public coefficients."""
    acc = group.one
    for coefs in coefexps:
        jk = 1
        for a in coefs:
            acc = group.mul(acc, group.pow(a, jk))
            jk *= j
    return acc


def check_pedersen(group: Group, item: PedersenTrustees) -> None:
    """Certificates, signed coefficients, proofs of knowledge, verification keys."""
    n = item.size
    if not (len(item.certs) == len(item.coefexps) == n) or not 1 <= item.threshold <= n:
        raise TrusteeError("trustees.threshold", f"threshold {item.threshold} of {n} trustees")
    coefexps: list[list[Any]] = []
    for z, (cert, signed) in enumerate(zip(item.certs, item.coefexps, strict=True), 1):
        try:
            keys = json.loads(cert["message"])
            vk = group.decode(keys["verification"])
            group.decode(keys["encryption"])
        except (ValueError, KeyError, TypeError, InvalidElement) as exc:
            raise TrusteeError("trustees.certificate", f"trustee {z}: {exc}") from exc
        if not group.is_member(vk) or not _verify_signed(group, vk, cert):
            raise TrusteeError("trustees.certificate", f"trustee {z}: bad signature")
        if not _verify_signed(group, vk, signed):
            raise TrusteeError("trustees.coefexps", f"trustee {z}: bad signature")
        try:
            coefs = _coefexps(group, signed)
        except (ValueError, KeyError, TypeError, InvalidElement) as exc:
            raise TrusteeError("trustees.coefexps", f"trustee {z}: {exc}") from exc
        if len(coefs) != item.threshold or not all(group.is_member(a) for a in coefs):
            raise TrusteeError("trustees.coefexps", f"trustee {z}: not {item.threshold} elements")
        coefexps.append(coefs)
    for j, key in enumerate(item.verification_keys, 1):
        if not key.check(group):
            raise TrusteeError("trustees.pok", f"threshold trustee {j}")
        if key.public_key != _verification_key(group, coefexps, j):
            raise TrusteeError("trustees.verification_key", f"threshold trustee {j}")


def check_trustees(group: Group, kinds: Sequence[Kind]) -> None:
    for index, kind in enumerate(kinds, 1):
        if isinstance(kind, SingleTrustee):
            if not kind.key.check(group):
                raise TrusteeError("trustees.pok", f"single trustee (item {index})")
        else:
            check_pedersen(group, kind)


def combine_keys(group: Group, kinds: Sequence[Kind]) -> Any:
    y = group.one
    for kind in kinds:
        if isinstance(kind, SingleTrustee):
            y = group.mul(y, kind.key.public_key)
        else:
            for signed in kind.coefexps:
                y = group.mul(y, _coefexps(group, signed)[0])
    return y


def owner_keys(kinds: Sequence[Kind]) -> list[Any]:
    """Public key of each trustee by owner number (1-based, flattened)."""
    keys: list[Any] = []
    for kind in kinds:
        if isinstance(kind, SingleTrustee):
            keys.append(kind.key.public_key)
        else:
            keys.extend(k.public_key for k in kind.verification_keys)
    return keys


def lagrange(q: int, indexes: Sequence[int], d: int) -> int:
    """lambda_d for the set ``indexes`` (1-based), mod q."""
    num = den = 1
    for k in indexes:
        if k != d:
            num = num * k % q
            den = den * (k - d) % q
    return num * pow(den, -1, q) % q


# ----------------------------------------------------------------- Pedersen
def _seed() -> str:
    return "".join(secrets.choice(BASE58) for _ in range(22))


@dataclass
class ThresholdTrustee:
    """One trustee's side of the Pedersen ceremony (steps 1, 3 and 5)."""

    group: Group
    seed: str

    @classmethod
    def create(cls, group: Group) -> ThresholdTrustee:
        return cls(group, _seed())

    @property
    def sk(self) -> int:
        return int(sha256_hex("sk|" + self.seed), 16)

    @property
    def dk(self) -> int:
        return int(sha256_hex("dk|" + self.seed), 16)

    def cert(self) -> dict[str, Any]:
        g = self.group
        keys = compact(
            {"verification": g.encode(g.g_pow(self.sk)), "encryption": g.encode(g.g_pow(self.dk))}
        )
        return _sign(g, self.sk, keys)

    def polynomial(self, n: int, threshold: int) -> tuple[dict[str, Any], list[int]]:
        """Signed coefexps (public) and s_ij = f(j) for j = 1..n (one per trustee, private)."""
        g, q = self.group, self.group.q
        coefs = [g.random_scalar() for _ in range(threshold)]
        signed = _sign(g, self.sk, compact({"coefexps": [g.encode(g.g_pow(a)) for a in coefs]}))
        shares = [sum(a * pow(j, k, q) for k, a in enumerate(coefs)) % q for j in range(1, n + 1)]
        return signed, shares

    def finish(
        self, me: int, coefexps: Sequence[dict[str, Any]], shares: Sequence[int]
    ) -> tuple[int, TrusteePublicKey]:
        """Check every s_ij received against its sender's coefexps; x_j and X_j."""
        g = self.group
        for i, (signed, s) in enumerate(zip(coefexps, shares, strict=True), 1):
            if g.g_pow(s) != _verification_key(g, [_coefexps(g, signed)], me):
                raise TrusteeError("trustees.share", f"share from trustee {i} does not match")
        x = sum(shares) % g.q
        public = g.g_pow(x)
        return x, TrusteePublicKey(public, schnorr_prove(g, x, pok_prefix(g, public)))


def pedersen_ceremony(group: Group, n: int, threshold: int) -> tuple[PedersenTrustees, list[int]]:
    """All n trustees' steps in one place (tests, or trustees on one machine)."""
    trustees = [ThresholdTrustee.create(group) for _ in range(n)]
    certs = [t.cert() for t in trustees]
    polys = [t.polynomial(n, threshold) for t in trustees]
    coefexps = [signed for signed, _ in polys]
    results = [
        t.finish(j, coefexps, [shares[j - 1] for _, shares in polys])
        for j, t in enumerate(trustees, 1)
    ]
    item = PedersenTrustees(threshold, tuple(certs), tuple(coefexps), tuple(k for _, k in results))
    check_pedersen(group, item)
    return item, [x for x, _ in results]

"""t-of-n trustee keys made on separate machines, with the server as a mailbox.

:func:`trustees.pedersen_ceremony` runs Belenios's threshold key generation
in one process. Real trustees are different people on different machines,
and only the server reaches all of them; so every message they exchange
goes through it, in three rounds (Belenios's ``--step 1, 3, 5``; the server
does 2, 4 and 6):

    1 cert          each trustee i keeps a seed; publishes its signed cert
                    {verification: g^sk_i, encryption: g^dk_i}
    3 polynomial    with every cert in: f_i of degree t-1; the signed
                    coefexps g^a_ik (public) and s_ij = f_i(j) sealed to
                    trustee j's encryption key, for every j (itself too)
    5 verification  with every polynomial in: trustee j opens the n shares
                    sealed to it, checks g^s_ij against sender i's coefexps
                    (a bad share names its sender and stops the ceremony),
                    x_j = sum_i s_ij; publishes X_j = g^x_j with a proof of
                    knowledge, and x_j sealed to its *own* key, so the seed
                    is all it has to keep
    6 (server)      the Pedersen item of ``trustees.json``; check_pedersen

The server sees certs, coefexps, verification keys and sealed boxes only:
it never learns an s_ij or an x_j. What it could do is swap a whole cert
for one of its own; so each trustee prints every cert's fingerprint and the
trustees compare them out of band, as Belenios asks its trustees to.

Sealed boxes are ElGamal key encapsulation in the election group plus
AES-256-GCM: alpha = g^r, K = SHA-256("imago-seal|" || encode(ek^r)), and
the context (election uuid, purpose, sender, recipient) as associated data,
so that a box moved to another slot does not open. This is our own
envelope, not Belenios's (which uses its own AES-CCM format): the boxes are
not part of the public board, so belenios-tool never reads them; what goes
on the board (certs, coefexps, verification keys) is in Belenios's format.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from imago_fed.domain.voting.crypto.encoding import FormatError, compact, sha256_hex
from imago_fed.domain.voting.crypto.groups import Group, InvalidElement
from imago_fed.domain.voting.crypto.trustees import (
    PedersenTrustees,
    ThresholdTrustee,
    TrusteeError,
    TrusteePublicKey,
    _coefexps,
    _verification_key,
    _verify_signed,
    check_pedersen,
)

__all__ = [
    "CeremonyTrustee",
    "assemble",
    "cert_fingerprint",
    "check_cert",
    "check_polynomial",
    "check_verification",
    "open_box",
    "seal",
]


# ------------------------------------------------------------ sealed boxes
def _box_key(group: Group, shared: Any) -> bytes:
    return hashlib.sha256(b"imago-seal|" + group.encode(shared).encode()).digest()


def seal(group: Group, recipient: Any, plaintext: bytes, context: str) -> dict[str, str]:
    """``plaintext`` readable only with the discrete log of ``recipient``."""
    r = group.random_scalar()
    nonce = secrets.token_bytes(12)
    data = AESGCM(_box_key(group, group.pow(recipient, r))).encrypt(
        nonce, plaintext, context.encode()
    )
    return {
        "alpha": group.encode(group.g_pow(r)),
        "nonce": base64.b64encode(nonce).decode(),
        "data": base64.b64encode(data).decode(),
    }


def open_box(group: Group, dk: int, box: Any, context: str) -> bytes:
    """The plaintext of a box sealed to g^dk under ``context``, or TrusteeError."""
    try:
        alpha = group.decode(box["alpha"])
        nonce = base64.b64decode(box["nonce"], validate=True)
        data = base64.b64decode(box["data"], validate=True)
    except (KeyError, TypeError, ValueError, InvalidElement) as exc:
        raise TrusteeError("ceremony.box", f"malformed sealed box: {exc}") from exc
    if not group.is_member(alpha) or len(nonce) != 12:
        raise TrusteeError("ceremony.box", "sealed box is not in the group")
    try:
        return AESGCM(_box_key(group, group.pow(alpha, dk))).decrypt(nonce, data, context.encode())
    except InvalidTag as exc:
        raise TrusteeError("ceremony.box", f"box does not open ({context})") from exc


# -------------------------------------------------------- server's checks
def cert_keys(group: Group, cert: Any) -> tuple[Any, Any]:
    """(verification key, encryption key) of a cert whose signature checks."""
    try:
        keys = json.loads(cert["message"])
        vk, ek = group.decode(keys["verification"]), group.decode(keys["encryption"])
    except (KeyError, TypeError, ValueError, InvalidElement) as exc:
        raise TrusteeError("ceremony.cert", f"malformed certificate: {exc}") from exc
    if not (group.is_member(vk) and group.is_member(ek)) or not _verify_signed(group, vk, cert):
        raise TrusteeError("ceremony.cert", "the certificate's signature does not verify")
    return vk, ek


def check_cert(group: Group, cert: Any, others: Sequence[Any]) -> None:
    """A cert whose signature verifies and whose keys no other trustee uses."""
    vk, ek = cert_keys(group, cert)
    for other in others:
        if set(cert_keys(group, other)) & {vk, ek}:
            raise TrusteeError("ceremony.cert", "another trustee already has these keys")


def cert_fingerprint(cert: Any) -> str:
    """What trustees compare out of band: SHA-256 of the cert's canonical JSON."""
    return sha256_hex(compact(cert))[:16]


def _share_context(uuid: str, sender: int, recipient: int) -> str:
    return f"{uuid}|share|{sender}|{recipient}"


def _key_context(uuid: str, position: int) -> str:
    return f"{uuid}|key|{position}"


def check_polynomial(
    group: Group, certs: Sequence[Any], position: int, message: Any, threshold: int
) -> None:
    """Trustee ``position``'s round-3 message: signed coefexps, one box per trustee."""
    vk, _ = cert_keys(group, certs[position - 1])
    try:
        signed, boxes = message["coefexps"], message["shares"]
    except (KeyError, TypeError) as exc:
        raise TrusteeError("ceremony.polynomial", f"malformed: {exc}") from exc
    if not _verify_signed(group, vk, signed):
        raise TrusteeError("ceremony.polynomial", "the coefexps signature does not verify")
    try:
        coefs = _coefexps(group, signed)
    except (KeyError, TypeError, ValueError, InvalidElement) as exc:
        raise TrusteeError("ceremony.polynomial", f"malformed coefexps: {exc}") from exc
    if len(coefs) != threshold or not all(group.is_member(a) for a in coefs):
        raise TrusteeError("ceremony.polynomial", f"expected {threshold} coefficients")
    if not isinstance(boxes, list) or len(boxes) != len(certs):
        raise TrusteeError("ceremony.polynomial", f"expected {len(certs)} sealed shares")


def check_verification(
    group: Group, polynomials: Sequence[Any], position: int, message: Any
) -> TrusteePublicKey:
    """Trustee ``position``'s round-5 message: X_j with its proof, matching the coefexps."""
    try:
        key = TrusteePublicKey.parse(group, message["verification_key"])
        message["private_key"]["alpha"]
    except (KeyError, TypeError, FormatError) as exc:
        raise TrusteeError("ceremony.verification", f"malformed: {exc}") from exc
    if not key.check(group):
        raise TrusteeError("ceremony.verification", "the proof of knowledge does not verify")
    coefexps = [_coefexps(group, p["coefexps"]) for p in polynomials]
    if key.public_key != _verification_key(group, coefexps, position):
        raise TrusteeError("ceremony.verification", "X_j does not match the coefexps")
    return key


def assemble(
    group: Group, threshold: int, certs: Sequence[Any], polynomials: Sequence[Any],
    verifications: Sequence[Any], *, check: bool = True,
) -> PedersenTrustees:  # fmt: skip
    """Round 6: the Pedersen item of the election's trustees, fully checked unless
    ``check`` is off (reading back an item that was checked when it was built)."""
    item = PedersenTrustees(
        threshold,
        tuple(certs),
        tuple(p["coefexps"] for p in polynomials),
        tuple(TrusteePublicKey.parse(group, v["verification_key"]) for v in verifications),
    )
    if check:
        check_pedersen(group, item)
    return item


# ---------------------------------------------------------- trustee's side
@dataclass
class CeremonyTrustee:
    """One trustee's rounds 1, 3, 5 and, at the tally, the recovery of x_j.

    All it keeps between rounds is its seed (the ``.seed`` file).
    """

    trustee: ThresholdTrustee

    @classmethod
    def create(cls, group: Group) -> CeremonyTrustee:
        return cls(ThresholdTrustee.create(group))

    @classmethod
    def from_seed(cls, group: Group, seed: str) -> CeremonyTrustee:
        return cls(ThresholdTrustee(group, seed.strip()))

    @property
    def group(self) -> Group:
        return self.trustee.group

    def cert(self) -> dict[str, Any]:
        return self.trustee.cert()

    def position(self, certs: Sequence[Any]) -> int:
        """This trustee's 1-based position: where its verification key appears."""
        mine = self.group.g_pow(self.trustee.sk)
        for index, cert in enumerate(certs, 1):
            if cert is not None and cert_keys(self.group, cert)[0] == mine:
                return index
        raise TrusteeError("ceremony.cert", "this seed's certificate is not among the trustees")

    def polynomial(self, uuid: str, certs: Sequence[Any], threshold: int) -> dict[str, Any]:
        """Round 3: checks every cert, then coefexps and one sealed share per trustee."""
        g = self.group
        keys = [cert_keys(g, c) for c in certs]
        me = self.position(certs)
        signed, shares = self.trustee.polynomial(len(certs), threshold)
        boxes = [
            seal(g, ek, str(s).encode(), _share_context(uuid, me, j))
            for j, ((_, ek), s) in enumerate(zip(keys, shares, strict=True), 1)
        ]
        return {"coefexps": signed, "shares": boxes}

    def verification(
        self, uuid: str, certs: Sequence[Any], polynomials: Sequence[Any], threshold: int
    ) -> dict[str, Any]:
        """Round 5: open and check the shares sent to this trustee; X_j and sealed x_j."""
        g = self.group
        me = self.position(certs)
        for i, message in enumerate(polynomials, 1):
            check_polynomial(g, certs, i, message, threshold)
        shares = []
        for i, message in enumerate(polynomials, 1):
            plain = open_box(g, self.trustee.dk, message["shares"][me - 1],
                             _share_context(uuid, i, me))  # fmt: skip
            try:
                shares.append(int(plain.decode()) % g.q)
            except ValueError as exc:
                raise TrusteeError("trustees.share", f"share from trustee {i}: no number") from exc
        x, key = self.trustee.finish(me, [p["coefexps"] for p in polynomials], shares)
        own_ek = cert_keys(g, certs[me - 1])[1]
        return {
            "verification_key": key.to_json(g),
            "private_key": seal(g, own_ek, str(x).encode(), _key_context(uuid, me)),
        }

    def private_key(self, uuid: str, position: int, verification: Any) -> int:
        """x_j back from this trustee's own round-5 message, checked against X_j."""
        g = self.group
        plain = open_box(g, self.trustee.dk, verification["private_key"],
                         _key_context(uuid, position))  # fmt: skip
        x = int(plain.decode()) % g.q
        expected = TrusteePublicKey.parse(g, verification["verification_key"]).public_key
        if g.g_pow(x) != expected:
            raise TrusteeError("ceremony.key", "the sealed key does not match X_j")
        return x

"""Homomorphic tally, partial decryptions, result (spec 4.16, 4.18, 4.19).

    ballots ──last per credential──> B^ ──prod ct^weight──> encrypted tally
       (a revote replaces the earlier ballot)        [[(alpha, beta)]] per question/answer
    trustee x_z ──> partial decryption: F_z = alpha^x_z, proof decrypt|phi|X|A,B
    factors ──Single: F_z · Pedersen: prod F_d^lambda_d over t shares──> F
    result = log_g(beta / F), found below the total weight

Belenios partial decryptions carry an owner: trustees are numbered 1, 2, …
over the flattened ``trustees`` list (a Pedersen item takes one number per
member). For a Pedersen item, the first ``threshold`` valid shares by
number are used, as belenios-tool does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from imago_fed.domain.voting.crypto.ballots import CheckedBallot
from imago_fed.domain.voting.crypto.elgamal import Ciphertext, discrete_log, power
from imago_fed.domain.voting.crypto.encoding import (
    FormatError,
    compact,
    parse_weight,
    sha256_hex,
    weight_json,
)
from imago_fed.domain.voting.crypto.groups import Group, InvalidElement
from imago_fed.domain.voting.crypto.proofs import (
    Proof,
    decryption_prefix,
    parse_proof,
    proof_json,
    prove_decryption,
    verify_decryption,
)
from imago_fed.domain.voting.crypto.trustees import (
    Kind,
    NotEnoughShares,
    SingleTrustee,
    TrusteeError,
    lagrange,
)

__all__ = [
    "EncryptedTally",
    "PartialDecryption",
    "combine_factors",
    "compute_result",
    "last_ballots",
    "partial_decrypt",
    "result_json",
    "tally",
]

Matrix = tuple[tuple[Any, ...], ...]


def last_ballots(ballots: Iterable[CheckedBallot]) -> list[CheckedBallot]:
    """Only the last ballot of each credential counts (spec 4.15, last(B))."""
    latest: dict[str, CheckedBallot] = {}
    for ballot in ballots:
        latest.pop(ballot.credential, None)
        latest[ballot.credential] = ballot
    return list(latest.values())


@dataclass(frozen=True)
class EncryptedTally:
    ciphertexts: tuple[tuple[Ciphertext, ...], ...]
    num_tallied: int
    total_weight: int

    def to_json(self, group: Group) -> str:
        enc = group.encode
        return compact(
            [
                [{"alpha": enc(c.alpha), "beta": enc(c.beta)} for c in row]
                for row in self.ciphertexts
            ]
        )

    def sized_json(self, group: Group) -> str:
        return compact(
            {
                "num_tallied": self.num_tallied,
                "total_weight": weight_json(self.total_weight),
                "encrypted_tally": sha256_hex(self.to_json(group)),
            }
        )

    @staticmethod
    def parse_ciphertexts(group: Group, raw: str | bytes) -> tuple[tuple[Ciphertext, ...], ...]:
        try:
            rows = json.loads(raw)
            return tuple(
                tuple(Ciphertext(group.decode(c["alpha"]), group.decode(c["beta"])) for c in row)
                for row in rows
            )
        except (ValueError, KeyError, TypeError, InvalidElement) as exc:
            raise FormatError(f"malformed encrypted tally: {exc}") from exc

    @staticmethod
    def parse_sized(raw: str | bytes) -> tuple[int, int, str]:
        try:
            value = json.loads(raw)
            return (
                int(value["num_tallied"]),
                parse_weight(value["total_weight"]),
                str(value["encrypted_tally"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise FormatError(f"malformed sized encrypted tally: {exc}") from exc


def tally(group: Group, widths: Sequence[int], ballots: Iterable[CheckedBallot]) -> EncryptedTally:
    """Pointwise product of the counted ballots' ciphertexts, each to its weight."""
    counted = last_ballots(ballots)
    rows = [[Ciphertext(group.one, group.one)] * w for w in widths]
    for ballot in counted:
        for i, answer in enumerate(ballot.ciphertexts):
            row = rows[i]
            for j, c in enumerate(answer):
                c = power(group, c, ballot.weight)
                row[j] = Ciphertext(
                    group.mul(row[j].alpha, c.alpha), group.mul(row[j].beta, c.beta)
                )
    return EncryptedTally(
        tuple(tuple(r) for r in rows), len(counted), sum(b.weight for b in counted)
    )


@dataclass(frozen=True)
class PartialDecryption:
    factors: Matrix
    proofs: tuple[tuple[Proof, ...], ...]

    def to_json(self, group: Group) -> str:
        return compact(
            {
                "decryption_factors": [[group.encode(f) for f in row] for row in self.factors],
                "decryption_proofs": [[proof_json(p) for p in row] for row in self.proofs],
            }
        )

    @classmethod
    def parse(cls, group: Group, raw: str | bytes) -> PartialDecryption:
        try:
            value = json.loads(raw)
            factors = tuple(
                tuple(group.decode(f) for f in row) for row in value["decryption_factors"]
            )
            proofs = tuple(tuple(parse_proof(p) for p in row) for row in value["decryption_proofs"])
        except (ValueError, KeyError, TypeError, InvalidElement) as exc:
            raise FormatError(f"malformed partial decryption: {exc}") from exc
        return cls(factors, proofs)

    def verify(
        self,
        group: Group,
        fingerprint: str,
        public: Any,
        ciphertexts: Sequence[Sequence[Ciphertext]],
    ) -> str | None:
        """None if every factor's proof holds, else where the first one fails."""
        prefix = decryption_prefix(group, fingerprint, public)
        if [len(r) for r in self.factors] != [len(r) for r in ciphertexts] or [
            len(r) for r in self.proofs
        ] != [len(r) for r in ciphertexts]:
            return "shape differs from the encrypted tally"
        for i, (cs, fs, ps) in enumerate(zip(ciphertexts, self.factors, self.proofs, strict=True)):
            for j, (c, f, p) in enumerate(zip(cs, fs, ps, strict=True)):
                if not group.is_member(f):
                    return f"question {i + 1}, answer {j + 1}: factor not in the group"
                if not verify_decryption(group, public, c.alpha, f, p, prefix):
                    return f"question {i + 1}, answer {j + 1}"
        return None


def partial_decrypt(
    group: Group, fingerprint: str, x: int, ciphertexts: Sequence[Sequence[Ciphertext]]
) -> PartialDecryption:
    """A trustee's share: alpha^x with a proof for every ciphertext of the tally."""
    prefix = decryption_prefix(group, fingerprint, group.g_pow(x))
    rows = [[prove_decryption(group, x, c.alpha, prefix) for c in row] for row in ciphertexts]
    return PartialDecryption(
        tuple(tuple(f for f, _ in row) for row in rows),
        tuple(tuple(p for _, p in row) for row in rows),
    )


def combine_factors(
    group: Group, kinds: Sequence[Kind], shares: Mapping[int, PartialDecryption]
) -> Matrix:
    """Synthetic factors F from valid partial decryptions keyed by owner number."""
    parts: list[Matrix] = []
    owner = 1
    for index, kind in enumerate(kinds, 1):
        if isinstance(kind, SingleTrustee):
            if owner not in shares:
                raise TrusteeError("decryption.missing", f"single trustee {owner} (item {index})")
            parts.append(shares[owner].factors)
            owner += 1
            continue
        present = [d for d in range(1, kind.size + 1) if owner + d - 1 in shares]
        chosen = present[: kind.threshold]
        if len(chosen) < kind.threshold:
            raise NotEnoughShares(
                "decryption.threshold",
                f"item {index}: {len(chosen)} of the {kind.threshold} partial decryptions needed",
            )
        lambdas = {d: lagrange(group.q, chosen, d) for d in chosen}
        first = shares[owner + chosen[0] - 1].factors
        combined = [[group.pow(f, lambdas[chosen[0]]) for f in row] for row in first]
        for d in chosen[1:]:
            other = shares[owner + d - 1].factors
            for i, row in enumerate(other):
                for j, f in enumerate(row):
                    combined[i][j] = group.mul(combined[i][j], group.pow(f, lambdas[d]))
        parts.append(tuple(tuple(r) for r in combined))
        owner += kind.size
    if not parts:
        raise TrusteeError("decryption.missing", "no trustees")
    out = [list(row) for row in parts[0]]
    for part in parts[1:]:
        for i, row in enumerate(part):
            for j, f in enumerate(row):
                out[i][j] = group.mul(out[i][j], f)
    return tuple(tuple(r) for r in out)


def compute_result(
    group: Group, ciphertexts: Sequence[Sequence[Ciphertext]], factors: Matrix, total_weight: int
) -> list[list[int]]:
    return [
        [
            discrete_log(group, group.div(c.beta, f), total_weight)
            for c, f in zip(cs, fs, strict=True)
        ]
        for cs, fs in zip(ciphertexts, factors, strict=True)
    ]


def check_result(
    group: Group, ciphertexts: Sequence[Sequence[Ciphertext]], factors: Matrix, result: Any
) -> str | None:
    """None if g^result = beta / F everywhere, else where it is not."""
    if not isinstance(result, list) or [len(r) for r in result] != [len(c) for c in ciphertexts]:
        return "shape differs from the encrypted tally"
    for i, (cs, fs, rs) in enumerate(zip(ciphertexts, factors, result, strict=True)):
        for j, (c, f, r) in enumerate(zip(cs, fs, rs, strict=True)):
            try:
                value = parse_weight(r)
            except FormatError:
                return f"question {i + 1}, answer {j + 1}: not a count"
            if group.div(c.beta, f) != group.g_pow(value):
                return f"question {i + 1}, answer {j + 1}"
    return None


def result_json(result: Sequence[Sequence[int]]) -> str:
    return compact({"result": [[weight_json(v) for v in row] for row in result]})

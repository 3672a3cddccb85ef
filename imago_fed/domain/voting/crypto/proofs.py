"""Zero-knowledge proofs, Fiat-Shamir'd exactly as Belenios 2.0 hashes them.

A proof is ``{challenge, response}`` with response = w - x * challenge mod q,
verified by recomputing the commitment A = g^response * X^challenge and
hashing it. The challenge is SHA-256 of a string, read big-endian, mod q;
numbers in the strings are written as the group writes them (base 10):

    pok|G|X|A                      trustee key (G = group name)
    sig|H|A                        ballot signature (H = signed hash, b64)
    sigmsg|M|A                     threshold PKI message signature
    decrypt|phi|X|A,B              decryption factor
    prove|S|alpha,beta|A0,B0,...   0/1 and min..max proofs (iprove)
    bproof0|S|A0,B0,A1,B1          blank: m0 = 0 or sum = 0
    bproof1|S|A0,B0,...,Ak,Bk      blank: m0 = 1 or sum in min..max

Strong Fiat-Shamir: S0 = phi|credential for each choice's proof, and
S = S0|alpha1,beta1,... (every ciphertext of the question) for the overall
and blank proofs, so a proof is bound to the election, the voter and the
ciphertexts; Helios hashed the commitments alone, which let proofs be
replayed on other statements.

Every disjunctive proof here is one shape (``prove_or`` / ``verify_or``):
clauses ``(alpha, beta, M)`` each claiming (alpha, beta) = (g^r, y^r g^M),
exactly one of them true, with

    A_j = g^response_j * alpha_j^challenge_j
    B_j = y^response_j * (beta_j / g^M_j)^challenge_j
        = y^response_j * g^(-M_j challenge_j) * beta_j^challenge_j

and the challenges summing to the hash. The second form of B_j keeps every
base but alpha_j and beta_j fixed (comb tables), and the prover, who knows
r and m, computes even the simulated commitments from fixed bases only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from imago_fed.domain.voting.crypto.elgamal import PublicKey
from imago_fed.domain.voting.crypto.encoding import FormatError, canonical_number
from imago_fed.domain.voting.crypto.groups import Group, Prepared, pow_both

__all__ = [
    "Clause",
    "Proof",
    "Witness",
    "decryption_prefix",
    "parse_proof",
    "pok_prefix",
    "proof_json",
    "prove_decryption",
    "prove_or",
    "schnorr_prove",
    "schnorr_verify",
    "verify_decryption",
    "verify_or",
]


@dataclass(frozen=True, slots=True)
class Proof:
    challenge: int
    response: int


def proof_json(p: Proof) -> dict[str, str]:
    return {"challenge": str(p.challenge), "response": str(p.response)}


def parse_proof(value: Any) -> Proof:
    if not isinstance(value, dict) or set(value) != {"challenge", "response"}:
        raise FormatError("a proof is {challenge, response}")
    return Proof(
        int(canonical_number(value["challenge"])), int(canonical_number(value["response"]))
    )


def _in_range(group: Group, proofs: Sequence[Proof]) -> bool:
    q = group.q
    return all(0 <= p.challenge < q and 0 <= p.response < q for p in proofs)


# ------------------------------------------------------------------ Schnorr
def pok_prefix(group: Group, public: Any) -> str:
    return f"pok|{group.name}|{group.encode(public)}|"


def schnorr_prove(group: Group, x: int, prefix: str) -> Proof:
    """Knowledge of x = log_g X; ``prefix`` is ``pok|G|X|``, ``sig|H|``..."""
    w = group.random_scalar()
    challenge = group.hash_to_scalar(prefix, [group.g_pow(w)])
    return Proof(challenge, (w - x * challenge) % group.q)


def schnorr_verify(
    group: Group, public: Any, proof: Proof, prefix: str, *, prepared: Prepared | None = None
) -> bool:
    """``prepared``: ``public`` already prepared (its chain shared with a membership test)."""
    if not _in_range(group, [proof]):
        return False
    x_c = group.pow(public, proof.challenge) if prepared is None else prepared.pow(proof.challenge)
    commitment = group.mul(group.g_pow(proof.response), x_c)
    return group.hash_to_scalar(prefix, [commitment]) == proof.challenge


# --------------------------------------------------------- decryption factor
def decryption_prefix(group: Group, fingerprint: str, public: Any) -> str:
    return f"decrypt|{fingerprint}|{group.encode(public)}|"


def prove_decryption(group: Group, x: int, alpha: Any, prefix: str) -> tuple[Any, Proof]:
    """alpha^x and a proof that log_g X = log_alpha (alpha^x)."""
    w = group.random_scalar()
    challenge = group.hash_to_scalar(prefix, [group.g_pow(w), group.pow(alpha, w)])
    return group.pow(alpha, x), Proof(challenge, (w - x * challenge) % group.q)


def verify_decryption(
    group: Group, public: Any, alpha: Any, factor: Any, proof: Proof, prefix: str
) -> bool:
    if not _in_range(group, [proof]):
        return False
    c, r = proof.challenge, proof.response
    a = group.mul(group.g_pow(r), group.pow(public, c))
    b = group.mul(group.pow(alpha, r), group.pow(factor, c))
    return group.hash_to_scalar(prefix, [a, b]) == c


# ------------------------------------------------------------- disjunctions
@dataclass(frozen=True, slots=True)
class Clause:
    """(alpha, beta) = (g^r, y^r g^M) for this clause's M (verifier side)."""

    alpha: Prepared
    beta: Prepared
    m: int


@dataclass(frozen=True, slots=True)
class Witness:
    """The prover's view of a clause: the ciphertext's r and m, and M."""

    r: int
    plain: int
    m: int


def prove_or(
    key: PublicKey, prefix: str, clauses: Sequence[Witness], true_index: int
) -> list[Proof]:
    group, q = key.group, key.group.q
    proofs: list[Proof | None] = [None] * len(clauses)
    commitments: list[Any] = [None] * (2 * len(clauses))
    total = 0
    for j, clause in enumerate(clauses):
        if j == true_index:
            continue
        c, s = group.random_scalar(), group.random_scalar()
        proofs[j] = Proof(c, s)
        g_e, y_e = key.gy_pow((s + clause.r * c) % q)
        commitments[2 * j] = g_e
        commitments[2 * j + 1] = group.mul(y_e, group.g_pow((clause.plain - clause.m) * c % q))
        total += c
    true = clauses[true_index]
    w = group.random_scalar()
    commitments[2 * true_index], commitments[2 * true_index + 1] = key.gy_pow(w)
    c = (group.hash_to_scalar(prefix, commitments) - total) % q
    proofs[true_index] = Proof(c, (w - true.r * c) % q)
    return proofs  # type: ignore[return-value]


def verify_or(
    key: PublicKey, prefix: str, clauses: Sequence[Clause], proofs: Sequence[Proof]
) -> bool:
    group, q = key.group, key.group.q
    if len(proofs) != len(clauses) or not _in_range(group, proofs):
        return False
    commitments: list[Any] = []
    total = 0
    for clause, proof in zip(clauses, proofs, strict=True):
        c, r = proof.challenge, proof.response
        g_r, y_r = key.gy_pow(r)
        alpha_c, beta_c = pow_both(clause.alpha, clause.beta, c)
        commitments.append(group.mul(g_r, alpha_c))
        b = group.mul(y_r, beta_c)
        if clause.m:
            b = group.mul(b, group.g_pow(-clause.m * c % q))
        commitments.append(b)
        total += c
    return group.hash_to_scalar(prefix, commitments) == total % q

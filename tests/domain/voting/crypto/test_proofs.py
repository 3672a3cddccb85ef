"""ElGamal round trips; every proof verifies, and fails when any field changes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from imago_fed.domain.voting.crypto import BELENIOS_2048, ED25519
from imago_fed.domain.voting.crypto.elgamal import (
    DiscreteLogOutOfRange,
    PublicKey,
    combine,
    discrete_log,
    encrypt,
    power,
)
from imago_fed.domain.voting.crypto.groups import Group
from imago_fed.domain.voting.crypto.proofs import (
    Clause,
    Proof,
    Witness,
    pok_prefix,
    prove_decryption,
    prove_or,
    schnorr_prove,
    schnorr_verify,
    verify_decryption,
    verify_or,
)


@pytest.fixture(params=[BELENIOS_2048, ED25519], ids=lambda g: g.name)
def group(request: pytest.FixtureRequest) -> Group:
    return request.param


def keypair(group: Group) -> tuple[int, PublicKey]:
    x = group.random_scalar()
    return x, PublicKey(group, group.g_pow(x))


def decrypt(group: Group, x: int, c, bound: int = 100) -> int:
    return discrete_log(group, group.div(c.beta, group.pow(c.alpha, x)), bound)


def bumped(group: Group, p: Proof, field: str) -> Proof:
    return replace(p, **{field: (getattr(p, field) + 1) % group.q})


def test_encryption_round_trip_and_homomorphism(group: Group) -> None:
    x, key = keypair(group)
    cs = [encrypt(key, m)[0] for m in (0, 1, 1, 3)]
    assert [decrypt(group, x, c) for c in cs] == [0, 1, 1, 3]
    assert decrypt(group, x, combine(group, cs)) == 5
    assert decrypt(group, x, power(group, cs[3], 7)) == 21


def test_discrete_log_is_bounded(group: Group) -> None:
    assert discrete_log(group, group.g_pow(1000), 1000) == 1000
    with pytest.raises(DiscreteLogOutOfRange):
        discrete_log(group, group.g_pow(1001), 1000)


def test_schnorr_proof_of_knowledge(group: Group) -> None:
    x = group.random_scalar()
    public = group.g_pow(x)
    prefix = pok_prefix(group, public)
    proof = schnorr_prove(group, x, prefix)
    assert schnorr_verify(group, public, proof, prefix)
    assert not schnorr_verify(group, public, bumped(group, proof, "challenge"), prefix)
    assert not schnorr_verify(group, public, bumped(group, proof, "response"), prefix)
    assert not schnorr_verify(group, group.mul(public, group.g), proof, prefix)
    assert not schnorr_verify(group, public, proof, prefix.replace("pok|", "sig|"))
    out_of_range = Proof(proof.challenge + group.q, proof.response)
    assert not schnorr_verify(group, public, out_of_range, prefix)


def test_decryption_factor_proof(group: Group) -> None:
    x, key = keypair(group)
    c, _ = encrypt(key, 1)
    prefix = f"decrypt|phi|{group.encode(key.y)}|"
    factor, proof = prove_decryption(group, x, c.alpha, prefix)
    assert verify_decryption(group, key.y, c.alpha, factor, proof, prefix)
    assert not verify_decryption(group, key.y, c.alpha, group.mul(factor, group.g), proof, prefix)
    assert not verify_decryption(group, key.y, c.beta, factor, proof, prefix)
    assert not verify_decryption(group, group.g, c.alpha, factor, proof, prefix)
    for field in ("challenge", "response"):
        assert not verify_decryption(
            group, key.y, c.alpha, factor, bumped(group, proof, field), prefix
        )
    assert not verify_decryption(group, key.y, c.alpha, factor, proof, "decrypt|other|")


def clauses(group: Group, c, ms: list[int]) -> list[Clause]:
    a, b = group.prepare(c.alpha), group.prepare(c.beta)
    return [Clause(a, b, m) for m in ms]


@pytest.mark.parametrize("m", [0, 1])
def test_zero_one_proof_every_field_matters(group: Group, m: int) -> None:
    _, key = keypair(group)
    c, r = encrypt(key, m)
    prefix = "prove|phi|cred|a,b|"
    proofs = prove_or(key, prefix, [Witness(r, m, 0), Witness(r, m, 1)], m)
    assert verify_or(key, prefix, clauses(group, c, [0, 1]), proofs)
    for i in range(2):
        for field in ("challenge", "response"):
            altered = list(proofs)
            altered[i] = bumped(group, proofs[i], field)
            assert not verify_or(key, prefix, clauses(group, c, [0, 1]), altered)
    other = type(c)(group.mul(c.alpha, group.g), c.beta)
    assert not verify_or(key, prefix, clauses(group, other, [0, 1]), proofs)
    other = type(c)(c.alpha, group.mul(c.beta, group.g))
    assert not verify_or(key, prefix, clauses(group, other, [0, 1]), proofs)
    assert not verify_or(key, "prove|phi|other|a,b|", clauses(group, c, [0, 1]), proofs)
    assert not verify_or(key, prefix, clauses(group, c, [0, 1, 2]), proofs)
    assert not verify_or(key, prefix, clauses(group, c, [0, 1]), proofs[:1])


def test_a_two_cannot_be_proven_zero_or_one(group: Group) -> None:
    _, key = keypair(group)
    c, r = encrypt(key, 2)
    prefix = "prove|S|"
    for true_index in (0, 1):
        proofs = prove_or(key, prefix, [Witness(r, 2, 0), Witness(r, 2, 1)], true_index)
        assert not verify_or(key, prefix, clauses(group, c, [0, 1]), proofs)


def test_interval_proof(group: Group) -> None:
    _, key = keypair(group)
    c, r = encrypt(key, 3)
    ms = [2, 3, 4]
    proofs = prove_or(key, "prove|S|", [Witness(r, 3, m) for m in ms], 1)
    assert verify_or(key, "prove|S|", clauses(group, c, ms), proofs)
    assert not verify_or(key, "prove|S|", clauses(group, c, [4, 5, 6]), proofs)

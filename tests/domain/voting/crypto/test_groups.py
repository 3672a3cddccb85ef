"""The group interface: both families agree with plain arithmetic."""

from __future__ import annotations

import secrets

import gmpy2
import pytest

from imago_fed.domain.voting.crypto import BELENIOS_2048, ED25519, RFC_3526_2048, group_by_name
from imago_fed.domain.voting.crypto.ed25519 import IDENTITY
from imago_fed.domain.voting.crypto.groups import Group, InvalidElement

GROUPS = [BELENIOS_2048, ED25519]


@pytest.fixture(params=GROUPS, ids=lambda g: g.name)
def group(request: pytest.FixtureRequest) -> Group:
    return request.param


def test_group_names_resolve() -> None:
    assert group_by_name("BELENIOS-2048") is BELENIOS_2048
    assert group_by_name("RFC-3526-2048") is RFC_3526_2048
    assert group_by_name("Ed25519") is ED25519
    with pytest.raises(InvalidElement, match="unknown group"):
        group_by_name("P-256")


def test_belenios_2048_parameters_are_sound() -> None:
    g = BELENIOS_2048
    assert gmpy2.is_prime(g.p) and gmpy2.is_prime(g.q)
    assert (g.p - 1) % g.q == 0 and g.q.bit_length() == 256 and g.p.bit_length() == 2048
    assert gmpy2.powmod(g.g, g.q, g.p) == 1 and g.g != 1


def test_generator_has_order_q(group: Group) -> None:
    assert group.pow(group.g, group.q) == group.one
    assert group.g_pow(group.q - 1) == group.div(group.one, group.g)


def test_fixed_base_and_yao_agree_with_plain_exponentiation(group: Group) -> None:
    x = group.g_pow(group.random_scalar())
    table = group.fixed_base(x)
    prepared = group.prepare(x)
    for e in [
        0,
        1,
        2,
        15,
        16,
        255,
        2**64 + 3,
        group.q - 1,
        *(group.random_scalar() for _ in range(5)),
    ]:
        expected = group.pow(x, e)
        assert table.pow(e) == expected
        assert prepared.pow(e) == expected
        assert group.g_pow(e) == group.pow(group.g, e)


def test_product_chains_raise_the_product(group: Group) -> None:
    xs = [group.g_pow(group.random_scalar()) for _ in range(3)]
    parts = [group.prepare(x) for x in xs]
    product = group.prepare_product(parts)
    e = group.random_scalar()
    expected = group.one
    for x in xs:
        expected = group.mul(expected, group.pow(x, e))
    assert product.pow(e) == expected
    assert product.is_member()


def test_encode_decode_round_trip(group: Group) -> None:
    x = group.g_pow(group.random_scalar())
    assert group.decode(group.encode(x)) == x
    assert group.is_member(x)


@pytest.mark.parametrize("text", ["", "-5", "0x10", "007", "12a", " 12", "1e5"])
def test_finite_field_decode_refuses_non_canonical_numbers(text: str) -> None:
    with pytest.raises(InvalidElement):
        BELENIOS_2048.decode(text)


def test_finite_field_membership_is_x_to_the_q() -> None:
    g = BELENIOS_2048
    assert not g.is_member(g.p - 1)  # order 2
    assert not g.is_member(gmpy2.mpz(0)) and not g.is_member(g.p)
    assert not g.is_member(gmpy2.mpz(3))  # generates far more than the subgroup
    prepared = g.prepare(gmpy2.mpz(g.p - 1))
    assert not prepared.is_member()


def test_rfc_3526_membership_is_quadratic_residuosity() -> None:
    g = RFC_3526_2048
    x = g.g_pow(secrets.randbelow(g.q))
    assert g.is_member(x) and gmpy2.powmod(x, g.q, g.p) == 1
    non_residue = g.p - 1  # -1 is not a square mod a safe prime p = 3 mod 4
    assert not g.is_member(non_residue)


def test_ed25519_identity_and_small_order_points() -> None:
    assert ED25519.is_member(IDENTITY)
    assert ED25519.pow(ED25519.g, 0) == IDENTITY == ED25519.g_pow(ED25519.q)
    assert ED25519.pow(IDENTITY, 12345) == IDENTITY
    small = bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
    assert not ED25519.is_member(small)  # a point of order 8
    with pytest.raises(InvalidElement):
        ED25519.decode("zz" * 32)
    with pytest.raises(InvalidElement):
        ED25519.decode(ED25519.encode(ED25519.g_pow(2)).upper())


def test_hash_to_scalar_is_belenios_hash() -> None:
    g = BELENIOS_2048
    text = "pok|BELENIOS-2048|5|7,11"
    import hashlib

    expected = int.from_bytes(hashlib.sha256(text.encode()).digest(), "big") % g.q
    assert g.hash_to_scalar("pok|BELENIOS-2048|5|", [gmpy2.mpz(7), gmpy2.mpz(11)]) == expected

"""The finite-field exponentiation helpers agree with plain ``powmod``.

Squaring chains with sliding windows (``_Chain``), chains of products
(``_ProductChain``), the window decomposition itself, and the membership
test they carry (x^q = 1), which must refuse every kind of non-member of
BELENIOS-2048: p - 1 = 2 * 3 * q * j, so an element can stray by a factor
of order 2, 3 or dividing j, and the Jacobi symbol only sees the first.
"""

from __future__ import annotations

import json
from itertools import pairwise

import gmpy2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imago_fed.domain.voting.crypto import (
    BELENIOS_2048,
    RFC_3526_2048,
    BallotChecker,
    CheckedBallot,
    PublicCredentials,
    PublicKey,
    Question,
    run_election,
    verify_archive_bytes,
)
from imago_fed.domain.voting.crypto.archive import parse_archive
from imago_fed.domain.voting.crypto.board import ElectionRun
from imago_fed.domain.voting.crypto.groups import FiniteFieldGroup, sliding_windows
from tests.domain.voting.crypto.rewrite import rewrite

G = BELENIOS_2048
P, Q = int(G.p), G.q
SCALARS = st.integers(min_value=0, max_value=(1 << G.qbits) - 1)


def _order_3() -> gmpy2.mpz:
    """A cube root of unity other than 1: an element of order 3."""
    for h in range(2, 100):
        w = gmpy2.powmod(h, (P - 1) // 3, P)
        if w != 1:
            return w
    raise AssertionError("no element of order 3 found")


OMEGA = _order_3()
# members times a stray factor of order 2, 3, or dividing j = (p - 1) / (6 q)
NON_MEMBERS = {
    "p - 1 (order 2)": gmpy2.mpz(P - 1),
    "omega (order 3)": OMEGA,
    "g * omega (Jacobi symbol 1)": G.g * OMEGA % P,
    "g * (p - 1)": G.g * (P - 1) % P,
    "3": gmpy2.mpz(3),
    "h^(6q) (order divides j)": gmpy2.powmod(5, 6 * Q, P),
}


def _member() -> gmpy2.mpz:
    return G.g_pow(G.random_scalar())


def test_the_group_order_has_small_cofactors() -> None:
    """Why membership is x^q = 1 on every element, never a batched test."""
    k = (P - 1) // Q
    assert (P - 1) % Q == 0 and k % 6 == 0 and (k // 6) % 2 == 1 and (k // 6) % 3 != 0
    assert gmpy2.jacobi(NON_MEMBERS["g * omega (Jacobi symbol 1)"], P) == 1


@given(st.integers(min_value=0, max_value=1 << 300), st.sampled_from([1, 2, 3, 4, 5]))
def test_sliding_windows_rebuild_the_exponent(e: int, w: int) -> None:
    windows = sliding_windows(e, w)
    assert sum(d << i for i, d in windows) == e
    assert all(d % 2 == 1 and 0 < d < 1 << w for _, d in windows)
    positions = [i for i, _ in windows]
    assert all(b - a >= w for a, b in pairwise(positions))


def test_sliding_windows_refuse_negative_exponents() -> None:
    with pytest.raises(ValueError):
        sliding_windows(-1)


@settings(max_examples=40, deadline=None)
@given(st.lists(SCALARS, min_size=1, max_size=4), st.sampled_from(sorted(NON_MEMBERS)))
def test_chain_powers_equal_powmod(exponents: list[int], stray: str) -> None:
    for x in (_member(), NON_MEMBERS[stray]):
        prepared = G.prepare(x)
        for e in exponents:
            assert prepared.pow(e) == gmpy2.powmod(x, e, P)


def test_chain_edge_exponents() -> None:
    x = NON_MEMBERS["g * omega (Jacobi symbol 1)"]
    prepared = G.prepare(x)
    top = (1 << G.qbits) - 1
    for e in [0, 1, 2, 15, 16, 17, 31, 255, 1 << 255, top, Q - 1, Q, Q + 1, top + 1, 1 << 300]:
        assert prepared.pow(e) == gmpy2.powmod(x, e, P), e
    # the exponent remembered for the last call is not reused for another one
    a, b = G.random_scalar(), G.random_scalar()
    y = _member()
    other = G.prepare(y)
    assert [prepared.pow(a), other.pow(a), prepared.pow(b), other.pow(a)] == [
        gmpy2.powmod(x, a, P),
        gmpy2.powmod(y, a, P),
        gmpy2.powmod(x, b, P),
        gmpy2.powmod(y, a, P),
    ]


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=3), st.lists(SCALARS, min_size=1, max_size=3))
def test_product_chains_equal_the_product_of_powers(parts: int, exponents: list[int]) -> None:
    xs = [_member() for _ in range(parts - 1)] + [NON_MEMBERS["omega (order 3)"]]
    product = G.prepare_product([G.prepare(x) for x in xs])
    value = 1
    for x in xs:
        value = value * x % P
    assert product.value == value
    for e in exponents:
        assert product.pow(e) == gmpy2.powmod(value, e, P)


@pytest.mark.parametrize("name", sorted(NON_MEMBERS))
def test_chain_membership_refuses_every_kind_of_non_member(name: str) -> None:
    x = NON_MEMBERS[name]
    assert not G.prepare(x).is_member()
    assert not G.is_member(x)


def test_chain_membership_accepts_members_and_refuses_out_of_range() -> None:
    for _ in range(5):
        assert G.prepare(_member()).is_member()
    assert G.prepare(G.one).is_member()
    assert not G.prepare(gmpy2.mpz(0)).is_member()
    assert not G.prepare(G.p).is_member()


def test_other_finite_field_groups_use_the_same_chains() -> None:
    small = FiniteFieldGroup("toy", p=2 * 1019 + 1, q=1019, g=4)
    x = gmpy2.mpz(9)
    prepared = small.prepare(x)
    assert all(prepared.pow(e) == gmpy2.powmod(x, e, small.p) for e in range(0, 2048, 7))
    rfc = RFC_3526_2048
    y = rfc.g_pow(rfc.random_scalar())
    e = rfc.random_scalar()
    assert rfc.prepare(y).pow(e) == gmpy2.powmod(y, e, rfc.p)


# ------------------------------------------- credentials tested with the ballots
QUESTIONS = [Question("Q?", ("yes", "no"), 0, 1), Question("B?", ("a", "b"), 1, 1, True)]
VOTES = [[[1, 0], [0, 1, 0]], [[0, 1], [1, 0, 0]]]
STRAY = G.encode(NON_MEMBERS["g * omega (Jacobi symbol 1)"])


@pytest.fixture(scope="module")
def run() -> ElectionRun:
    return run_election(G, QUESTIONS, VOTES, uuid="Expo7nent8test9run")


def test_check_chunk_tests_the_listed_credentials(run: ElectionRun) -> None:
    archive = parse_archive(run.archive)
    events = [e for _, e in archive.events]
    setup = json.loads(archive.get(events[0].payload))
    lines = json.loads(archive.get(setup["credentials"]))
    credentials = PublicCredentials(G, [*lines, STRAY], check_members=False)
    raws = [archive.get(e.payload).decode() for e in events if e.type == "Ballot"]
    shown = [json.loads(raw)["credential"] for raw in raws]
    key = PublicKey(G, run.election.public_key)
    checker = BallotChecker(run.election, key, credentials)
    outcomes, outside = checker.check_chunk((raws, [*shown, STRAY]))
    assert outside == [STRAY]
    assert all(isinstance(o, CheckedBallot) for o in outcomes)
    assert [o.credential for o in outcomes if isinstance(o, CheckedBallot)] == shown
    assert checker.check_chunk(([], shown)) == ([], [])


def test_a_non_member_credential_shown_by_a_ballot_fails_the_setup(run: ElectionRun) -> None:
    """The credential is tested in the ballot's work item; the report is as before."""
    archive = parse_archive(run.archive)
    first = next(e for _, e in archive.events if e.type == "Ballot")
    shown = json.loads(archive.get(first.payload))["credential"]

    def edit(role: str, body: str, index: int) -> str:
        if role == "credentials" or (role == "ballot" and index == 0):
            assert shown in body
            return body.replace(shown, STRAY)
        return body

    report = verify_archive_bytes(rewrite(run.archive, edit))
    assert report.failures[0].name == "setup.credentials", report.failures
    assert "1 not in the group" in report.failures[0].detail
    assert not any(c.name.startswith("ballot") for c in report.checks)

"""The finite-field exponentiation helpers agree with plain ``powmod``.

Squaring chains with sliding windows (``_Chain``), chains of products
(``_ProductChain``), the window decomposition itself, and the membership
test they carry (x^q = 1), which must refuse every kind of non-member of
BELENIOS-2048: p - 1 = 2 * 3 * q * j, so an element can stray by a factor
of order 2, 3 or dividing j, and the Jacobi symbol only sees the first.

Both paths: the C accelerator (``_montgomery``, used by ``BELENIOS_2048``
when it was built) and the pure-Python one (``PURE``, the same group made
with ``native=False``) are each compared with ``powmod``, and whole
archives, valid and forged, get the same report from both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
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
from imago_fed.domain.voting.crypto.encoding import compact
from imago_fed.domain.voting.crypto.groups import (
    FiniteFieldGroup,
    both_members,
    native_arithmetic,
    pow_both,
    set_native_arithmetic,
    sliding_windows,
)
from tests.domain.voting.crypto.rewrite import only, resigned, rewrite

G = BELENIOS_2048
P, Q = int(G.p), G.q
SCALARS = st.integers(min_value=0, max_value=(1 << G.qbits) - 1)
PURE = FiniteFieldGroup(G.name, p=P, q=Q, g=int(G.g), native=False)
NATIVE_BUILT = native_arithmetic()
needs_native = pytest.mark.skipif(not NATIVE_BUILT, reason="the C accelerator is not built here")


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


# ----------------------------------------------- the C accelerator and the pure path
def test_the_accelerator_is_built_where_it_is_expected() -> None:
    """CI (``.ci/run``) installs GMP's headers and says so: there it must have been built."""
    if not os.environ.get("IMAGO_TEST_EXPECT_NATIVE"):
        pytest.skip("IMAGO_TEST_EXPECT_NATIVE is not set: the pure path is allowed here")
    assert NATIVE_BUILT, "setup.py did not build imago_fed/domain/voting/crypto/_montgomery.c"


def _field_kinds() -> list[str]:
    """The ways the accelerator multiplies here: mpn always, avx512ifma if the CPU has it."""
    if not NATIVE_BUILT:
        return []
    from imago_fed.domain.voting.crypto import _montgomery

    field = _montgomery.Field(G.element_bytes(G.p))
    return sorted({"mpn", field.kind})


# BELENIOS-2048, RFC 3526, the largest modulus the IFMA path takes (2078 bits),
# one it refuses (2081 bits: the mpn path), and a tiny one
MODULI = [P, int(RFC_3526_2048.p), (1 << 2078) - (1 << 1000) - 1, (1 << 2081) - 1, 2039]


@needs_native
@settings(max_examples=30, deadline=None)
@given(st.sampled_from(MODULI), st.data())
def test_each_way_of_the_accelerator_equals_pow(modulus: int, data: st.DataObject) -> None:
    """The C chains, product chains and combs, on both multiplications, against ``pow``."""
    from imago_fed.domain.voting.crypto import _montgomery

    size = (modulus.bit_length() + 7) // 8
    bits = min(256, modulus.bit_length())
    elements = st.one_of(
        st.integers(min_value=1, max_value=modulus - 1), st.sampled_from([1, 2, modulus - 1])
    )
    exponents = st.one_of(
        st.integers(min_value=0, max_value=(1 << bits) - 1),
        st.sampled_from([0, 1, 15, 16, (1 << bits) - 1]),
    )
    x, y, e = data.draw(elements), data.draw(elements), data.draw(exponents)

    def raw(v: int) -> bytes:
        return v.to_bytes(size, "little")

    def num(b: bytes) -> int:
        return int.from_bytes(b, "little")

    e_raw = e.to_bytes((e.bit_length() + 7) // 8, "little")
    for simd in (True, False):
        field = _montgomery.Field(raw(modulus), simd=simd)
        assert field.kind in _field_kinds()
        assert num(field.mul(raw(x), raw(y))) == x * y % modulus
        cx, cy = field.chain(raw(x), bits), field.chain(raw(y), bits)
        assert num(cx.pow(e_raw)) == pow(x, e, modulus)
        both = field.product_chain((cx, cy))
        assert num(both.pow(e_raw)) == pow(x * y, e, modulus)
        assert num(field.product_chain((both, cx)).pow(e_raw)) == pow(x * x * y, e, modulus)
        px, py = field.chain_pair(raw(x), raw(y), bits)
        assert (num(px.pow(e_raw)), num(py.pow(e_raw))) == (pow(x, e, modulus), pow(y, e, modulus))
        pair = both.pow_pair(cx, e_raw)
        assert (num(pair[0]), num(pair[1])) == (pow(x * y, e, modulus), pow(x, e, modulus))
        tx, ty = field.comb(raw(x), bits, 7), field.comb(raw(y), bits, 7)
        assert num(tx.pow(e_raw)) == pow(x, e, modulus)
        pair = tx.pow_pair(ty, e_raw)
        assert (num(pair[0]), num(pair[1])) == (pow(x, e, modulus), pow(y, e, modulus))


@needs_native
@settings(max_examples=30, deadline=None)
@given(SCALARS, st.sampled_from(sorted(NON_MEMBERS)), st.booleans())
def test_pairs_of_chains_give_what_each_gives(e: int, stray: str, built: bool) -> None:
    """``pow_both`` / ``both_members``: one pass for two chains, else one after the other."""
    x, y = _member(), NON_MEMBERS[stray]
    for group in (G, PURE):
        a, b = group.prepare(x), group.prepare(y)
        if built:  # a chain made already is used as it is
            a.pow(1)
        assert pow_both(a, b, e) == (gmpy2.powmod(x, e, P), gmpy2.powmod(y, e, P))
        assert pow_both(b, a, Q) == (gmpy2.powmod(y, Q, P), 1)
        assert pow_both(a, a, e) == (gmpy2.powmod(x, e, P),) * 2
        assert both_members(a, group.prepare(_member())) is True
        assert both_members(a, b) is False and both_members(b, a) is False
        assert both_members(a, group.prepare(gmpy2.mpz(0))) is False
        product = group.prepare_product([a, b])
        assert pow_both(product, a, e) == (gmpy2.powmod(x * y, e, P), gmpy2.powmod(x, e, P))
        # beyond the chains: powmod, as Prepared.pow does
        assert pow_both(a, b, 1 << 300) == (
            gmpy2.powmod(x, 1 << 300, P),
            gmpy2.powmod(y, 1 << 300, P),
        )


@needs_native
def test_the_accelerator_refuses_what_it_cannot_take() -> None:
    from imago_fed.domain.voting.crypto import _montgomery

    field = _montgomery.Field(G.element_bytes(G.p))
    with pytest.raises(ValueError):
        field.chain(G.element_bytes(G.p), 8)  # not below the modulus
    with pytest.raises(ValueError):
        field.chain(G.element_bytes(G.g), 8).pow((1 << 9).to_bytes(2, "little"))
    with pytest.raises(ValueError):
        _montgomery.Field((2048).to_bytes(2, "little"))  # even


@needs_native
def test_the_default_group_uses_the_accelerator_and_pure_does_not() -> None:
    assert type(G.prepare(G.g)).__name__ == "_NativeChain"
    assert type(PURE.prepare(G.g)).__name__ == "_Chain"
    assert type(G.fixed_base(G.g)).__name__ == "_NativeComb"
    assert type(PURE.fixed_base(G.g)).__name__ == "_Comb"
    assert G.arithmetic in _field_kinds() and PURE.arithmetic == "pure"


@needs_native
@settings(max_examples=40, deadline=None)
@given(st.lists(SCALARS, min_size=1, max_size=4), st.sampled_from(sorted(NON_MEMBERS)))
def test_both_paths_give_the_same_powers(exponents: list[int], stray: str) -> None:
    for x in (_member(), NON_MEMBERS[stray], G.one, gmpy2.mpz(P - 1)):
        native, pure = G.prepare(x), PURE.prepare(x)
        for e in [*exponents, Q]:
            assert native.pow(e) == pure.pow(e) == gmpy2.powmod(x, e, P)
        assert native.is_member() == pure.is_member() == (gmpy2.powmod(x, Q, P) == 1)


@needs_native
@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=4), SCALARS)
def test_both_paths_give_the_same_product_chains(parts: int, e: int) -> None:
    xs = [_member() for _ in range(parts - 1)] + [NON_MEMBERS["g * omega (Jacobi symbol 1)"]]
    value = 1
    for x in xs:
        value = value * x % P
    native = G.prepare_product([G.prepare(x) for x in xs])
    pure = PURE.prepare_product([PURE.prepare(x) for x in xs])
    nested = G.prepare_product([G.prepare_product([G.prepare(x) for x in xs]), G.prepare(G.g)])
    assert native.value == pure.value == value
    assert native.pow(e) == pure.pow(e) == gmpy2.powmod(value, e, P)
    assert nested.pow(e) == gmpy2.powmod(value * G.g % P, e, P)
    assert native.is_member() == pure.is_member() is False


@needs_native
@settings(max_examples=40, deadline=None)
@given(SCALARS)
def test_both_paths_give_the_same_fixed_base_powers(e: int) -> None:
    y = _member()
    native, pure = G.fixed_base(y), PURE.fixed_base(y)
    assert native.pow(e % Q) == pure.pow(e % Q) == gmpy2.powmod(y, e, P)
    assert G.g_pow(e) == PURE.g_pow(e) == gmpy2.powmod(G.g, e, P)
    pair = G.fixed_base(G.g).pow_pair(native, e % Q)  # type: ignore[attr-defined]
    assert pair == PURE.fixed_base(G.g).pow_pair(pure, e % Q)  # type: ignore[attr-defined]
    assert pair == (gmpy2.powmod(G.g, e, P), gmpy2.powmod(y, e, P))


@needs_native
def test_the_accelerator_takes_the_edges() -> None:
    x = NON_MEMBERS["omega (order 3)"]
    prepared = G.prepare(x)
    top = (1 << G.qbits) - 1
    for e in [0, 1, 2, 15, 16, 17, 31, 255, 1 << 255, top, Q - 1, Q, Q + 1, top + 1, 1 << 300]:
        assert prepared.pow(e) == gmpy2.powmod(x, e, P), e
    table = G.fixed_base(x, window=7)
    for e in [0, 1, 127, 128, Q - 1]:
        assert table.pow(e) == gmpy2.powmod(x, e, P), e
    # out of range: the pure chain, and membership refused on both paths
    for bad in (gmpy2.mpz(0), G.p):
        assert type(G.prepare(bad)).__name__ == "_Chain"
        assert not G.prepare(bad).is_member()
    small = FiniteFieldGroup("toy", p=2 * 1019 + 1, q=1019, g=4)
    assert all(small.prepare(gmpy2.mpz(9)).pow(e) == pow(9, e, 2039) for e in range(0, 2048, 3))
    rfc = RFC_3526_2048
    y = rfc.g_pow(rfc.random_scalar())
    e = rfc.random_scalar()
    assert rfc.prepare(y).pow(e) == gmpy2.powmod(y, e, rfc.p)
    assert rfc.fixed_base(y).pow(e) == gmpy2.powmod(y, e, rfc.p)


@needs_native
def test_switching_paths_keeps_what_was_made_working() -> None:
    y = _member()
    before = G.prepare(y)
    table = G.fixed_base(y)
    e = G.random_scalar()
    assert set_native_arithmetic(False) is True
    try:
        assert not native_arithmetic()
        after = G.prepare(y)
        assert type(after).__name__ == "_Chain"
        # a product of chains of both paths, and tables of both paths paired
        mixed = G.prepare_product([before, after])
        assert mixed.pow(e) == gmpy2.powmod(y * y % P, e, P) == before.pow(2 * e % Q)
        g_table = G.fixed_base(G.g)
        assert type(g_table).__name__ == "_Comb"
        expected = (gmpy2.powmod(G.g, e, P), gmpy2.powmod(y, e, P))
        assert g_table.pow_pair(table, e) == expected  # type: ignore[attr-defined]
        assert table.pow_pair(g_table, e) == expected[::-1]  # type: ignore[attr-defined]
    finally:
        set_native_arithmetic(True)
    assert native_arithmetic()
    assert type(G.fixed_base(G.g)).__name__ == "_NativeComb"
    # a group made with native=False stays on the pure path through the switch
    assert PURE.arithmetic == "pure"


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


def _edited(change: Callable[[dict], None]) -> Callable[[str], str]:
    def edit(body: str) -> str:
        ballot = json.loads(body)
        change(ballot)
        return compact(ballot)

    return edit


def _bump(proof: dict[str, str]) -> None:
    proof["challenge"] = str((int(proof["challenge"]) + 1) % Q)


def _set_beta(ballot: dict) -> None:
    ballot["answers"][1]["choices"][1]["beta"] = STRAY


def _stray_alpha(ballot: dict) -> None:
    ballot["answers"][0]["choices"][0]["alpha"] = G.encode(G.g * OMEGA % P)


# (ballot index, change, the check that must fail first): each ballot is
# signed again, so the check reached is the one named
BOARD_EDITS: dict[str, tuple[int, Callable[[dict], None], str]] = {
    "individual proof": (
        1,
        lambda b: _bump(b["answers"][0]["individual_proofs"][0][0]),
        "ballot.individual_proof",
    ),
    "overall proof": (
        0,
        lambda b: _bump(b["answers"][0]["overall_proof"][1]),
        "ballot.overall_proof",
    ),
    "blank proof": (1, lambda b: _bump(b["answers"][1]["blank_proof"][0]), "ballot.blank_proof"),
    "swapped ciphertexts": (
        0,
        lambda b: b["answers"][0]["choices"].reverse(),
        "ballot.individual_proof",
    ),
    "non-member beta": (1, _set_beta, "ballot.membership"),
    "alpha of Jacobi symbol 1": (0, _stray_alpha, "ballot.membership"),
}


@needs_native
@pytest.mark.parametrize("edit", ["none", "signature", *sorted(BOARD_EDITS)])
def test_both_paths_give_the_same_report_on_a_board(run: ElectionRun, edit: str) -> None:
    data, expected = run.archive, None
    if edit == "signature":
        data = rewrite(data, only("ballot", 0, _edited(lambda b: _bump(b["signature"]["proof"]))))
        expected = "ballot.signature"
    elif edit != "none":
        index, change, expected = BOARD_EDITS[edit]
        signed_again = resigned(run.election, run.credentials[index], change)
        data = rewrite(data, only("ballot", index, signed_again))
    native = verify_archive_bytes(data)
    assert set_native_arithmetic(False) is True
    try:
        pure = verify_archive_bytes(data)
    finally:
        set_native_arithmetic(True)
    assert native.checks == pure.checks
    assert native.result == pure.result
    if edit == "none":
        assert native.ok and native.result == run.result
    else:
        assert native.failures[0].name == expected

"""Prime-order groups behind one small interface, and the finite-field ones.

Everything above this module (ElGamal, proofs, ballots, trustees, archives)
speaks :class:`Group`: elements are opaque values that can be multiplied,
raised to a scalar, tested for membership, written as a string and hashed.
Two families implement it:

    FiniteFieldGroup  BELENIOS-2048 (FIPS 186-4: 2048-bit p, 256-bit q) and
                      RFC-3526-2048 (safe prime, q = (p-1)/2): the groups
                      belenios-tool 2.0 knows. Elements are gmpy2 ``mpz``;
                      GMP's powmod is roughly ten times CPython's ``pow``
                      at 2048 bits, and verification is nothing but
                      exponentiations.
    Ed25519Group      (ed25519.py) the prime-order subgroup of Curve25519 in
                      Edwards form through libsodium (PyNaCl). A point costs
                      32 bytes instead of 256 and an exponentiation a
                      fraction of the time; belenios-tool 2.0 does not know
                      the group (2.1+ does), so it is ours and Belenios >= 2.1's.

Why the extra vocabulary (``fixed_base``, ``prepare``): verifying a ballot is
about forty exponentiations, and most of them have a base that is used many
times (g, the election key y) or a few times (each ciphertext's alpha and
beta is raised to two or more challenges and to q for the membership check).

    fixed_base(x)   a comb table of x^(d * 2^(w*i)); x^e is then one
                    multiplication per w-bit window of e (26 instead of
                    about 300 for a 256-bit e). Built once for g and y.
    prepare(x)      the squaring chain x^(2^i) is computed once (255
                    squarings) and shared by every exponent applied to x;
                    each exponent is then cut into sliding windows (odd
                    digits below 16, about 51 of them), one product per
                    window into eight buckets and 15 to combine them:
                    about 58 multiplications (Yao's method over x^(16^i),
                    used before, needed about 73).
    prepare_product the chain of a product is the product of the chains,
                    multiplied only where a window needs it: the
                    homomorphic sums in overall proofs need no squarings.

A 2048-bit modular multiplication costs about 1.4 us from Python (0.5 us
the product, 0.9 us GMP's division), GMP's own powmod about 1.1-1.3 us a
step; a BELENIOS-2048 ballot of belenios' demo template needs about 6,900
of them with all of the above (11 chains of 255 squarings are 40 %). A
two-base "Shamir" multi-exponentiation does not apply: every commitment
of a proof has one variable base (g^r alpha^c, y^r beta^c g^(-mc)), and
the fixed bases are already tabled.

The same chains, windows and tables have an optional C accelerator,
``_montgomery.c`` (built by setup.py where a compiler and GMP's headers
are): Montgomery multiplication with no interpreter between two products,
on GMP's mpn layer (about 0.9 us a product) or, where the processor has
AVX-512 IFMA, on forty 52-bit digits in vector registers (about 0.45 us).
``_NativeChain`` and ``_NativeComb`` wrap it; a group uses it when it was
built (``set_native_arithmetic(False)`` or ``native=False`` keep the pure
path, which stays and is tested to give the same results).

Every element that comes from outside goes through :meth:`Group.decode` and
:meth:`Group.is_member` (for BELENIOS-2048 literally x^q = 1 mod p). No
batched membership test: p - 1 = 2 * 3 * q * j with j odd, not divisible
by 3 and of unknown factorisation (no factor below 2 * 10^5), so an
element g^a * w with w of order 3 (its Jacobi symbol is 1) passes a random
linear-combination test prod x_i^(r_i) with probability 1/3, and one with
a factor of order dividing j with probability up to 1/(smallest prime of
j), which nobody can bound. The exact test costs one more exponent on a
chain that is there anyway (about 58 multiplications).
"""

from __future__ import annotations

import hashlib
import secrets
import weakref
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any, Protocol

import gmpy2
from gmpy2 import mpz

_montgomery: ModuleType | None
try:  # the optional C accelerator (setup.py); the pure path below gives the same results
    from imago_fed.domain.voting.crypto import _montgomery
except ImportError:  # not built: no compiler or no GMP headers where it was installed
    _montgomery = None

__all__ = [
    "BELENIOS_2048",
    "RFC_3526_2048",
    "FiniteFieldGroup",
    "FixedBase",
    "Group",
    "InvalidElement",
    "Prepared",
    "both_members",
    "group_by_name",
    "native_arithmetic",
    "pow_both",
    "set_native_arithmetic",
]

Element = Any


class InvalidElement(ValueError):
    """A string that does not denote an element of the group."""


class FixedBase(Protocol):
    """A base with precomputed powers: ``pow(e)`` is base^e."""

    def pow(self, e: int) -> Element: ...


class Prepared(Protocol):
    """A base about to be raised to several exponents."""

    value: Element

    def pow(self, e: int) -> Element: ...

    def is_member(self) -> bool: ...


class Group(Protocol):
    """What the rest of the package needs from a prime-order group."""

    name: str
    q: int
    g: Element
    one: Element

    def decode(self, text: str) -> Element: ...

    def encode(self, x: Element) -> str: ...

    def is_member(self, x: Element) -> bool: ...

    def mul(self, a: Element, b: Element) -> Element: ...

    def div(self, a: Element, b: Element) -> Element: ...

    def pow(self, x: Element, e: int) -> Element: ...

    def g_pow(self, e: int) -> Element: ...

    def fixed_base(self, x: Element) -> FixedBase: ...

    def prepare(self, x: Element) -> Prepared: ...

    def prepare_product(self, parts: Sequence[Prepared]) -> Prepared: ...

    def hash_to_scalar(self, prefix: str, elements: Iterable[Element]) -> int: ...

    def random_scalar(self) -> int: ...


def _digest_mod(text: str, q: int) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest(), "big") % q


# --------------------------------------------------------------- finite fields
class _Comb:
    """x^(d * 2^(w*i)) for every window i and digit d: x^e is one product."""

    __slots__ = ("_mask", "_p", "_rows", "_w")

    def __init__(self, x: mpz, p: mpz, qbits: int, w: int) -> None:
        self._p, self._w, self._mask = p, w, (1 << w) - 1
        rows: list[list[mpz]] = []
        base = x
        for _ in range((qbits + w - 1) // w):
            row = [mpz(1), base]
            for _ in range(2, 1 << w):
                row.append(row[-1] * base % p)
            rows.append(row)
            base = row[-1] * base % p
        self._rows = rows

    def pow(self, e: int) -> mpz:
        p, w, mask = self._p, self._w, self._mask
        acc = None
        for row in self._rows:
            d = e & mask
            if d:
                acc = row[d] if acc is None else acc * row[d] % p
            e >>= w
            if not e:
                break
        return mpz(1) if acc is None else acc

    def pow_pair(self, other: _Comb | _NativeComb, e: int) -> tuple[mpz, mpz]:
        """(x^e, z^e) for another comb of the same shape: one pass over the digits."""
        if not isinstance(other, _Comb) or len(other._rows) != len(self._rows):
            return self.pow(e), other.pow(e)
        p, w, mask = self._p, self._w, self._mask
        a = b = None
        for row, other_row in zip(self._rows, other._rows, strict=True):
            d = e & mask
            if d:
                if a is None:
                    a, b = row[d], other_row[d]
                else:
                    a, b = a * row[d] % p, b * other_row[d] % p
            e >>= w
            if not e:
                break
        return (mpz(1), mpz(1)) if a is None or b is None else (a, b)


def sliding_windows(e: int, w: int = 4) -> list[tuple[int, int]]:
    """e as a sum of d * 2^i, d odd and below 2^w (right-to-left sliding windows).

    Returns the (i, d) pairs, lowest i first: about bits / (w + 1) of them.
    """
    return [(i, 2 * k + 1) for i, k in _bucket_windows(e, w)]


def _bucket_windows(e: int, w: int = 4) -> list[tuple[int, int]]:
    """``sliding_windows`` with each odd digit d given as its bucket (d - 1) / 2."""
    if e < 0:
        raise ValueError("negative exponent")
    out: list[tuple[int, int]] = []
    append = out.append
    mask = (1 << w) - 1
    pos = 0
    while e:
        zeros = (e & -e).bit_length() - 1
        e >>= zeros
        pos += zeros
        append((pos, (e & mask) >> 1))
        e >>= w
        pos += w
    return out


def _odd_buckets(buckets: list[Any], p: mpz) -> mpz:
    """prod_k B_k^(2k+1) for buckets B_0..B_7 (None for empty): 15 products at most.

    prod B_k^(2k+1) = (prod B_k) * (prod_k B_k^k)^2, and prod_k B_k^k is
    the running-product trick (k from 7 down to 1).
    """
    run = acc = None
    for k in range(len(buckets) - 1, 0, -1):
        b = buckets[k]
        if b is not None:
            run = b if run is None else run * b % p
        if run is not None:
            acc = run if acc is None else acc * run % p
    b = buckets[0]
    if b is not None:
        run = b if run is None else run * b % p
    if run is None:
        return mpz(1)
    if acc is None:
        return run
    return acc * acc % p * run % p


class _Chain:
    """A variable base x raised to several exponents: x^(2^i) computed once.

    The squarings x, x^2, x^4, ... (one per bit of q) are shared by every
    exponent applied to x; each exponent then costs one product per
    sliding window (odd digits below 16, about 51 windows for 256 bits)
    into eight buckets, and 15 products to combine the buckets:
    about 58 products instead of ~300 for a lone exponentiation.
    """

    __slots__ = ("_chain", "_group", "value")

    def __init__(self, group: FiniteFieldGroup, value: mpz) -> None:
        self._group, self.value = group, value
        self._chain: list[mpz] | None = None

    def chain(self) -> list[mpz]:
        chain = self._chain
        if chain is None:
            p = self._group.p
            x = self.value
            chain = [x]
            append = chain.append
            for _ in range(self._group.qbits - 1):
                x = x * x % p
                append(x)
            self._chain = chain
        return chain

    def element(self, i: int) -> mpz:
        return self.chain()[i]

    def pow(self, e: int) -> mpz:
        group = self._group
        if not 0 <= e < group.exponent_limit:
            return gmpy2.powmod(self.value, e, group.p)
        return self.pow_windows(group.windows(e))

    def pow_windows(self, windows: Sequence[tuple[int, int]]) -> mpz:
        p = self._group.p
        chain = self.chain()
        buckets: list[mpz | None] = [None] * 8
        for i, k in windows:
            b = buckets[k]
            buckets[k] = chain[i] if b is None else b * chain[i] % p
        return _odd_buckets(buckets, p)

    def is_member(self) -> bool:
        return self._group.is_member_via(self)


class _ProductChain(_Chain):
    """The chain of a product of prepared bases: (prod x_j)^(2^i) = prod x_j^(2^i).

    Entries are multiplied from the parts' chains only where a window needs
    them (one product per extra part, instead of a squaring per bit).
    """

    __slots__ = ("_cache", "_parts")

    def __init__(self, group: FiniteFieldGroup, value: mpz, parts: Sequence[_Chain]) -> None:
        super().__init__(group, value)
        self._parts = tuple(parts)
        self._cache: dict[int, mpz] = {}

    def element(self, i: int) -> mpz:
        x = self._cache.get(i)
        if x is None:
            p = self._group.p
            parts = self._parts
            x = parts[0].element(i)
            for part in parts[1:]:
                x = x * part.element(i) % p
            self._cache[i] = x
        return x

    def chain(self) -> list[mpz]:
        return [self.element(i) for i in range(self._group.qbits)]

    def pow_windows(self, windows: Sequence[tuple[int, int]]) -> mpz:
        p = self._group.p
        cache = self._cache
        get = cache.get
        element = self.element
        buckets: list[mpz | None] = [None] * 8
        for i, k in windows:
            x = get(i)
            if x is None:
                x = element(i)
            b = buckets[k]
            buckets[k] = x if b is None else b * x % p
        return _odd_buckets(buckets, p)


# ------------------------------------------------- the optional C accelerator
class _NativeComb:
    """``_Comb`` computed by the C accelerator (Montgomery form inside)."""

    __slots__ = ("_table",)

    def __init__(self, table: Any) -> None:
        self._table = table

    def pow(self, e: int) -> mpz:
        return _from_bytes(self._table.pow(_exponent_bytes(e)))

    def pow_pair(self, other: _Comb | _NativeComb, e: int) -> tuple[mpz, mpz]:
        """(x^e, z^e); a table of the other path (made before a switch) is asked apart."""
        if not isinstance(other, _NativeComb):
            return self.pow(e), other.pow(e)
        a, b = self._table.pow_pair(other._table, _exponent_bytes(e))
        return _from_bytes(a), _from_bytes(b)


class _NativeChain:
    """``_Chain`` computed by the C accelerator: the same chain and windows."""

    __slots__ = ("_field", "_group", "_native", "_parts", "value")

    def __init__(
        self, group: FiniteFieldGroup, field: Any, value: mpz, parts: Sequence[_NativeChain] = ()
    ) -> None:
        self._group, self._field, self.value = group, field, value
        self._parts = tuple(parts)
        self._native: Any = None

    def native(self) -> Any:
        """The C chain, made on first use (a product's from its parts' chains)."""
        chain = self._native
        if chain is None:
            group = self._group
            if self._parts:
                chain = self._field.product_chain(tuple(part.native() for part in self._parts))
            else:
                chain = self._field.chain(group.element_bytes(self.value), group.qbits)
            self._native = chain
        return chain

    def pow(self, e: int) -> mpz:
        group = self._group
        if not 0 <= e < group.exponent_limit:
            return gmpy2.powmod(self.value, e, group.p)
        return _from_bytes(self.native().pow(_exponent_bytes(e)))

    def is_member(self) -> bool:
        group = self._group
        x = self.value
        if not 0 < x < group.p:
            return False
        if group.safe_prime:
            return gmpy2.jacobi(x, group.p) == 1
        return self.pow(group.q) == 1

    def pow_with(self, other: _NativeChain, e: int) -> tuple[mpz, mpz]:
        """(x^e, z^e) in one interleaved pass; both chains made together if neither is."""
        group = self._group
        if not 0 <= e < group.exponent_limit:
            return self.pow(e), other.pow(e)
        if self._native is None and other._native is None and not self._parts and not other._parts:
            self._native, other._native = self._field.chain_pair(
                group.element_bytes(self.value), group.element_bytes(other.value), group.qbits
            )
        a, b = self.native().pow_pair(other.native(), _exponent_bytes(e))
        return _from_bytes(a), _from_bytes(b)

    def members_with(self, other: _NativeChain) -> bool:
        """``self.is_member() and other.is_member()``, the two exponents to q in one pass."""
        group = self._group
        if group.safe_prime or not (0 < self.value < group.p and 0 < other.value < group.p):
            return self.is_member() and other.is_member()
        return self.pow_with(other, group.q) == (1, 1)


def pow_both(a: Prepared, b: Prepared, e: int) -> tuple[Element, Element]:
    """(a^e, b^e): one interleaved pass for two chains of the C accelerator.

    alpha and beta of a clause are raised to the same challenge; with AVX-512
    IFMA two products side by side cost about 0.53 us instead of 0.85.
    """
    if isinstance(a, _NativeChain) and isinstance(b, _NativeChain) and a._field is b._field:
        return a.pow_with(b, e)
    return a.pow(e), b.pow(e)


def both_members(a: Prepared, b: Prepared) -> bool:
    """``a.is_member() and b.is_member()``, in one pass where ``pow_both`` can."""
    if isinstance(a, _NativeChain) and isinstance(b, _NativeChain) and a._field is b._field:
        return a.members_with(b)
    return a.is_member() and b.is_member()


def _exponent_bytes(e: int) -> bytes:
    return int(e).to_bytes((e.bit_length() + 7) // 8, "little")


def _from_bytes(data: bytes) -> mpz:
    return mpz.from_bytes(data, "little")


# the groups made with native=True: the ones set_native_arithmetic switches
_NATIVE_GROUPS: weakref.WeakSet[FiniteFieldGroup] = weakref.WeakSet()


def native_arithmetic() -> bool:
    """Whether the finite-field groups use the C accelerator now."""
    return any(group._field is not None for group in _NATIVE_GROUPS)


def set_native_arithmetic(enabled: bool) -> bool:
    """Use the C accelerator (if it was built) or the pure path; returns the previous state.

    Tables and chains made before the switch keep the path they were made
    with; the groups' own table of g is dropped so it is rebuilt.
    """
    previous = native_arithmetic()
    for group in _NATIVE_GROUPS:
        group.use_native(enabled)
    return previous


def _pure(group: FiniteFieldGroup, part: Prepared) -> _Chain:
    """A part for a pure ``_ProductChain`` (parts made before a switch of path)."""
    return part if isinstance(part, _Chain) else _Chain(group, part.value)


class FiniteFieldGroup:
    """The subgroup of order q of (Z/pZ)*, generated by g; elements are mpz."""

    def __init__(
        self, name: str, p: int, q: int, g: int, *, comb_window: int = 10, native: bool = True
    ) -> None:
        self.name = name
        self.p, self.q, self.g = mpz(p), int(q), mpz(g)
        self.element_size = (self.p.bit_length() + 7) // 8
        self.one = mpz(1)
        self.qbits = self.q.bit_length()
        self.exponent_limit = 1 << self.qbits
        self.comb_window = comb_window
        self.safe_prime = self.p == 2 * self.q + 1
        self._g_comb: _Comb | _NativeComb | None = None
        self._small: dict[int, mpz] = {}
        self._q_windows = _bucket_windows(self.q)
        # alpha and beta of a clause are raised to the same challenge in a row
        self._last: tuple[int, list[tuple[int, int]]] = (0, [])
        self._field: Any = None
        self.use_native(native)
        if native:
            _NATIVE_GROUPS.add(self)

    def use_native(self, enabled: bool) -> None:
        """Chains and tables made from now on use the C accelerator, if it was built."""
        if enabled and _montgomery is not None and self.p % 2 == 1:
            if self._field is None:
                self._field = _montgomery.Field(self.element_bytes(self.p))
        else:
            self._field = None
        self._g_comb = None

    @property
    def arithmetic(self) -> str:
        """How products are made now: "avx512ifma" or "mpn" (the C accelerator), or "pure"."""
        return "pure" if self._field is None else str(self._field.kind)

    def element_bytes(self, x: mpz) -> bytes:
        return x.to_bytes(self.element_size, "little")

    def __repr__(self) -> str:
        return f"<FiniteFieldGroup {self.name}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (group_by_name, (self.name,))

    # ------------------------------------------------------------- strings
    def decode(self, text: str) -> mpz:
        if (
            not isinstance(text, str)
            or not text.isascii()
            or not text.isdigit()
            or (text[0] == "0" and len(text) > 1)
        ):
            raise InvalidElement(f"not a canonical base-10 number: {str(text)[:40]!r}")
        x = mpz(text)
        if not 0 < x < self.p:
            raise InvalidElement("number out of range for the group")
        return x

    def encode(self, x: mpz) -> str:
        return x.digits(10)

    # --------------------------------------------------------- arithmetic
    def is_member(self, x: mpz) -> bool:
        if not 0 < x < self.p:
            return False
        if self.safe_prime:
            # With p = 2q + 1 the subgroup of order q is the squares.
            return gmpy2.jacobi(x, self.p) == 1
        return gmpy2.powmod(x, self.q, self.p) == 1

    def is_member_via(self, prepared: _Chain) -> bool:
        x = prepared.value
        if not 0 < x < self.p:
            return False
        if self.safe_prime:
            return gmpy2.jacobi(x, self.p) == 1
        return prepared.pow_windows(self._q_windows) == 1

    def windows(self, e: int) -> list[tuple[int, int]]:
        """(position, bucket) windows of e, remembered for the last exponent asked."""
        last, windows = self._last
        if e != last or not windows:
            windows = _bucket_windows(e)
            self._last = (e, windows)
        return windows

    def mul(self, a: mpz, b: mpz) -> mpz:
        return a * b % self.p

    def div(self, a: mpz, b: mpz) -> mpz:
        return a * gmpy2.invert(b, self.p) % self.p

    def pow(self, x: mpz, e: int) -> mpz:
        return gmpy2.powmod(x, e % self.q, self.p)

    def g_pow(self, e: int) -> mpz:
        if self._g_comb is None:
            self._g_comb = self._comb(self.g, self.comb_window)
        return self._g_comb.pow(e % self.q)

    def _comb(self, x: mpz, window: int) -> _Comb | _NativeComb:
        if self._field is not None and 0 < x < self.p:
            return _NativeComb(self._field.comb(self.element_bytes(x), self.qbits, window))
        return _Comb(x, self.p, self.qbits, window)

    def g_small(self, m: int) -> mpz:
        """g^m for a small m (a vote count, a bound), cached."""
        x = self._small.get(m)
        if x is None:
            x = self._small[m] = gmpy2.powmod(self.g, m % self.q, self.p)
        return x

    def fixed_base(self, x: mpz, *, window: int | None = None) -> FixedBase:
        if x == self.g and window is None:
            self.g_pow(0)
            assert self._g_comb is not None
            return self._g_comb
        return self._comb(x, window or self.comb_window)

    def prepare(self, x: mpz) -> _Chain | _NativeChain:
        if self._field is not None and 0 < x < self.p:
            return _NativeChain(self, self._field, x)
        return _Chain(self, x)

    def prepare_product(self, parts: Sequence[Prepared]) -> _Chain | _NativeChain:
        value = self.one
        for part in parts:
            value = value * part.value % self.p
        if not parts:
            return self.prepare(value)
        field = getattr(parts[0], "_field", None)
        if field is not None and all(
            isinstance(part, _NativeChain) and part._field is field for part in parts
        ):
            return _NativeChain(self, field, value, parts)  # type: ignore[arg-type]
        return _ProductChain(self, value, [_pure(self, part) for part in parts])

    # -------------------------------------------------------------- hashing
    def hash_to_scalar(self, prefix: str, elements: Iterable[mpz]) -> int:
        return _digest_mod(prefix + ",".join(x.digits(10) for x in elements), self.q)

    def random_scalar(self) -> int:
        return secrets.randbelow(self.q)


BELENIOS_2048 = FiniteFieldGroup(
    "BELENIOS-2048",
    p=int(
        "20694785691422546401013643657505008064922989295751104097100884787057374219242"
        "71740192223725449768433812906663313807895840496005438963628979639303877390572"
        "28036059737494276713767776188985898727358650490811670993105358677809800307904"
        "91654063777173764198678527273474476341835600035698305193144284561701911000786"
        "73730733356412397173289791324047457883446826065232797464795113767265869358218"
        "00463179220736688600526271863633860887968821207694323661494910029234443463732"
        "22145884100586421050242120365433561201320481118852408731077014151666200162313"
        "177169372189248078507711827842317498073276598828825169183103125680162072880719"
    ),
    q=78571733251071885079927659812671450121821421258408794611510081919805623223441,
    g=int(
        "24023526775018522092276877035323999327122876573783649165100753187876632741463"
        "53219320285676155269678799694668298749389095083896573425601900601068477164491"
        "73547413728310461045868131451178164675540052740288984613986453266121505579709"
        "71620161682703128864324566638348636357821061549184199825343151897406581868686"
        "51151358576410138882215396016043228843603930989333662772848406593138406010231"
        "67509576377798266510360682240663507669776402534625377308513317349519424896775"
        "40525736590494924776314759915751987751777114814909204566002054781270547282381"
        "40972518639858334115700568353695553423781475582491896050296680037745308460627"
    ),
)

_RFC_3526_P = int(
    "3231700607131100730033891392642382824881794124114023911284200975140074170663"
    "4354222619689417363569347117901737909704191754605873209195028853758986185622"
    "1532121754125149017745202702357960782362488842461894775876411059286460994117"
    "2324542662252219323054091903768052423551912567971587011700105805587765103886"
    "1847280257976054903569732561526167081339361799541336476559160368317896729073"
    "1783845896806396719009772021941686472258710314113364293195361934716365332097"
    "1707744822798858856536920864529663607725026895550592836275112117409697299806"
    "8410554359584866583291642136218231078990999448652468262416972035911852507045"
    "361090559"
)
RFC_3526_2048 = FiniteFieldGroup(
    "RFC-3526-2048", p=_RFC_3526_P, q=(_RFC_3526_P - 1) // 2, g=2, comb_window=6
)

_FINITE_FIELD = {group.name: group for group in (BELENIOS_2048, RFC_3526_2048)}


def group_by_name(name: str) -> Group:
    """The group an election's ``group`` field names; ``InvalidElement`` if unknown."""
    if name in _FINITE_FIELD:
        return _FINITE_FIELD[name]
    if name == "Ed25519":
        from imago_fed.domain.voting.crypto.ed25519 import ED25519

        return ED25519
    raise InvalidElement(f"unknown group: {name!r}")

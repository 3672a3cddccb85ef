"""Exponential ElGamal: Enc(m; r) = (g^r, y^r g^m), additively homomorphic.

    encrypt      (g^r, y^r g^m) with r from ``secrets``; returns r too, which
                 the proofs need and which must then be forgotten
    combine      (a1 a2, b1 b2) encrypts m1 + m2: the homomorphic tally
    power        (a^w, b^w) encrypts w m: a ballot counted w times
    factor       a^x: a trustee's share of the decryption
    plaintext    log_g(b / F) by baby-step giant-step, bounded by the total
                 weight (a tally cannot exceed it)

Both g and y are fixed bases, so they get comb tables (``PublicKey``): making
a ballot is then cheap, and verifying one saves two exponentiations per
commitment.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from imago_fed.domain.voting.crypto.groups import FixedBase, Group

__all__ = [
    "Ciphertext",
    "DiscreteLogOutOfRange",
    "PublicKey",
    "combine",
    "discrete_log",
    "encrypt",
    "power",
]


@dataclass(frozen=True, slots=True)
class Ciphertext:
    alpha: Any
    beta: Any


class PublicKey:
    """An election key y, with its comb table built on first use."""

    def __init__(self, group: Group, y: Any) -> None:
        self.group, self.y = group, y
        self._table: FixedBase | None = None
        self._pair: Callable[[int], tuple[Any, Any]] | None = None

    def y_pow(self, e: int) -> Any:
        if self._table is None:
            self._table = self.group.fixed_base(self.y)
        return self._table.pow(e % self.group.q)

    def gy_pow(self, e: int) -> tuple[Any, Any]:
        """(g^e, y^e): every commitment pair needs both for the same e."""
        e %= self.group.q
        if self._pair is None:
            self.y_pow(0)
            joint = getattr(self._table, "pow_pair", None)
            g_table = self.group.fixed_base(self.group.g)
            if joint is not None:
                self._pair = lambda x: joint(g_table, x)[::-1]
            else:
                self._pair = lambda x: (self.group.g_pow(x), self.y_pow(x))
        return self._pair(e)

    def warm(self) -> PublicKey:
        """Build the tables now (before forking workers that will share them)."""
        self.gy_pow(1)
        return self


def encrypt(key: PublicKey, m: int, r: int | None = None) -> tuple[Ciphertext, int]:
    group = key.group
    if r is None:
        r = group.random_scalar()
    return Ciphertext(group.g_pow(r), group.mul(key.y_pow(r), group.g_pow(m))), r


def combine(group: Group, cs: Iterable[Ciphertext]) -> Ciphertext:
    alpha = beta = group.one
    for c in cs:
        alpha, beta = group.mul(alpha, c.alpha), group.mul(beta, c.beta)
    return Ciphertext(alpha, beta)


def power(group: Group, c: Ciphertext, w: int) -> Ciphertext:
    if w == 1:
        return c
    return Ciphertext(group.pow(c.alpha, w), group.pow(c.beta, w))


class DiscreteLogOutOfRange(ValueError):
    """g^m was not found for 0 <= m <= bound: the tally cannot be this."""


def discrete_log(group: Group, x: Any, bound: int) -> int:
    """m in [0, bound] with g^m = x (baby-step giant-step, O(sqrt(bound)))."""
    if bound < 0:
        raise DiscreteLogOutOfRange("negative bound")
    step = max(1, math.isqrt(bound) + 1)
    baby: dict[Any, int] = {}
    cur = group.one
    for j in range(step):
        baby.setdefault(cur, j)
        cur = group.mul(cur, group.g)
    giant = group.pow(group.g, (-step) % group.q)  # g^-step
    cur = x
    for i in range(step + 1):
        found = baby.get(cur)
        if found is not None and i * step + found <= bound:
            return i * step + found
        cur = group.mul(cur, giant)
    raise DiscreteLogOutOfRange(f"no m <= {bound} with g^m equal to the value")

"""Decision protocols and the rule each applies to decide a proposal.

    oligarchy  k of the named deciders approve                -> adopted
               too many refuse for k to remain possible        -> rejected
    democracy  at the end: turnout >= quorum and the share of "for" among
               for+against > threshold (strictly; a tie is not a majority
               unless threshold < 1/2)                          -> adopted
               turnout < quorum                                 -> expired
    consensus  the objection window closes with no block       -> adopted
               any block                                        -> rejected
    doocracy   adopted at once; a challenge in the window turns it into a
               new proposal under the fallback protocol

Shares are exact fractions (no float rounding at the boundary). Time comes
in as an argument: the domain has no clock of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from typing import Any

__all__ = [
    "Consensus",
    "Democracy",
    "Doocracy",
    "Oligarchy",
    "Protocol",
    "protocol_from_dict",
    "protocol_to_dict",
]

METHODS = ("plurality", "approval", "majority_judgment", "schulze")


@dataclass(frozen=True)
class Oligarchy:
    deciders: tuple[str, ...]  # member ids, or "group:<slug>" for a sub-group's members
    k: int
    name: str = "oligarchy"

    def __post_init__(self) -> None:
        if not self.deciders or not 1 <= self.k <= len(self.deciders):
            raise ValueError("oligarchy needs deciders and 1 <= k <= number of deciders")


@dataclass(frozen=True)
class Democracy:
    quorum: Fraction = Fraction(1, 4)  # share of eligible voters who must vote
    threshold: Fraction = Fraction(1, 2)  # share of votes "for" must exceed
    duration: timedelta = timedelta(days=7)
    method: str = "plurality"
    secret: bool = False
    electorate: str = "members"  # or "group:<slug>": a sub-group votes
    name: str = "democracy"

    def __post_init__(self) -> None:
        if not (0 <= self.quorum <= 1 and 0 <= self.threshold < 1):
            raise ValueError("quorum must be in [0, 1] and threshold in [0, 1)")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}")
        if self.duration <= timedelta(0):
            raise ValueError("duration must be positive")


@dataclass(frozen=True)
class Consensus:
    window: timedelta = timedelta(days=3)
    name: str = "consensus"

    def __post_init__(self) -> None:
        if self.window <= timedelta(0):
            raise ValueError("window must be positive")


@dataclass(frozen=True)
class Doocracy:
    window: timedelta = timedelta(days=2)
    fallback: Protocol = field(default_factory=lambda: Democracy())
    name: str = "doocracy"

    def __post_init__(self) -> None:
        if isinstance(self.fallback, Doocracy):
            raise ValueError("a do-ocracy's fallback cannot be a do-ocracy")


Protocol = Oligarchy | Democracy | Consensus | Doocracy


def protocol_to_dict(protocol: Protocol) -> dict[str, Any]:
    """A JSON-able form (fractions as "n/d", durations in seconds)."""
    if isinstance(protocol, Oligarchy):
        return {"protocol": "oligarchy", "deciders": list(protocol.deciders), "k": protocol.k}
    if isinstance(protocol, Democracy):
        return {
            "protocol": "democracy",
            "quorum": str(protocol.quorum),
            "threshold": str(protocol.threshold),
            "duration_s": int(protocol.duration.total_seconds()),
            "method": protocol.method,
            "secret": protocol.secret,
            "electorate": protocol.electorate,
            # said in the table itself, so nobody expects a delegate to vote for them:
            # a delegate would have to see or cast another member's secret ballot
            **({"delegation": "not used: each member casts their own secret ballot"}
               if protocol.secret else {}),
        }  # fmt: skip
    if isinstance(protocol, Consensus):
        return {"protocol": "consensus", "window_s": int(protocol.window.total_seconds())}
    return {
        "protocol": "doocracy",
        "window_s": int(protocol.window.total_seconds()),
        "fallback": protocol_to_dict(protocol.fallback),
    }


def protocol_from_dict(data: dict[str, Any]) -> Protocol:
    """Parse and validate; raise ValueError with the reason on anything off."""
    if not isinstance(data, dict):
        raise ValueError("a protocol is an object")
    kind = data.get("protocol")
    try:
        if kind == "oligarchy":
            return Oligarchy(tuple(str(d) for d in data["deciders"]), int(data["k"]))
        if kind == "democracy":
            return Democracy(
                quorum=Fraction(str(data.get("quorum", "1/4"))),
                threshold=Fraction(str(data.get("threshold", "1/2"))),
                duration=timedelta(seconds=int(data.get("duration_s", 7 * 86400))),
                method=str(data.get("method", "plurality")),
                secret=bool(data.get("secret", False)),
                electorate=str(data.get("electorate", "members")),
            )
        if kind == "consensus":
            return Consensus(timedelta(seconds=int(data.get("window_s", 3 * 86400))))
        if kind == "doocracy":
            return Doocracy(
                timedelta(seconds=int(data.get("window_s", 2 * 86400))),
                protocol_from_dict(data.get("fallback", {"protocol": "democracy"})),
            )
    except (KeyError, TypeError, ZeroDivisionError) as exc:
        raise ValueError(f"invalid {kind} protocol: {exc}") from exc
    raise ValueError(f"unknown protocol {kind!r}")

"""The control table: which protocol decides each kind of action.

The default table (for a new group) is deliberately light for everyday acts
and heavy for the rules themselves:

    publish, propagate, relate, admit,  do-ocracy (2-day challenge window,
    convene                             falling back to a democratic vote)
    moderate, remove_member             democracy, quorum 1/4, majority, 3 days
    spend, publish_offer, delegate      consensus, 3-day objection window
    amend_table                         democracy, quorum 1/3, two thirds, 7 days
    motion                              democracy, quorum 1/4, majority, 10 minutes
                                        (an assembly votes while it sits)

``amend_table`` is itself in the table: changing the rules takes the
agreement the current rules demand (see proposals.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from typing import Any

from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.protocols import (
    Consensus,
    Democracy,
    Doocracy,
    Protocol,
    protocol_from_dict,
    protocol_to_dict,
)

__all__ = ["ControlTable", "default_table"]


@dataclass(frozen=True)
class ControlTable:
    rules: tuple[tuple[ActionKind, Protocol], ...]

    def protocol(self, kind: ActionKind) -> Protocol:
        for action, protocol in self.rules:
            if action == kind:
                return protocol
        raise KeyError(kind)

    def amended(self, changes: dict[ActionKind, Protocol]) -> ControlTable:
        """A new table with ``changes`` applied (this one is unchanged)."""
        return ControlTable(tuple((k, changes.get(k, p)) for k, p in self.rules))

    def to_dict(self) -> dict[str, Any]:
        return {kind.value: protocol_to_dict(protocol) for kind, protocol in self.rules}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ControlTable:
        """Parse a stored table. A kind added after the table was saved takes
        its default rule (the group has not chosen one); an unknown kind is an error."""
        unknown = [k for k in data if k not in {a.value for a in ActionKind}]
        if unknown:
            raise ValueError(f"table: unknown {unknown}")
        defaults = dict(default_table().rules)
        return cls(
            tuple(
                (k, protocol_from_dict(data[k.value]) if k.value in data else defaults[k])
                for k in ActionKind
            )
        )


def parse_changes(data: dict[str, Any]) -> dict[ActionKind, Protocol]:
    """Changes to a table, as proposed in an ``amend_table`` proposal."""
    try:
        return {ActionKind(k): protocol_from_dict(v) for k, v in data.items()}
    except ValueError as exc:
        raise ValueError(f"invalid table change: {exc}") from exc


def default_table() -> ControlTable:
    light = Doocracy(timedelta(days=2), Democracy(duration=timedelta(days=3)))
    vote = Democracy(Fraction(1, 4), Fraction(1, 2), timedelta(days=3))
    consent = Consensus(timedelta(days=3))
    rules: dict[ActionKind, Protocol] = {
        ActionKind.PUBLISH: light,
        ActionKind.PROPAGATE: light,
        ActionKind.RELATE: light,
        ActionKind.ADMIT: light,
        ActionKind.MODERATE: vote,
        ActionKind.REMOVE_MEMBER: vote,
        ActionKind.SPEND: consent,
        ActionKind.PUBLISH_OFFER: consent,
        ActionKind.DELEGATE: consent,
        ActionKind.AMEND_TABLE: Democracy(Fraction(1, 3), Fraction(2, 3), timedelta(days=7)),
        ActionKind.CONVENE: light,
        ActionKind.MOTION: Democracy(Fraction(1, 4), Fraction(1, 2), timedelta(minutes=10)),
    }
    return ControlTable(tuple((k, rules[k]) for k in ActionKind))

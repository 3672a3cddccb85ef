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

Beside the protocols, the table holds the group's rights (who may post, post
announcements, open proposals, open a secret ballot: see
``domain/membership.py``) and whether an invitation admits directly
(``invitations: admit``) or opens an ``admit`` proposal (``vote``, the
default). An ``amend_table`` proposal changes them like a protocol:
``{"changes": {"permissions": {"post": "moderators"}, "invitations": "admit"}}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from typing import Any

from imago_fed.domain.errors import DomainError
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.protocols import (
    Consensus,
    Democracy,
    Doocracy,
    Protocol,
    protocol_from_dict,
    protocol_to_dict,
)
from imago_fed.domain.membership import DEFAULT_PERMISSIONS, Permissions

__all__ = ["INVITATION_MODES", "ControlTable", "TableChanges", "default_table"]

#: ``admit``: a valid invitation makes a member at once; ``vote``: it opens an
#: ``admit`` proposal under the table's protocol for ``admit``.
INVITATION_MODES = ("vote", "admit")
SETTINGS = ("permissions", "invitations")


@dataclass(frozen=True)
class TableChanges:
    """What an ``amend_table`` proposal changes: protocols, rights, invitations."""

    protocols: dict[ActionKind, Protocol]
    permissions: dict[str, Any]
    invitations: str | None = None

    def __bool__(self) -> bool:
        return bool(self.protocols or self.permissions or self.invitations)

    def names(self) -> list[str]:
        return sorted(
            [k.value for k in self.protocols]
            + [f"permissions.{k}" for k in self.permissions]
            + (["invitations"] if self.invitations else [])
        )


@dataclass(frozen=True)
class ControlTable:
    rules: tuple[tuple[ActionKind, Protocol], ...]
    permissions: Permissions = DEFAULT_PERMISSIONS
    invitations: str = "vote"

    def protocol(self, kind: ActionKind) -> Protocol:
        for action, protocol in self.rules:
            if action == kind:
                return protocol
        raise KeyError(kind)

    @property
    def invitations_admit(self) -> bool:
        return self.invitations == "admit"

    def amended(self, changes: dict[ActionKind, Protocol] | TableChanges) -> ControlTable:
        """A new table with ``changes`` applied (this one is unchanged)."""
        if not isinstance(changes, TableChanges):
            changes = TableChanges(changes, {})
        return ControlTable(
            tuple((k, changes.protocols.get(k, p)) for k, p in self.rules),
            self.permissions.changed(changes.permissions),
            changes.invitations or self.invitations,
        )

    def to_dict(self) -> dict[str, Any]:
        table: dict[str, Any] = {
            kind.value: protocol_to_dict(protocol) for kind, protocol in self.rules
        }
        table["permissions"] = self.permissions.to_dict()
        table["invitations"] = self.invitations
        return table

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ControlTable:
        """Parse a stored table. A kind added after the table was saved takes its
        default rule (the group has not chosen one), and so do the rights and the
        invitation mode; an unknown key is an error."""
        unknown = [k for k in data if k not in {a.value for a in ActionKind} | set(SETTINGS)]
        if unknown:
            raise ValueError(f"table: unknown {unknown}")
        invitations = data.get("invitations", "vote")
        if invitations not in INVITATION_MODES:
            raise ValueError(f"table: invitations must be one of {INVITATION_MODES}")
        defaults = dict(default_table().rules)
        return cls(
            tuple(
                (k, protocol_from_dict(data[k.value]) if k.value in data else defaults[k])
                for k in ActionKind
            ),
            DEFAULT_PERMISSIONS.changed(data.get("permissions") or {}),
            invitations,
        )


def parse_changes(data: dict[str, Any]) -> TableChanges:
    """Changes to a table, as proposed in an ``amend_table`` proposal."""
    if not isinstance(data, dict):
        raise ValueError("invalid table change: changes must be an object")
    try:
        protocols = {
            ActionKind(k): protocol_from_dict(v) for k, v in data.items() if k not in SETTINGS
        }
        permissions = data.get("permissions") or {}
        if not isinstance(permissions, dict):
            raise ValueError("permissions must be an object: right -> level")
        DEFAULT_PERMISSIONS.changed(permissions)  # InvalidInput names the bad right
        invitations = data.get("invitations")
        if invitations is not None and invitations not in INVITATION_MODES:
            raise ValueError(f"invitations must be one of {', '.join(INVITATION_MODES)}")
    except (ValueError, DomainError) as exc:
        raise ValueError(f"invalid table change: {getattr(exc, 'message', exc)}") from exc
    return TableChanges(protocols, permissions, invitations)


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

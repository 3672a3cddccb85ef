"""Typed relations between groups, and their lifecycle.

A relation is an edge of the graph of groups. It reads from its source:
``Relation(source=A, target=B, kind="subgroup")`` says *A is a subgroup of B*;
seen from B the same edge is ``Relation(B, A, "parent")``. Kinds come in
inverse pairs (``subgroup`` <-> ``parent``) or are symmetric (``partner``,
``same_place``, ``same_theme``), so either side can state the edge in its own
words and both land on one stored row (:meth:`Relation.key`).

The set of kinds is open (a deployment may declare more, with their inverse,
through :meth:`RelationKinds.declaring`) but validated: an unknown kind is
refused with a message listing the known ones, because a typo'd kind would be
an edge nobody's feed rules ever match.

One group proposes; the edge exists only once the other side accepts it under
its own control table. Removing it is governed the same way. The lifecycle is a
small state graph, checked at import; any other move is refused:

    proposed ──> accepted ──> removed
        ├──────> rejected            (the other side said no)
        └──────> withdrawn           (the proposer changed its mind)

Group ids are opaque strings here (the adapters use actor IRIs, so remote
groups are nodes like local ones).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from imago_fed.domain.errors import Conflict, InvalidInput

__all__ = [
    "DEFAULT_KINDS",
    "RELATION_STATES",
    "RELATION_TRANSITIONS",
    "Relation",
    "RelationKinds",
    "propose",
    "validate_group_id",
]

RELATION_TRANSITIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "proposed": frozenset({"accepted", "rejected", "withdrawn"}),
        "accepted": frozenset({"removed"}),
        "rejected": frozenset(),
        "withdrawn": frozenset(),
        "removed": frozenset(),
    }
)
RELATION_STATES = frozenset(RELATION_TRANSITIONS)
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_MAX_GROUP_ID = 2048


def _check_graph() -> None:
    """The lifecycle is closed: every target is a declared state (checked at import)."""
    for state, targets in RELATION_TRANSITIONS.items():
        unknown = targets - RELATION_STATES
        if unknown:
            raise RuntimeError(f"relation state {state} leads to undeclared {sorted(unknown)}")


_check_graph()


def validate_group_id(value: object, *, field: str = "group") -> str:
    """A group reference: a non-empty string without whitespace (an actor IRI, a handle)."""
    if (
        not isinstance(value, str)
        or not value
        or len(value) > _MAX_GROUP_ID
        or any(c.isspace() or ord(c) < 32 for c in value)
    ):
        raise InvalidInput(
            f"{field} must be a group reference (an actor IRI or @name@host), "
            f"at most {_MAX_GROUP_ID} characters without spaces",
            field=field,
        )
    return value


@dataclass(frozen=True)
class RelationKinds:
    """The declared kinds, each mapped to its inverse (itself when symmetric)."""

    inverses: Mapping[str, str]

    def __post_init__(self) -> None:
        frozen = MappingProxyType(dict(self.inverses))
        for kind, inverse in frozen.items():
            for name in (kind, inverse):
                if not isinstance(name, str) or not _KIND.fullmatch(name):
                    raise InvalidInput(f"relation kind {name!r} is not a lower-case identifier")
            if frozen.get(inverse) != kind:
                raise InvalidInput(f"relation kind {kind!r} and {inverse!r} are not inverses")
        object.__setattr__(self, "inverses", frozen)

    def __contains__(self, kind: object) -> bool:
        return kind in self.inverses

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.inverses))

    def validate(self, kind: object, *, field: str = "kind") -> str:
        """Return ``kind`` if declared; else InvalidInput naming every declared kind."""
        if not isinstance(kind, str) or kind not in self.inverses:
            raise InvalidInput(
                f"unknown relation kind {kind!r}; expected one of: {', '.join(self)}",
                field=field,
            )
        return kind

    def validate_all(
        self, kinds: Iterable[object], *, field: str = "relation_kinds"
    ) -> frozenset[str]:
        """Validate a list of kinds (feed rules, propagation criteria)."""
        if isinstance(kinds, str | bytes) or not isinstance(kinds, Iterable):
            raise InvalidInput(f"{field} must be a list of relation kinds", field=field)
        return frozenset(self.validate(k, field=field) for k in kinds)

    def inverse(self, kind: str) -> str:
        """The kind as the other side states it (``subgroup`` -> ``parent``)."""
        return self.inverses[self.validate(kind)]

    def is_symmetric(self, kind: str) -> bool:
        """Symmetric kinds read the same from both ends (``partner``)."""
        return self.inverse(kind) == kind

    def declaring(self, kind: str, inverse: str | None = None) -> RelationKinds:
        """A new set with one more kind (symmetric unless ``inverse`` is given)."""
        added = {kind: inverse or kind, (inverse or kind): kind}
        return RelationKinds({**self.inverses, **added})


DEFAULT_KINDS = RelationKinds(
    {
        "subgroup": "parent",
        "parent": "subgroup",
        "partner": "partner",
        "same_place": "same_place",
        "same_theme": "same_theme",
    }
)


@dataclass(frozen=True)
class Relation:
    """One typed edge between two groups, with where it stands in its lifecycle."""

    source: str
    target: str
    kind: str
    state: str = "proposed"

    def __post_init__(self) -> None:
        validate_group_id(self.source, field="source")
        validate_group_id(self.target, field="target")
        if self.source == self.target:
            raise InvalidInput("a group cannot have a relation with itself", field="target")
        if not isinstance(self.kind, str) or not _KIND.fullmatch(self.kind):
            raise InvalidInput(
                f"relation kind {self.kind!r} is not a lower-case identifier", field="kind"
            )
        if self.state not in RELATION_STATES:
            raise InvalidInput(
                f"unknown relation state {self.state!r}; expected one of: "
                f"{', '.join(sorted(RELATION_STATES))}",
                field="state",
            )

    @property
    def active(self) -> bool:
        """Only accepted relations count for proximity, propagation and feed rules."""
        return self.state == "accepted"

    @property
    def final(self) -> bool:
        """No move is left: the row is history (a new proposal starts a new one)."""
        return not RELATION_TRANSITIONS[self.state]

    def move(self, to: str) -> Relation:
        """Follow the lifecycle; an undeclared move raises Conflict."""
        if to not in RELATION_STATES:
            raise InvalidInput(
                f"unknown relation state {to!r}; expected one of: "
                f"{', '.join(sorted(RELATION_STATES))}",
                field="state",
            )
        if to not in RELATION_TRANSITIONS[self.state]:
            raise Conflict(f"a relation cannot go from {self.state} to {to}")
        return replace(self, state=to)

    def inverted(self, kinds: RelationKinds = DEFAULT_KINDS) -> Relation:
        """The same edge as its target states it."""
        return Relation(self.target, self.source, kinds.inverse(self.kind), self.state)

    def key(self, kinds: RelationKinds = DEFAULT_KINDS) -> tuple[str, str, str]:
        """One identity for an edge and its inverse, to store and deduplicate it once.

        The edge is stated from the side whose id sorts first.
        """
        edge = self if self.source < self.target else self.inverted(kinds)
        return (edge.source, edge.target, edge.kind)

    def involves(self, group: str) -> bool:
        """Whether ``group`` is one of the two ends."""
        return group in (self.source, self.target)

    def kind_from(self, group: str, kinds: RelationKinds = DEFAULT_KINDS) -> str:
        """What the *other* end is to ``group`` (B is A's ``parent`` when A is B's subgroup)."""
        if group == self.target:
            return self.kind
        if group == self.source:
            return kinds.inverse(self.kind)
        raise InvalidInput(f"{group!r} is not an end of this relation", field="group")

    def other(self, group: str) -> str:
        """The end that is not ``group``."""
        if group == self.source:
            return self.target
        if group == self.target:
            return self.source
        raise InvalidInput(f"{group!r} is not an end of this relation", field="group")


def propose(source: str, target: str, kind: str, kinds: RelationKinds = DEFAULT_KINDS) -> Relation:
    """A new relation proposed by ``source``; the kind is validated against ``kinds``."""
    return Relation(source, target, kinds.validate(kind), "proposed")

"""Propagation, sending side: who an announcement goes to, and the envelope it travels in.

A group decides (under its control table, outside this module) to spread one of
its announcements. :func:`plan` picks the recipients: the candidates that match
*every* criterion the group chose (within a radius, sharing a theme, directly
related by a chosen kind), ranked by proximity, the best ``k`` kept.

The announcement travels in an :class:`Item`: its object id, its origin, and
the path of groups it passed through. Each receiving group judges it by its own
feed rules (:mod:`.feeds`) and, if it relays, plans again from itself with the
item's path excluded:

    origin A ── plan ──> B, C          Item(path=(A,),   hops=1)
    B accepts ── forwarded_by(B) ──>   Item(path=(A, B), hops=2) ── plan ──> D ...

An item is an ``announcement`` (an object the group announced) or an
``intent`` (one of its open offers or needs): the kind travels with the item,
so each receiver knows to read the offer or need from its origin and keep it
where matching sees it, once its own feed rules took the item.

``hops`` is the number of group-to-group transfers when the item lands, so with
``hop_limit=2`` the groups B and C receive it and may relay, D receives it and
stops there. The path makes loops impossible whatever the shape of the graph: a
group already on it never receives the item again (and drops it if it does).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from imago_fed.domain.errors import Conflict, InvalidInput
from imago_fed.domain.graph.places import Place, distance_km, validate_radius
from imago_fed.domain.graph.proximity import (
    MAX_HOPS,
    MAX_K,
    GroupNode,
    ProximityWeights,
    Score,
    hops_from,
    rank,
)
from imago_fed.domain.graph.relations import (
    DEFAULT_KINDS,
    Relation,
    RelationKinds,
    validate_group_id,
)
from imago_fed.domain.graph.wikidata import parse_qids

__all__ = [
    "ITEM_KINDS",
    "MAX_HOPS",
    "Item",
    "ItemMeta",
    "PropagationCriteria",
    "originate",
    "plan",
]

# What an item carries: an announced object, or an offer or need (an intent).
ITEM_KINDS = ("announcement", "intent")

# Graph hops used only to score candidates (the "1 hop (partner)" part of `why`).
_SCORING_HOPS = 3


def _whole(value: object, low: int, high: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{field} must be a whole number from {low} to {high}", field=field)
    return value


@dataclass(frozen=True)
class PropagationCriteria:
    """What the sending group asks for; every criterion given must hold (they narrow).

    ``relation_kinds``: recipients must be *directly* related to the sender by
    one of these kinds (each relay applies its own plan, so reach along the
    graph comes from ``hop_limit``, one relation at a time).
    ``hop_limit``: how many group-to-group transfers the item may make in all.
    """

    k: int = 50
    radius_km: float | None = None
    themes: frozenset[str] = frozenset()
    relation_kinds: frozenset[str] = frozenset()
    hop_limit: int = 1

    def __post_init__(self) -> None:
        _whole(self.k, 1, MAX_K, "k")
        _whole(self.hop_limit, 1, MAX_HOPS, "hop_limit")
        if self.radius_km is not None:
            object.__setattr__(self, "radius_km", validate_radius(self.radius_km))
        object.__setattr__(self, "themes", frozenset(parse_qids(self.themes)))
        object.__setattr__(self, "relation_kinds", DEFAULT_KINDS.validate_all(self.relation_kinds))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able shape, for the ``propagate`` proposal's parameters."""
        return {
            "k": self.k,
            "radius_km": self.radius_km,
            "themes": sorted(self.themes),
            "relation_kinds": sorted(self.relation_kinds),
            "hop_limit": self.hop_limit,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PropagationCriteria:
        """Missing keys take the defaults; unknown keys are refused."""
        if not isinstance(data, Mapping):
            raise InvalidInput("criteria must be an object", field="criteria")
        unknown = set(data) - set(cls().to_dict())
        if unknown:
            raise InvalidInput(f"unknown criteria: {', '.join(sorted(unknown))}", field="criteria")
        return cls(**data)


@dataclass(frozen=True)
class ItemMeta:
    """What feeds match an item on: who it comes from and what it is about."""

    origin: str
    via: tuple[str, ...] = ()
    themes: frozenset[str] = frozenset()
    place: Place | None = None


@dataclass(frozen=True)
class Item:
    """An announcement in transit between groups.

    ``path`` starts with the origin and ends with the group that sent it to us.
    ``themes`` and ``place`` describe the announcement (its tags and location, or
    its origin's), so receivers can match their rules without a lookup.
    ``kind`` (one of :data:`ITEM_KINDS`) says what the object is.
    """

    object_id: str
    origin: str
    path: tuple[str, ...]
    hop_limit: int = 1
    themes: frozenset[str] = frozenset()
    place: Place | None = None
    kind: str = "announcement"

    def __post_init__(self) -> None:
        if not isinstance(self.object_id, str) or not self.object_id.strip():
            raise InvalidInput("object_id must be a non-empty id", field="object_id")
        validate_group_id(self.origin, field="origin")
        path = tuple(validate_group_id(g, field="path") for g in self.path)
        if not path or path[0] != self.origin:
            raise InvalidInput("path must start with the origin", field="path")
        if len(set(path)) != len(path):
            raise InvalidInput("path passes through a group twice", field="path")
        # A path may exceed hop_limit by one at most before receivers drop it;
        # anything longer is refused outright rather than carried around.
        _whole(len(path), 1, MAX_HOPS + 1, "path length")
        _whole(self.hop_limit, 1, MAX_HOPS, "hop_limit")
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "themes", frozenset(parse_qids(self.themes)))
        if self.place is not None and not isinstance(self.place, Place):
            raise InvalidInput("place must be a Place", field="place")
        if self.kind not in ITEM_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(ITEM_KINDS)}", field="kind")

    @property
    def hops(self) -> int:
        """Transfers made when the item lands: 1 at the origin's direct recipients."""
        return len(self.path)

    @property
    def sender(self) -> str:
        """The group that delivered it (the origin on the first hop)."""
        return self.path[-1]

    @property
    def may_travel_on(self) -> bool:
        """Whether the receiving group may relay it (it is below its hop limit)."""
        return self.hops < self.hop_limit

    @property
    def meta(self) -> ItemMeta:
        """What personal feeds match on."""
        return ItemMeta(self.origin, self.path[1:], self.themes, self.place)

    def forwarded_by(self, group: str) -> Item:
        """The envelope ``group`` sends on; refused past the hop limit or on a loop."""
        validate_group_id(group)
        if group in self.path:
            raise Conflict(f"{group} is already on this item's path")
        if not self.may_travel_on:
            raise Conflict(f"this item has reached its hop limit ({self.hop_limit})")
        return Item(
            self.object_id,
            self.origin,
            (*self.path, group),
            self.hop_limit,
            self.themes,
            self.place,
            self.kind,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able envelope (the adapters map it to their own wire form)."""
        return {
            "object_id": self.object_id,
            "origin": self.origin,
            "path": list(self.path),
            "hops": self.hops,
            "hop_limit": self.hop_limit,
            "themes": sorted(self.themes),
            "place": self.place.to_dict() if self.place else None,
            "kind": self.kind,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Item:
        """Parse an envelope; a ``hops`` that disagrees with the path is refused."""
        if not isinstance(data, Mapping):
            raise InvalidInput("item must be an object", field="item")
        try:
            path = data["path"]
            item = cls(
                data["object_id"],
                data["origin"],
                tuple(path) if isinstance(path, list | tuple) else (),
                data.get("hop_limit", 1),
                frozenset(parse_qids(data.get("themes") or ())),
                Place.from_dict(data["place"]) if data.get("place") else None,
                data.get("kind", "announcement"),
            )
        except KeyError as exc:
            raise InvalidInput(f"item needs {exc.args[0]}", field="item") from exc
        if "hops" in data and data["hops"] != item.hops:
            raise InvalidInput("hops does not match the path", field="hops")
        return item


def originate(
    object_id: str,
    origin: str,
    hop_limit: int = 1,
    *,
    themes: Iterable[str] = (),
    place: Place | None = None,
    kind: str = "announcement",
) -> Item:
    """The envelope an origin group sends to the recipients it planned."""
    return Item(object_id, origin, (origin,), hop_limit, frozenset(parse_qids(themes)), place, kind)


def plan(
    sender: GroupNode,
    candidates: Iterable[GroupNode],
    criteria: PropagationCriteria,
    *,
    relations: Iterable[Relation] = (),
    weights: ProximityWeights | None = None,
    exclude: Collection[str] = (),
    kinds: RelationKinds = DEFAULT_KINDS,
) -> list[Score]:
    """The ``criteria.k`` closest candidates matching every criterion, best first.

    ``relations`` are the sender's neighbourhood (accepted ones count); ``exclude``
    holds groups that must not receive it (an item's path when relaying).
    """
    relations = list(relations)
    paths = hops_from(sender.id, relations, _SCORING_HOPS, kinds=kinds)
    direct: set[str] = set()
    if criteria.relation_kinds:
        direct = set(
            hops_from(sender.id, relations, 1, only_kinds=criteria.relation_kinds, kinds=kinds)
        )
    excluded = {sender.id, *exclude}

    def matches(candidate: GroupNode) -> bool:
        """Every criterion given must hold."""
        if candidate.id in excluded:
            return False
        if criteria.relation_kinds and candidate.id not in direct:
            return False
        if criteria.themes and not criteria.themes & candidate.themes:
            return False
        if criteria.radius_km is not None:
            if sender.place is None or candidate.place is None:
                return False
            if distance_km(sender.place, candidate.place) > criteria.radius_km:
                return False
        return True

    eligible = [c for c in candidates if matches(c)]
    if not eligible:
        return []
    return rank(sender, eligible, weights, criteria.k, paths=paths)

"""Propagation, receiving side: feed rules a group writes by hand, and personal feeds.

Nothing here ranks. A group says, in its :class:`FeedRules`, which sources it
takes items from; an item is judged against those rules and a few safety checks,
in this order, the first that fails giving the reason:

    item ──> opted out?  ──> on our path? ──> seen? ──> past hop limit? ──> blocked?
                                   (loop)     (dedupe)
         ──> accepted source? ──> within rate limit? ──> accept (re-announce now)
               groups · relation kinds ·                  or hold (for moderators)
               themes · places within radius

Sources widen (any one suffices); blocks and the rest narrow. With no rules
written, a group takes items from the groups it is related to (relations are
themselves consented to) and holds them for its moderators.

The rate limit is a token bucket per *origin*: relays that pass on many
different groups' items are fine, one origin flooding through any relay is not.
Its state is a value: :func:`accept` returns the next one in the decision, the
caller stores it. The clock is passed in (``now``), never read.

A :class:`PersonalFeed` is the same idea for one Matrix user: which groups,
themes and places they want items from.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.graph.places import Place, distance_km, validate_radius
from imago_fed.domain.graph.propagation import Item, ItemMeta
from imago_fed.domain.graph.relations import (
    DEFAULT_KINDS,
    Relation,
    RelationKinds,
    validate_group_id,
)
from imago_fed.domain.graph.wikidata import parse_qids

__all__ = [
    "REANNOUNCE_MODES",
    "Bucket",
    "Decision",
    "FeedRules",
    "PersonalFeed",
    "RateLimit",
    "RateState",
    "Receiver",
    "accept",
]

REANNOUNCE_MODES = ("hold", "at_once")
Verdict = Literal["accept", "hold", "drop"]
_MAX_GROUPS = 1000


def _groups(values: object, field: str) -> frozenset[str]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidInput(f"{field} must be a list of groups", field=field)
    groups = frozenset(validate_group_id(v, field=field) for v in values)
    if len(groups) > _MAX_GROUPS:
        raise InvalidInput(f"{field} may hold at most {_MAX_GROUPS} groups", field=field)
    return groups


def _within(place: Place | None, center: Place | None, radius_km: float | None) -> bool:
    if place is None or center is None or radius_km is None:
        return False
    return distance_km(place, center) <= radius_km


def _check_keys(data: object, allowed: Collection[str], field: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidInput(f"{field} must be an object", field=field)
    unknown = set(data) - set(allowed)
    if unknown:
        raise InvalidInput(f"{field} has unknown keys: {', '.join(sorted(unknown))}", field=field)
    return data


@dataclass(frozen=True)
class RateLimit:
    """At most ``max_items`` per ``per_seconds`` from one origin (a burst of ``max_items``)."""

    max_items: int = 10
    per_seconds: int = 3600

    def __post_init__(self) -> None:
        for name, high in (("max_items", 10_000), ("per_seconds", 7 * 86_400)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                raise InvalidInput(f"{name} must be a whole number from 1 to {high}", field=name)


@dataclass(frozen=True)
class Bucket:
    """One origin's tokens left, as of ``at`` (a row per receiver and origin in the store)."""

    tokens: float
    at: datetime


@dataclass(frozen=True)
class RateState:
    """Token buckets by origin; an origin never seen has a full bucket."""

    buckets: Mapping[str, Bucket] = field(default_factory=dict)

    def take(self, origin: str, limit: RateLimit, now: datetime) -> RateState | None:
        """The state after spending one token, or None if the bucket is empty."""
        rate = limit.max_items / limit.per_seconds
        bucket = self.buckets.get(origin)
        if bucket is None:
            tokens = float(limit.max_items)
        else:
            # A clock that steps back refills nothing (never a negative refill).
            elapsed = max(0.0, (now - bucket.at).total_seconds())
            tokens = min(float(limit.max_items), bucket.tokens + elapsed * rate)
        if tokens < 1.0:
            return None
        at = max(now, bucket.at) if bucket else now
        return RateState(MappingProxyType({**self.buckets, origin: Bucket(tokens - 1.0, at)}))

    def pruned(self, limit: RateLimit, now: datetime) -> RateState:
        """Forget buckets that have refilled: a full bucket is the same as none, so the
        state stays as small as the set of origins active within one window."""
        rate = limit.max_items / limit.per_seconds
        kept = {
            origin: bucket
            for origin, bucket in self.buckets.items()
            if bucket.tokens + max(0.0, (now - bucket.at).total_seconds()) * rate < limit.max_items
        }
        return RateState(MappingProxyType(kept))


@dataclass(frozen=True)
class Receiver:
    """The receiving group as its rules see it: where it is, whom it is related to.

    ``related`` maps a group id to the kinds it is to the receiver (accepted
    relations only), e.g. ``{"B": {"partner"}}``.
    """

    id: str
    place: Place | None = None
    related: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_relations(
        cls,
        id: str,
        relations: Iterable[Relation],
        place: Place | None = None,
        kinds: RelationKinds = DEFAULT_KINDS,
    ) -> Receiver:
        """Build ``related`` from the receiver's relations (only accepted ones count)."""
        related: dict[str, set[str]] = {}
        for relation in relations:
            if relation.active and relation.involves(id):
                related.setdefault(relation.other(id), set()).add(relation.kind_from(id, kinds))
        return cls(id, place, {g: frozenset(k) for g, k in related.items()})


@dataclass(frozen=True)
class FeedRules:
    """Which sources a group takes propagated items from, and what it does with them.

    Sources (any one suffices): ``groups`` named by hand (origin or sender);
    groups related by one of ``relation_kinds``; items sharing one of ``themes``;
    items placed within ``radius_km`` of the group. ``blocked`` groups (as origin
    or sender) are always refused; ``enabled=False`` opts out of everything.
    ``reannounce``: ``at_once`` boosts accepted items to followers and the
    announcements room; ``hold`` queues them for moderators.
    """

    enabled: bool = True
    groups: frozenset[str] = frozenset()
    relation_kinds: frozenset[str] = frozenset(DEFAULT_KINDS)
    themes: frozenset[str] = frozenset()
    radius_km: float | None = None
    blocked: frozenset[str] = frozenset()
    reannounce: str = "hold"
    rate_limit: RateLimit = field(default_factory=RateLimit)

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise InvalidInput("enabled must be true or false", field="enabled")
        object.__setattr__(self, "groups", _groups(self.groups, "groups"))
        object.__setattr__(self, "blocked", _groups(self.blocked, "blocked"))
        object.__setattr__(self, "relation_kinds", DEFAULT_KINDS.validate_all(self.relation_kinds))
        object.__setattr__(self, "themes", frozenset(parse_qids(self.themes)))
        if self.radius_km is not None:
            object.__setattr__(self, "radius_km", validate_radius(self.radius_km))
        if self.reannounce not in REANNOUNCE_MODES:
            raise InvalidInput(
                f"reannounce must be one of: {', '.join(REANNOUNCE_MODES)}", field="reannounce"
            )
        if not isinstance(self.rate_limit, RateLimit):
            raise InvalidInput("rate_limit must be a RateLimit", field="rate_limit")

    def source(self, item: Item, receiver: Receiver) -> str | None:
        """Why the item's source is accepted (for the decision's reason), or None."""
        for group in dict.fromkeys((item.origin, item.sender)):
            if group in self.groups:
                return f"{group} is listed in the feed rules"
            kinds = receiver.related.get(group, frozenset()) & self.relation_kinds
            if kinds:
                return f"{group} is a related group ({', '.join(sorted(kinds))})"
        shared = self.themes & item.themes
        if shared:
            return f"shares themes {', '.join(sorted(shared))}"
        if _within(item.place, receiver.place, self.radius_km):
            return f"placed within {self.radius_km:g} km"
        return None

    def to_dict(self) -> dict[str, Any]:
        """The ``GET|PUT /api/v1/groups/{slug}/feed-rules`` shape."""
        return {
            "enabled": self.enabled,
            "accept": {
                "groups": sorted(self.groups),
                "relation_kinds": sorted(self.relation_kinds),
                "themes": sorted(self.themes),
                "radius_km": self.radius_km,
            },
            "blocked": sorted(self.blocked),
            "reannounce": self.reannounce,
            "rate_limit": {
                "max_items": self.rate_limit.max_items,
                "per_seconds": self.rate_limit.per_seconds,
            },
        }

    @classmethod
    def from_dict(cls, data: object) -> FeedRules:
        """Parse a PUT body; missing keys take the defaults, unknown keys are refused."""
        top = _check_keys(
            data, ("enabled", "accept", "blocked", "reannounce", "rate_limit"), "feed rules"
        )
        sources = _check_keys(
            top.get("accept", {}), ("groups", "relation_kinds", "themes", "radius_km"), "accept"
        )
        limit = _check_keys(top.get("rate_limit", {}), ("max_items", "per_seconds"), "rate_limit")
        defaults = cls()
        return cls(
            enabled=top.get("enabled", True),
            groups=sources.get("groups", ()),
            relation_kinds=sources.get("relation_kinds", defaults.relation_kinds),
            themes=sources.get("themes", ()),
            radius_km=sources.get("radius_km"),
            blocked=top.get("blocked", ()),
            reannounce=top.get("reannounce", defaults.reannounce),
            rate_limit=RateLimit(**limit),
        )


@dataclass(frozen=True)
class Decision:
    """What the receiving group does with an item, and why (shown to moderators)."""

    verdict: Verdict
    reason: str
    rate_state: RateState
    may_forward: bool = False

    @property
    def delivered(self) -> bool:
        """Accepted or held: the item is stored, its id counts as seen."""
        return self.verdict != "drop"


def accept(
    item: Item,
    rules: FeedRules,
    seen_ids: Collection[str],
    now: datetime,
    rate_state: RateState,
    *,
    receiver: Receiver,
) -> Decision:
    """Judge one incoming item under the receiver's feed rules (see the module docstring).

    ``seen_ids`` are the object ids this group already received; ``may_forward``
    says whether the item can still be relayed (it is below its hop limit).
    """

    def drop(reason: str) -> Decision:
        return Decision("drop", reason, rate_state)

    if not rules.enabled:
        return drop("this group has opted out of propagated items")
    if receiver.id in item.path:
        return drop("loop: the item already passed through this group")
    if item.object_id in seen_ids:
        return drop("duplicate: this object was already received")
    if item.hops > item.hop_limit:
        return drop(f"hop limit exceeded ({item.hops} > {item.hop_limit})")
    for group in (item.origin, item.sender):
        if group in rules.blocked:
            return drop(f"{group} is blocked by the feed rules")
    why = rules.source(item, receiver)
    if why is None:
        return drop("source not accepted by the feed rules")
    taken = rate_state.take(item.origin, rules.rate_limit, now)
    if taken is None:
        limit = rules.rate_limit
        return drop(
            f"rate limit: {item.origin} sent more than {limit.max_items} items "
            f"in {limit.per_seconds} s"
        )
    if rules.reannounce == "at_once":
        return Decision("accept", f"accepted: {why}", taken, item.may_travel_on)
    return Decision("hold", f"held for moderators: {why}", taken, item.may_travel_on)


@dataclass(frozen=True)
class PersonalFeed:
    """One person's feed: items from these groups, on these themes, or near this place.

    Any one criterion suffices; an empty feed matches nothing.
    """

    groups: frozenset[str] = frozenset()
    themes: frozenset[str] = frozenset()
    place: Place | None = None
    radius_km: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", _groups(self.groups, "groups"))
        object.__setattr__(self, "themes", frozenset(parse_qids(self.themes)))
        if (self.place is None) != (self.radius_km is None):
            raise InvalidInput("a place and a radius go together", field="radius_km")
        if self.radius_km is not None:
            object.__setattr__(self, "radius_km", validate_radius(self.radius_km))
        if self.place is not None and not isinstance(self.place, Place):
            raise InvalidInput("place must be a Place", field="place")

    def matches(self, meta: ItemMeta) -> bool:
        """Whether an item belongs in this feed (from or relayed by a chosen group counts)."""
        if meta.origin in self.groups or self.groups.intersection(meta.via):
            return True
        if self.themes & meta.themes:
            return True
        return _within(meta.place, self.place, self.radius_km)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able shape, for the bot to store and show the feed."""
        return {
            "groups": sorted(self.groups),
            "themes": sorted(self.themes),
            "place": self.place.to_dict() if self.place else None,
            "radius_km": self.radius_km,
        }

    @classmethod
    def from_dict(cls, data: object) -> PersonalFeed:
        """Parse what :meth:`to_dict` wrote (or a person typed); unknown keys are refused."""
        feed = _check_keys(data, ("groups", "themes", "place", "radius_km"), "feed")
        place = feed.get("place")
        return cls(
            groups=feed.get("groups", ()),
            themes=feed.get("themes", ()),
            place=Place.from_dict(place) if place is not None else None,
            radius_km=feed.get("radius_km"),
        )

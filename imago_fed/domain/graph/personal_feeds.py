"""Personal feeds as a person writes them: a name and a few ``key=value`` words.

    !imago feed add local groups=@garden@a.example,@hub@b.example themes=Q11451
                          near=Q90 radius=25

A person defines, by hand, what they want to read; nothing is ranked or
suggested. The words are parsed here (pure); naming groups by handle and
places by Wikidata id needs lookups, which the use case does before it builds
the :class:`~imago_fed.domain.graph.feeds.PersonalFeed` that matches items.

    words ──parse_request──> FeedRequest(groups, themes, near, radius_km)
                                  │ use case: handles -> actor ids, near -> Place
                                  v
                             PersonalFeed ──describe──> "themes Q11451; within 25 km of Paris"
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.graph.feeds import PersonalFeed
from imago_fed.domain.graph.places import validate_radius
from imago_fed.domain.graph.wikidata import parse_qids

__all__ = [
    "FEED_WORDS",
    "MAX_FEEDS",
    "FeedRequest",
    "describe",
    "parse_request",
    "validate_name",
]

#: How many feeds one person may keep (each is a room the bot posts in).
MAX_FEEDS = 10
FEED_WORDS = "groups=<@name@host,...> themes=<Q...,...> near=<Q... | place | lat,lon> radius=<km>"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_KEYS = ("groups", "themes", "near", "radius")


def validate_name(name: object) -> str:
    """A feed's name: short, lower case, usable in a room name and a command."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(
            "a feed name is 1 to 32 lower-case letters, digits, '-' or '_'", field="name"
        )
    return name


@dataclass(frozen=True)
class FeedRequest:
    """What the person typed, checked but not yet resolved."""

    groups: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    near: str | None = None  # a Wikidata id, a place's name ("_" for spaces) or "lat,lon"
    radius_km: float | None = None

    @property
    def empty(self) -> bool:
        return not (self.groups or self.themes or self.near)


def _list(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))


def parse_request(words: Sequence[str]) -> FeedRequest:
    """Parse ``key=value`` words; an unknown key, a repeated one or nothing to match is refused."""
    seen: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or key not in _KEYS:
            raise InvalidInput(f"unknown word {word!r}; write {FEED_WORDS}", field="feed")
        if key in seen:
            raise InvalidInput(f"{key} is given twice", field=key)
        if not value.strip():
            raise InvalidInput(f"{key} needs a value", field=key)
        seen[key] = value.strip()
    radius = None
    if "radius" in seen:
        try:
            radius = validate_radius(float(seen["radius"]))
        except ValueError:
            raise InvalidInput("radius must be a number of kilometres", field="radius") from None
    if ("near" in seen) != (radius is not None):
        raise InvalidInput("near and radius go together", field="radius")
    request = FeedRequest(
        groups=_list(seen.get("groups", "")),
        themes=tuple(sorted(parse_qids(_list(seen.get("themes", ""))))),
        near=seen.get("near"),
        radius_km=radius,
    )
    if request.empty:
        raise InvalidInput(f"say what the feed takes: {FEED_WORDS}", field="feed")
    return request


def describe(feed: PersonalFeed) -> str:
    """What a feed takes, in words (the bot's listing and the room's topic)."""
    parts = []
    if feed.groups:
        parts.append("groups " + ", ".join(sorted(feed.groups)))
    if feed.themes:
        parts.append("themes " + ", ".join(sorted(feed.themes)))
    if feed.place is not None and feed.radius_km is not None:
        where = feed.place.label or f"{feed.place.lat:.4f},{feed.place.lon:.4f}"
        parts.append(f"within {feed.radius_km:g} km of {where}")
    return "; ".join(parts) or "nothing"

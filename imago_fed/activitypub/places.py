"""A group's place and themes in its actor document, both ways.

Out: what fediverse software already understands, so nothing needs our
extension to read it::

    "location": {"type": "Place", "name": "Paris", "latitude": 48.8567,
                 "longitude": 2.3510, "url": "http://www.wikidata.org/entity/Q90"}
    "tag": [{"type": "Hashtag", "name": "#Gardening",
             "href": "http://www.wikidata.org/entity/Q7397"}]

Mastodon shows the tags on the group's profile; ``href`` names the WikiData
entity, the way FEP-0837 and Mitra link tags to entities.

In: :class:`GroupPlaces` is told of every remote actor we fetch (the resolver's
observer) and records a group's place and themes for proximity; a Hashtag whose
``href`` is not a WikiData item is an ordinary tag and is ignored.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from imago_fed.activitypub.vocab import as_list, id_of
from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.graph.places import Place
from imago_fed.domain.graph.wikidata import entity_iri, parse_qid
from imago_fed.domain.ports.federation import RemoteActor
from imago_fed.services.proximity import Proximity

__all__ = [
    "GroupPlaces",
    "actor_fields",
    "hashtag",
    "parse_place",
    "parse_themes",
    "place_object",
]

log = logging.getLogger(__name__)
_GROUP_TYPES = frozenset({"Group", "Organization"})
_WORD = re.compile(r"[^\W_]+")


def place_object(place: Place) -> dict[str, Any]:
    """An ``as:Place`` with its coordinates, and the WikiData entity when known."""
    document: dict[str, Any] = {
        "type": "Place",
        "name": place.label or f"{place.lat:.4f}, {place.lon:.4f}",
        "latitude": place.lat,
        "longitude": place.lon,
    }
    if place.qid:
        document["url"] = entity_iri(place.qid)
    return document


def hashtag(qid: str, label: str) -> dict[str, Any]:
    """A theme as a Hashtag: ``#ClimateChange``, linked to its entity."""
    words = _WORD.findall(label) or [qid]
    name = "".join(w[:1].upper() + w[1:] for w in words)
    return {"type": "Hashtag", "name": f"#{name}", "href": entity_iri(qid)}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _qid(value: object) -> str | None:
    for candidate in as_list(value):
        iri = id_of(candidate)
        if iri:
            try:
                return parse_qid(iri)
            except InvalidInput:
                continue
    return None


def parse_place(document: dict[str, Any]) -> Place | None:
    """The first ``location`` that is a Place with valid coordinates, else None."""
    for location in as_list(document.get("location")):
        if not isinstance(location, dict) or "Place" not in as_list(location.get("type")):
            continue
        lat, lon = _number(location.get("latitude")), _number(location.get("longitude"))
        if lat is None or lon is None:
            continue
        name = location.get("name")
        label = name if isinstance(name, str) else ""
        qid = _qid(location.get("url")) or _qid(location.get("id")) or _qid(
            location.get("sameAs")
        )  # fmt: skip
        try:
            return Place(lat, lon, label[:200], qid)
        except InvalidInput:
            continue
    return None


def parse_themes(document: dict[str, Any], limit: int = 50) -> tuple[str, ...]:
    """WikiData ids of the actor's Hashtags (those whose href is an entity)."""
    found: dict[str, None] = {}
    for tag in as_list(document.get("tag")):
        if not isinstance(tag, dict) or tag.get("type") != "Hashtag":
            continue
        qid = _qid(tag.get("href"))
        if qid is not None:
            found[qid] = None
        if len(found) >= limit:
            break
    return tuple(found)


async def actor_fields(proximity: Proximity | None, slug: str) -> dict[str, Any]:
    """``location`` and ``tag`` for one of our groups' actor documents ({} if none)."""
    if proximity is None:
        return {}
    profile = await proximity.profile(slug)
    fields: dict[str, Any] = {}
    if profile.place is not None:
        fields["location"] = place_object(profile.place)
    if profile.themes:
        labels = proximity.labels(profile.themes)
        fields["tag"] = [hashtag(q, labels.get(q, q)) for q in profile.themes]
    return fields


class GroupPlaces:
    """The resolver's observer: remote groups' places and themes, for proximity."""

    def __init__(self, proximity: Proximity) -> None:
        self._proximity = proximity

    async def __call__(self, actor: RemoteActor, document: dict[str, Any]) -> None:
        if actor.type not in _GROUP_TYPES:
            return
        host = urlsplit(actor.uri).netloc
        handle = f"@{actor.preferred_username}@{host}" if actor.preferred_username else None
        try:
            await self._proximity.remote(
                actor.uri, handle, parse_place(document), parse_themes(document)
            )
        except Exception:  # never let the graph stop an actor from resolving
            log.exception("could not record a remote group's place", extra={"actor": actor.uri})

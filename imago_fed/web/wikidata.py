"""The live WikiData lookup over WikiData's public API (``wbgetentities``).

Used only when ``[graph] wikidata_lookup`` is on, for an id the shipped
gazetteer does not know. One GET per id::

    GET {api_url}?action=wbgetentities&ids=Q…&props=labels|claims
                  &languages=en|fr&languagefallback=1&format=json
      ──> {"entities": {"Q…": {"labels": {"en": {"value": …}},
                               "claims": {"P625": [{"mainsnak": {"datavalue":
                                 {"value": {"latitude", "longitude", "globe"}}}}]}}}}
      ──> Place(lat, lon, label, qid)      (no P625 on Earth: None)

Guards, because a request of ours waits on it: one deadline for the whole
exchange (``timeout``), a cap on the answer's size (``max_bytes``: the claims
of a large city run to a megabyte or two), and a small cache of answers, found
or not found (``cache_size`` entries for ``cache_seconds``). Errors (timeout,
refused connection, an HTTP error, an answer too large or not WikiData's
shape) raise :class:`UpstreamFailed` saying which; they are not cached.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import OrderedDict
from typing import Any

import httpx

from imago_fed import __version__
from imago_fed.config import Settings
from imago_fed.domain.errors import UpstreamFailed
from imago_fed.domain.graph.places import MAX_LABEL_LENGTH, Place
from imago_fed.domain.graph.wikidata import parse_qid

__all__ = ["DEFAULT_API_URL", "EARTH", "WikidataApi", "wikidata_lookup"]

DEFAULT_API_URL = "https://www.wikidata.org/w/api.php"
#: P625 values on another globe (the Moon, Mars) are not places for us.
EARTH = "http://www.wikidata.org/entity/Q2"
_LANGUAGES = ("en", "fr")


class WikidataApi:
    """Implements :class:`imago_fed.domain.ports.wikidata.WikidataLookup`."""

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        *,
        timeout: float = 5.0,
        max_bytes: int = 4 * 1_048_576,
        cache_size: int = 256,
        cache_seconds: float = 86_400.0,
        user_agent: str = "imago-fed",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url, self._timeout, self._max_bytes = api_url, timeout, max_bytes
        self._cache_size, self._cache_seconds = cache_size, cache_seconds
        self._cache: OrderedDict[str, tuple[float, dict[str, Any] | None]] = OrderedDict()
        self._headers = {"Accept": "application/json", "User-Agent": user_agent}
        self._transport = transport
        self.requests = 0  # answers fetched (not from the cache): what the cache saves

    async def place(self, qid: str) -> Place | None:
        entity = await self._entity(parse_qid(qid))
        if entity is None:
            return None
        point = _coordinates(entity)
        if point is None:
            return None
        label = _label(entity) or entity.get("id") or qid
        return Place(point[0], point[1], label[:MAX_LABEL_LENGTH], parse_qid(qid))

    async def theme(self, qid: str) -> str | None:
        entity = await self._entity(parse_qid(qid))
        if entity is None:
            return None
        return _label(entity) or str(entity.get("id") or qid)

    # -- the exchange ----------------------------------------------------------

    async def _entity(self, qid: str) -> dict[str, Any] | None:
        """The item's JSON (labels, claims), or None when WikiData has no such item."""
        now = time.monotonic()
        cached = self._cache.get(qid)
        if cached is not None and now - cached[0] < self._cache_seconds:
            self._cache.move_to_end(qid)
            return cached[1]
        try:
            document = await asyncio.wait_for(self._fetch(qid), self._timeout)
        except TimeoutError:
            raise UpstreamFailed(
                f"WikiData did not answer about {qid} within {self._timeout:g} s; try again",
                field="wikidata",
            ) from None
        entity = _pick(document, qid)
        self._cache[qid] = (now, entity)
        self._cache.move_to_end(qid)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return entity

    async def _fetch(self, qid: str) -> Any:
        params = {
            "action": "wbgetentities",
            "ids": qid,
            "props": "labels|claims",
            "languages": "|".join(_LANGUAGES),
            "languagefallback": "1",
            "format": "json",
        }
        self.requests += 1
        try:
            async with (
                httpx.AsyncClient(
                    timeout=self._timeout, headers=self._headers, transport=self._transport
                ) as client,
                client.stream("GET", self._url, params=params) as response,
            ):
                if response.status_code != 200:
                    raise UpstreamFailed(
                        f"WikiData answered HTTP {response.status_code} about {qid}",
                        field="wikidata",
                    )
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self._max_bytes:
                    raise _too_large(qid, self._max_bytes)
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > self._max_bytes:
                        raise _too_large(qid, self._max_bytes)
        except httpx.HTTPError as exc:
            raise UpstreamFailed(
                f"WikiData could not be reached about {qid}: {type(exc).__name__}",
                field="wikidata",
            ) from exc
        try:
            return json.loads(body)
        except ValueError:
            raise UpstreamFailed(
                f"WikiData's answer about {qid} is not JSON", field="wikidata"
            ) from None


def wikidata_lookup(settings: Settings) -> WikidataApi | None:
    """The lookup ``[graph]`` asks for, or None when it is off (the default)."""
    graph = settings.graph
    if not graph.wikidata_lookup:
        return None
    return WikidataApi(
        graph.wikidata_api_url,
        timeout=float(graph.wikidata_timeout_seconds),
        max_bytes=graph.wikidata_max_bytes,
        cache_size=graph.wikidata_cache_size,
        # WikiData asks API clients to name themselves and a contact.
        user_agent=f"imago-fed/{__version__} (+{settings.instance.base_url})",
    )


def _too_large(qid: str, cap: int) -> UpstreamFailed:
    return UpstreamFailed(
        f"WikiData's answer about {qid} is larger than {cap} bytes", field="wikidata"
    )


def _pick(document: Any, qid: str) -> dict[str, Any] | None:
    """The one entity of a ``wbgetentities`` answer; None for a missing item."""
    if not isinstance(document, dict):
        raise UpstreamFailed(f"WikiData's answer about {qid} is not an object", field="wikidata")
    error = document.get("error")
    if isinstance(error, dict):
        if error.get("code") == "no-such-entity":
            return None
        raise UpstreamFailed(
            f"WikiData refused the lookup of {qid}: {error.get('code', 'error')}",
            field="wikidata",
        )
    entities = document.get("entities")
    if not isinstance(entities, dict) or len(entities) != 1:
        raise UpstreamFailed(
            f"WikiData's answer about {qid} has no single entity", field="wikidata"
        )
    (entity,) = entities.values()  # a redirected id answers under its target's id
    if not isinstance(entity, dict):
        raise UpstreamFailed(f"WikiData's answer about {qid} is malformed", field="wikidata")
    if "missing" in entity:
        return None
    return entity


def _label(entity: dict[str, Any]) -> str | None:
    labels = entity.get("labels")
    if not isinstance(labels, dict):
        return None
    for language in (*_LANGUAGES, *sorted(labels)):
        label = labels.get(language)
        if isinstance(label, dict) and isinstance(label.get("value"), str):
            text = " ".join(label["value"].split())
            if text:
                return text
    return None


def _coordinates(entity: dict[str, Any]) -> tuple[float, float] | None:
    """The item's P625 on Earth: the preferred statement, else the first normal one."""
    claims = entity.get("claims")
    statements = claims.get("P625") if isinstance(claims, dict) else None
    if not isinstance(statements, list):
        return None
    ranked = sorted(
        (s for s in statements if isinstance(s, dict) and s.get("rank") != "deprecated"),
        key=lambda s: s.get("rank") != "preferred",
    )
    for statement in ranked:
        snak = statement.get("mainsnak")
        value = snak.get("datavalue", {}).get("value") if isinstance(snak, dict) else None
        if not isinstance(value, dict) or value.get("globe", EARTH) != EARTH:
            continue
        lat, lon = value.get("latitude"), value.get("longitude")
        if (
            isinstance(lat, int | float)
            and isinstance(lon, int | float)
            and not isinstance(lat, bool)
            and not isinstance(lon, bool)
            and math.isfinite(lat)
            and math.isfinite(lon)
            and -90 <= lat <= 90
            and -180 <= lon <= 180
        ):
            return float(lat), float(lon)
    return None

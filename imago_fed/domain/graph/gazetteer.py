"""The gazetteer shipped with the project: places and themes, read offline.

A group may name its place and themes as WikiData entities; federation must
never wait on WikiData to show a label or place a group on the map. So labels,
kinds and coordinates come from compact files built once by a maintainer
(``tools/gazetteer/build.py``) from openly licensed data and shipped in the
package (``data/``; sources and licences in ``data/SOURCES.md``)::

    places.csv.gz   key, qid, kind, cc, admin, label, label_fr, lat, lon, pop
    themes.csv      qid, kind, label_en, label_fr, code

A place has a stable ``key`` (``insee:75056``, ``geonames:2643743``,
``fr-dep:33``, ``iso:FR``...) and a WikiData id only where a source carries one.

This module is pure: it reads the package data lazily, once, through
:mod:`importlib.resources`, and answers lookups by id, key and label prefix
(case- and accent-insensitive, for autocompletion). No I/O beyond that, no
network: a live WikiData lookup, when enabled, lives elsewhere.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from heapq import nsmallest
from importlib import resources

__all__ = [
    "Gazetteer",
    "Place",
    "Theme",
    "entity_iri",
    "fold",
    "gazetteer",
    "place",
    "search_places",
    "search_themes",
    "theme",
    "themes",
]

_DATA_PACKAGE = "imago_fed.domain.graph"
_PLACE_COLUMNS = ["key", "qid", "kind", "cc", "admin", "label", "label_fr", "lat", "lon", "pop"]
_ENTITY_PREFIX = "http://www.wikidata.org/entity/"
_QID = re.compile(r"[Qq]([1-9][0-9]*)")
_QID_IRI = re.compile(
    r"(?:https?://)?(?:www\.|m\.)?wikidata\.org/(?:entity|wiki)/(?:Special:EntityPage/)?"
    r"([Qq][1-9][0-9]*)/?(?:[#?].*)?"
)


@dataclass(frozen=True, slots=True)
class Place:
    """A named point (or area reduced to a representative point)."""

    key: str
    qid: str | None
    kind: str  # commune, departement, region, country, capital, city, world_region
    country: str  # ISO 3166-1 alpha-2, "" when none applies
    admin: str  # the enclosing unit's code in its source (département, région, admin1)
    label: str
    label_fr: str
    lat: float | None
    lon: float | None
    population: int | None

    @property
    def iri(self) -> str | None:
        return entity_iri(self.qid) if self.qid else None

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass(frozen=True, slots=True)
class Theme:
    """A WikiData entity a group may declare as one of its themes."""

    qid: str
    kind: str
    label_en: str
    label_fr: str
    code: str

    @property
    def iri(self) -> str:
        return entity_iri(self.qid)

    def label(self, lang: str = "en") -> str:
        return (self.label_fr if lang == "fr" else self.label_en) or self.label_en


def _qid(value: str) -> str | None:
    """``Q90`` from ``Q90``, ``q90``, ``wd:Q90`` or any WikiData entity/wiki IRI; else None."""
    value = value.strip()
    if value.startswith("wd:"):
        value = value[3:]
    match = _QID.fullmatch(value) or _QID_IRI.fullmatch(value)
    if match is None:
        return None
    return "Q" + match.group(1).lstrip("Qq")


def entity_iri(qid: str) -> str:
    """The canonical entity IRI (``http://www.wikidata.org/entity/Q…``)."""
    normal = _qid(qid)
    if normal is None:
        raise ValueError(f"not a WikiData item id: {qid!r}")
    return _ENTITY_PREFIX + normal


_SEPARATORS = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """Lower-case, strip accents and punctuation: what autocompletion compares."""
    text = text.casefold()
    if not text.isascii():
        text = text.replace("œ", "oe").replace("æ", "ae")
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(_SEPARATORS.sub(" ", text).split())


_SAINT = re.compile(r"\b(saint|sainte)\b")


def _keys(label: str) -> set[str]:
    """The folded label, plus its "st"/"ste" spelling, as people abbreviate saints' names."""
    key = fold(label)
    if "saint" not in key:
        return {key}
    return {key, _SAINT.sub(lambda m: "st" if m.group(1) == "saint" else "ste", key)}


def _float(text: str) -> float | None:
    return float(text) if text else None


def _int(text: str) -> int | None:
    return int(text) if text else None


# Of two places with one WikiData id and the same population, the first kind wins.
_LOCAL_FIRST = ("commune", "capital", "city", "departement", "region", "territory", "country")


def _rank(place: Place) -> tuple[int, int]:
    kind = place.kind
    local = len(_LOCAL_FIRST) - _LOCAL_FIRST.index(kind) if kind in _LOCAL_FIRST else 0
    return place.population or 0, local


class Gazetteer:
    """Places and themes indexed by id, key and folded label."""

    def __init__(self, places: Iterable[Place], themes: Iterable[Theme]) -> None:
        self._places: tuple[Place, ...] = tuple(places)
        self._themes: tuple[Theme, ...] = tuple(themes)
        self._by_key = {p.key: p for p in self._places}
        self._by_qid: dict[str, Place] = {}
        for p in self._places:
            # Several rows may share an id (a country and a territory; Paris, commune and
            # département; an overseas département and its région): keep the most populous,
            # and of equals the most local (the commune of Paris for Q90).
            if p.qid and (p.qid not in self._by_qid or _rank(p) > _rank(self._by_qid[p.qid])):
                self._by_qid[p.qid] = p
        self._place_index = self._label_index(
            (label, i) for i, p in enumerate(self._places) for label in {p.label, p.label_fr}
        )
        self._theme_by_qid = {t.qid: t for t in self._themes}
        self._theme_index = self._label_index(
            (label, i) for i, t in enumerate(self._themes) for label in {t.label_en, t.label_fr}
        )

    @staticmethod
    def _label_index(pairs: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
        return sorted({(key, i) for label, i in pairs if label for key in _keys(label)})

    @classmethod
    def from_csv(cls, places_csv: str, themes_csv: str) -> Gazetteer:
        rows = csv.reader(io.StringIO(places_csv))
        header = next(rows)
        if header != _PLACE_COLUMNS:
            raise ValueError(f"unexpected places columns: {header}")
        places = [
            Place(
                key,
                qid or None,
                kind,
                cc,
                admin,
                label,
                label_fr,
                _float(lat),
                _float(lon),
                _int(pop),
            )
            for key, qid, kind, cc, admin, label, label_fr, lat, lon, pop in rows
        ]
        themes = [
            Theme(
                qid=row["qid"],
                kind=row["kind"],
                label_en=row["label_en"],
                label_fr=row["label_fr"],
                code=row["code"],
            )
            for row in csv.DictReader(io.StringIO(themes_csv))
        ]
        return cls(places, themes)

    # -- places --------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._places)

    def place(self, ident: str) -> Place | None:
        """A place by WikiData id (any accepted form) or by gazetteer key."""
        qid = _qid(ident)
        if qid is not None:
            return self._by_qid.get(qid)
        return self._by_key.get(ident.strip())

    def places(self) -> Sequence[Place]:
        return self._places

    def search_places(
        self, prefix: str, *, limit: int = 10, kinds: Iterable[str] | None = None
    ) -> list[Place]:
        """Places whose label starts with ``prefix``: exact names first, then the most populous."""
        wanted = set(kinds) if kinds is not None else None
        hits = self._prefix(self._place_index, prefix)
        key = fold(prefix)
        unique = {i for label, i in hits}
        candidates = (
            self._places[i] for i in unique if wanted is None or self._places[i].kind in wanted
        )
        return nsmallest(
            limit,
            candidates,
            key=lambda p: (
                fold(p.label) != key and fold(p.label_fr) != key,
                -(p.population or 0),
                p.label,
                p.key,
            ),
        )

    # -- themes --------------------------------------------------------------

    def theme(self, ident: str) -> Theme | None:
        qid = _qid(ident)
        return self._theme_by_qid.get(qid) if qid else None

    def themes(self) -> Sequence[Theme]:
        return self._themes

    def search_themes(self, prefix: str, *, limit: int = 10) -> list[Theme]:
        """Themes whose English or French label starts with ``prefix``, the closest first."""
        unique = {i for _, i in self._prefix(self._theme_index, prefix)}
        key = fold(prefix)

        def closeness(t: Theme) -> tuple[int, str]:
            matching = [len(f) for f in (fold(t.label_en), fold(t.label_fr)) if f.startswith(key)]
            return min(matching, default=len(t.label_en)), t.label_en

        return nsmallest(limit, (self._themes[i] for i in unique), key=closeness)

    @staticmethod
    def _prefix(index: list[tuple[str, int]], prefix: str) -> list[tuple[str, int]]:
        key = fold(prefix)
        if not key:
            return []
        start = bisect_left(index, (key, -1))
        end = start
        while end < len(index) and index[end][0].startswith(key):
            end += 1
        return index[start:end]


@cache
def gazetteer() -> Gazetteer:
    """The shipped gazetteer, loaded on first use and kept for the process."""
    data = resources.files(_DATA_PACKAGE).joinpath("data")
    places = gzip.decompress(data.joinpath("places.csv.gz").read_bytes()).decode("utf-8")
    themes_csv = data.joinpath("themes.csv").read_text(encoding="utf-8")
    return Gazetteer.from_csv(places, themes_csv)


def place(ident: str) -> Place | None:
    """A shipped place by WikiData id or gazetteer key."""
    return gazetteer().place(ident)


def search_places(
    prefix: str, *, limit: int = 10, kinds: Iterable[str] | None = None
) -> list[Place]:
    """Autocompletion over the shipped places."""
    return gazetteer().search_places(prefix, limit=limit, kinds=kinds)


def theme(ident: str) -> Theme | None:
    """A shipped theme by WikiData id."""
    return gazetteer().theme(ident)


def themes() -> Sequence[Theme]:
    """Every shipped theme."""
    return gazetteer().themes()


def search_themes(prefix: str, *, limit: int = 10) -> list[Theme]:
    """Autocompletion over the shipped themes (English and French labels)."""
    return gazetteer().search_themes(prefix, limit=limit)

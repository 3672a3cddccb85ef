"""Places on the globe: a validated point, the distance between two, and a box around one.

Proximity must run on core PostgreSQL (no PostGIS, cube or earthdistance on
every server we target). The store keeps a ``point`` (x = longitude,
y = latitude) with a GiST index, pre-filters with a lat/lon box, then the exact
great-circle distance re-ranks. This module supplies both halves, so SQL and
Python agree on what "within 25 km" means:

    radius ──> bounding_box ──> parts() ──> point <@ box(...)    (superset, indexed)
                                               │
                  distance_km (haversine) <────┘                  (exact, re-rank)

The box is a superset of the circle, including near the poles (the box widens to
every longitude when the circle covers a pole) and across the antimeridian (the
box splits in two, since a PostgreSQL ``box`` cannot wrap).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.graph.wikidata import ENTITY_PREFIX, parse_qid

__all__ = [
    "EARTH_RADIUS_KM",
    "MAX_DISTANCE_KM",
    "BoundingBox",
    "Place",
    "bounding_box",
    "distance_km",
    "validate_radius",
]

# The IUGG mean Earth radius: the usual choice for a spherical model (error < 0.5 %).
EARTH_RADIUS_KM = 6371.0088
# Half the circumference: no two points on the sphere are farther apart.
MAX_DISTANCE_KM = math.pi * EARTH_RADIUS_KM
MAX_LABEL_LENGTH = 200
# Widen boxes by about a centimetre so a point exactly on the circle stays inside
# despite rounding in the trigonometry.
_MARGIN_DEG = 1e-7


def _coordinate(value: object, low: float, high: float, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{field} must be a number", field=field)
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise InvalidInput(f"{field} must be between {low:g} and {high:g}", field=field)
    return number


def validate_radius(value: object, *, field: str = "radius_km") -> float:
    """A search radius in km: positive, finite, at most half the Earth's circumference."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{field} must be a number of kilometres", field=field)
    radius = float(value)
    if not math.isfinite(radius) or not 0 < radius <= MAX_DISTANCE_KM:
        raise InvalidInput(
            f"{field} must be greater than 0 and at most {MAX_DISTANCE_KM:.0f} km", field=field
        )
    return radius


@dataclass(frozen=True)
class Place:
    """Where a group (or an item) is: coordinates, a label, and maybe a Wikidata item."""

    lat: float
    lon: float
    label: str = ""
    qid: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "lat", _coordinate(self.lat, -90.0, 90.0, "lat"))
        object.__setattr__(self, "lon", _coordinate(self.lon, -180.0, 180.0, "lon"))
        if not isinstance(self.label, str):
            raise InvalidInput("label must be text", field="label")
        label = self.label.strip()
        if len(label) > MAX_LABEL_LENGTH or any(ord(c) < 32 for c in label):
            raise InvalidInput(
                f"label must be at most {MAX_LABEL_LENGTH} characters, without control characters",
                field="label",
            )
        object.__setattr__(self, "label", label)
        if self.qid is not None:
            object.__setattr__(self, "qid", parse_qid(self.qid, field="wikidata"))

    @classmethod
    def stored(cls, lat: float, lon: float, label: str, qid: str | None) -> Place:
        """A place read back from our own store, validated when it was written.

        Skips the checks: ranking reads hundreds of them per query.
        """
        place = object.__new__(cls)
        for name, value in (("lat", lat), ("lon", lon), ("label", label), ("qid", qid)):
            object.__setattr__(place, name, value)
        return place

    @property
    def entity(self) -> str | None:
        """The canonical Wikidata IRI, if the place has one."""
        return ENTITY_PREFIX + self.qid if self.qid else None

    def to_dict(self) -> dict[str, Any]:
        """The admin API's shape: ``{"lat", "lon", "label", "wikidata"}``."""
        return {"lat": self.lat, "lon": self.lon, "label": self.label, "wikidata": self.qid}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, field: str = "place") -> Place:
        """Coordinates are required here: a bare ``{"wikidata": "Q90"}`` is resolved by the
        gazetteer (outside the domain) into a full dict first."""
        if not isinstance(data, Mapping):
            raise InvalidInput(f"{field} must be an object with lat and lon", field=field)
        unknown = set(data) - {"lat", "lon", "label", "wikidata"}
        if unknown:
            raise InvalidInput(
                f"{field} has unknown keys: {', '.join(sorted(unknown))}", field=field
            )
        if "lat" not in data or "lon" not in data:
            raise InvalidInput(f"{field} needs lat and lon", field=field)
        return cls(data["lat"], data["lon"], data.get("label") or "", data.get("wikidata"))


def distance_km(a: Place, b: Place) -> float:
    """Great-circle distance by the haversine formula (stable for short distances)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    # Rounding can push h a hair above 1 for antipodes; asin would then fail.
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, max(0.0, h))))


@dataclass(frozen=True)
class BoundingBox:
    """A lat/lon box in degrees; ``west > east`` means it wraps across the antimeridian."""

    south: float
    north: float
    west: float
    east: float

    @property
    def crosses_antimeridian(self) -> bool:
        """True when the box wraps from +180 to -180 degrees of longitude."""
        return self.west > self.east

    def contains(self, place: Place) -> bool:
        """The same test the store's ``<@ box`` makes, so both agree on the pre-filter."""
        if not self.south <= place.lat <= self.north:
            return False
        if self.crosses_antimeridian:
            return place.lon >= self.west or place.lon <= self.east
        return self.west <= place.lon <= self.east

    def parts(self) -> tuple[tuple[float, float, float, float], ...]:
        """Non-wrapping boxes as ``(x1, y1, x2, y2) = (west, south, east, north)``.

        One box normally, two when the box crosses the antimeridian: PostgreSQL's
        ``box(point(x1, y1), point(x2, y2))`` over ``point(lon, lat)`` cannot wrap.
        """
        if self.crosses_antimeridian:
            return (
                (self.west, self.south, 180.0, self.north),
                (-180.0, self.south, self.east, self.north),
            )
        return ((self.west, self.south, self.east, self.north),)


def bounding_box(center: Place, radius_km: float) -> BoundingBox:
    """The smallest lat/lon box holding every point within ``radius_km`` of ``center``.

    The longitude half-width is ``asin(sin r / cos lat)`` (the meridians tangent to
    the circle), not ``r / cos lat``, which is too narrow far from the equator.
    """
    radius = validate_radius(radius_km)
    r = radius / EARTH_RADIUS_KM
    lat = math.radians(center.lat)
    south = math.degrees(lat - r) - _MARGIN_DEG
    north = math.degrees(lat + r) + _MARGIN_DEG
    if north >= 90.0 or south <= -90.0:
        # The circle covers a pole: every longitude is reached.
        return BoundingBox(max(south, -90.0), min(north, 90.0), -180.0, 180.0)
    dlon = math.degrees(math.asin(min(1.0, math.sin(r) / math.cos(lat)))) + _MARGIN_DEG
    west, east = center.lon - dlon, center.lon + dlon
    if west < -180.0:
        west += 360.0
    if east > 180.0:
        east -= 360.0
    return BoundingBox(south, north, west, east)

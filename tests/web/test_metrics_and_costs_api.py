"""/metrics (scraped and parsed with prometheus_client's parser) and the costs admin API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import asyncpg
from prometheus_client.parser import text_string_to_metric_families
from quart.typing import TestClientProtocol as Client

from imago_fed.app import create_app
from tests.conftest import TEST_ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}
METRICS_TOKEN = "metrics-token-0123456789"


@asynccontextmanager
async def client_with(
    migrated_db: str, make_settings: Callable, **env: str
) -> AsyncIterator[Client]:
    settings = make_settings(migrated_db, IMAGO_FEDERATION_WORKERS_IN_SERVE="false", **env)
    app = create_app(settings, migrated_db)
    async with app.test_app() as test_app:
        yield test_app.test_client()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_need_the_token(migrated_db: str, make_settings: Callable) -> None:
    async with client_with(migrated_db, make_settings) as client:
        assert (await client.get("/metrics")).status_code == 404  # not configured: off
    async with client_with(migrated_db, make_settings, IMAGO_METRICS_TOKEN=METRICS_TOKEN) as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = {"Authorization": "Bearer " + METRICS_TOKEN[:-1]}
        assert (await client.get("/metrics", headers=wrong)).status_code == 401
        assert (await client.get("/metrics", headers=AUTH)).status_code == 401


async def test_metrics_count_requests_inbox_and_the_queue(
    migrated_db: str, make_settings: Callable
) -> None:
    conn = await asyncpg.connect(migrated_db)
    await conn.execute(
        "INSERT INTO deliveries (activity_id, inbox, host, body, state) VALUES"
        " ('a1', 'https://h.example/1', 'h.example', '{}', 'queued'),"
        " ('a2', 'https://h.example/2', 'h.example', '{}', 'queued'),"
        " ('a3', 'https://h.example/3', 'h.example', '{}', 'dead')"
    )
    await conn.close()
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with client_with(migrated_db, make_settings, IMAGO_METRICS_TOKEN=METRICS_TOKEN) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/groups/nobody")).status_code == 404
        refused = await client.post(
            "/inbox", data=b'{"type": "Follow"}',
            headers={"Content-Type": "application/activity+json"},
        )  # fmt: skip
        assert refused.status_code == 400  # no id, no signature: refused before anything
        response = await client.get("/metrics", headers=bearer)
        assert response.status_code == 200
        assert response.content_type.startswith("text/plain")
        found = samples(await response.get_data(as_text=True))

    assert found[("imago_http_requests_total", (("method", "GET"), ("route", "/healthz"),
                                               ("status", "200")))] == 1  # fmt: skip
    assert found[("imago_http_requests_total", (("method", "GET"), ("route", "/groups/<slug>"),
                                               ("status", "404")))] == 1  # fmt: skip
    assert found[("imago_http_request_duration_seconds_count", (("route", "/healthz"),))] == 1
    inbox = [v for (name, labels), v in found.items() if name == "imago_inbox_requests_total"]
    assert inbox == [1]
    assert ("imago_inbox_requests_total", (("outcome", "refused"), ("reason", "http_400"))) in found
    assert found[("imago_delivery_queue_depth", ())] == 2
    assert found[("imago_deliveries", (("state", "queued"),))] == 2
    assert found[("imago_deliveries", (("state", "dead"),))] == 1
    assert found[("imago_ballots", ())] == 0


async def test_costs_api_and_openapi(migrated_db: str, make_settings: Callable) -> None:
    async with client_with(migrated_db, make_settings) as client:
        bill = await client.post(
            "/api/v1/costs/bills",
            json={"label": "VPS", "kind": "hosting", "amount": "60", "period_months": 6,
                  "renews_on": "2099-06-01", "starts_on": "2026-01-01"},
            headers=AUTH,
        )  # fmt: skip
        assert bill.status_code == 201
        bill_id = (await bill.get_json())["id"]
        pledge = await client.post(
            "/api/v1/costs/pledges", json={"member": "ana", "amount": "2.50"}, headers=AUTH
        )
        assert pledge.status_code == 201 and (await pledge.get_json())["amount"] == 250
        gift = await client.post(
            "/api/v1/costs/contributions",
            json={"member": "bo", "amount": "100", "paid_on": "2026-02-01", "note": "thanks"},
            headers=AUTH,
        )
        assert gift.status_code == 201

        summary = await (await client.get("/api/v1/costs", headers=AUTH)).get_json()
        coverage = summary["coverage"]
        assert (coverage["monthly_cost"], coverage["monthly_pledged"]) == (1000, 250)
        assert coverage["pledged_ratio"] == 0.25 and coverage["runs_out_on"]
        assert [b["label"] for b in summary["bills"]] == ["VPS"]

        for body, field in [
            ({"label": "x", "kind": "yacht", "amount": "1", "period_months": 1,
              "renews_on": "2099-01-01"}, "kind"),
            ({"label": "x", "kind": "domain", "amount": "1", "period_months": 0,
              "renews_on": "2099-01-01"}, "period_months"),
            ({"label": "x", "kind": "domain", "amount": "1", "period_months": 1,
              "renews_on": "soon"}, "renews_on"),
            ({"label": "x", "kind": "domain", "amount": "1", "period_months": 1,
              "renews_on": "2099-01-01", "currency": "E1"}, "currency"),
        ]:  # fmt: skip
            refused = await client.post("/api/v1/costs/bills", json=body, headers=AUTH)
            assert refused.status_code == 422
            assert (await refused.get_json())["error"]["field"] == field

        assert (
            await client.delete(f"/api/v1/costs/bills/{bill_id}", headers=AUTH)
        ).status_code == 204
        again = await client.delete(f"/api/v1/costs/bills/{bill_id}", headers=AUTH)
        assert again.status_code == 404
        assert (await client.delete("/api/v1/costs/yachts/1", headers=AUTH)).status_code == 404
        assert (await client.get("/api/v1/costs")).status_code == 401
        ungoverned = await client.post(
            "/api/v1/costs/expenses", json={"label": "disk", "amount": "40"}, headers=AUTH
        )
        assert ungoverned.status_code == 409  # no group to decide it: nothing spent
        assert summary["expenses"] == []

        paths = (await (await client.get("/api/v1/openapi.json")).get_json())["paths"]
        for path in ("/api/v1/costs", "/api/v1/costs/bills", "/api/v1/costs/pledges",
                     "/api/v1/costs/contributions", "/api/v1/costs/expenses",
                     "/api/v1/costs/{which}/{row_id}"):  # fmt: skip
            assert path in paths


async def test_appservice_transactions_are_counted(
    migrated_db: str, make_settings: Callable
) -> None:
    hs_token = "hs-token-0123456789"
    async with client_with(
        migrated_db, make_settings, IMAGO_METRICS_TOKEN=METRICS_TOKEN,
        IMAGO_MATRIX_ENABLED="true", IMAGO_MATRIX_HOMESERVER_URL="http://127.0.0.1:9",
        IMAGO_MATRIX_SERVER_NAME="hs.test", IMAGO_MATRIX_AS_TOKEN="as-token-0123456789",
        IMAGO_MATRIX_HS_TOKEN=hs_token,
    ) as client:  # fmt: skip
        for _ in range(2):  # the second is a replay of the first
            response = await client.put(
                "/_matrix/app/v1/transactions/t1",
                json={"events": []},
                headers={"Authorization": f"Bearer {hs_token}"},
            )
            assert response.status_code == 200
        scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        found = samples(await scraped.get_data(as_text=True))
    assert found[("imago_appservice_transactions_total", (("outcome", "stored"),))] == 1
    assert found[("imago_appservice_transactions_total", (("outcome", "replayed"),))] == 1


async def test_a_bill_is_a_spend_decision_when_a_group_decides_the_costs(
    migrated_db: str, make_settings: Callable
) -> None:
    bill = {"label": "Domain", "kind": "domain", "amount": "15.00", "period_months": 12,
            "renews_on": "2027-06-01", "author": "@ann:hs.example"}  # fmt: skip
    async with client_with(migrated_db, make_settings, IMAGO_COSTS_GROUP="commons") as client:
        missing = await client.post("/api/v1/costs/bills", json=bill, headers=AUTH)
        assert missing.status_code == 404
        assert "commons" in (await missing.get_json())["error"]["message"]
        made = await client.post("/api/v1/groups", json={"slug": "commons", "name": "Commons"},
                                 headers=AUTH)  # fmt: skip
        assert made.status_code == 201
        proposed = await client.post("/api/v1/costs/bills", json=bill, headers=AUTH)
        assert proposed.status_code == 202, await proposed.get_data(as_text=True)
        body = await proposed.get_json()
        assert body["action"] == "spend" and body["state"] == "open"
        assert body["author"] == "@ann:hs.example"
        costs = await (await client.get("/api/v1/costs", headers=AUTH)).get_json()
        assert costs["bills"] == []  # recorded only once the group adopts it
        bad = await client.post("/api/v1/costs/bills", json={**bill, "amount": "x"}, headers=AUTH)
        assert bad.status_code == 422


async def test_spending_from_the_pool_is_a_spend_decision(
    migrated_db: str, make_settings: Callable
) -> None:
    disk = {"label": "Disk", "amount": "40", "note": "2 TB", "author": "@ann:hs.example"}
    async with client_with(migrated_db, make_settings, IMAGO_COSTS_GROUP="commons") as client:
        made = await client.post("/api/v1/groups", json={"slug": "commons", "name": "Commons"},
                                 headers=AUTH)  # fmt: skip
        assert made.status_code == 201
        proposed = await client.post("/api/v1/costs/expenses", json=disk, headers=AUTH)
        assert proposed.status_code == 202, await proposed.get_data(as_text=True)
        body = await proposed.get_json()
        assert body["action"] == "spend" and body["state"] == "open"
        assert body["title"] == "Spend 40.00 EUR from the pool on Disk"
        costs = await (await client.get("/api/v1/costs", headers=AUTH)).get_json()
        assert costs["expenses"] == []  # recorded only once the group adopts it
        bad = await client.post(
            "/api/v1/costs/expenses", json={**disk, "spent_on": "soon"}, headers=AUTH
        )
        assert bad.status_code == 422
        assert (await bad.get_json())["error"]["field"] == "spent_on"

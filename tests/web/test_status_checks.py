"""The dashboard's probes against real things: a certificate file, a loopback RDAP
server, an unreachable homeserver, the public summary, the charts' history."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path

import asyncpg
from quart.typing import TestClientProtocol as Client

from imago_fed.app import create_app
from imago_fed.web.probes import registrable_domain
from tests.support import free_port
from tests.web.status_world import rdap_responder, write_certificate
from tests.web.test_pages import signed_in


@asynccontextmanager
async def client_with(
    migrated_db: str, make_settings: Callable, **env: str
) -> AsyncIterator[Client]:
    settings = make_settings(migrated_db, IMAGO_FEDERATION_WORKERS_IN_SERVE="false", **env)
    app = create_app(settings, migrated_db)
    async with app.test_app() as test_app:
        yield test_app.test_client()


def level(page: str, key: str) -> str:
    match = re.search(rf'id="check-{key}".*?data-level="(\w+)"', page, re.S)
    assert match, f"no check {key} on the page"
    return match.group(1)


async def test_certificate_file_and_rdap_expiry(
    migrated_db: str, make_settings: Callable, tmp_path: Path
) -> None:
    cert = write_certificate(tmp_path / "cert.pem", days_left=200)
    today = date.today()
    expires = {"groups.test": today + timedelta(days=300)}
    with rdap_responder(expires) as rdap:
        async with client_with(
            migrated_db, make_settings,
            IMAGO_STATUS_CERTIFICATE=str(cert), IMAGO_STATUS_RDAP="true",
            IMAGO_STATUS_RDAP_URL=rdap,
        ) as client:  # fmt: skip
            await signed_in(client)
            page = await (await client.get("/admin/status")).get_data(as_text=True)
            assert (level(page, "certificate"), level(page, "domain")) == ("SUCCESS", "SUCCESS")
            assert "ends in 200 days" in page and "ends in 300 days" in page

            write_certificate(cert, days_left=30)
            expires["groups.test"] = today + timedelta(days=10)
            page = await (await client.get("/admin/status")).get_data(as_text=True)
            assert (level(page, "certificate"), level(page, "domain")) == ("WARNING", "ERROR")

            write_certificate(cert, days_left=10)
            del expires["groups.test"]  # the registry stops answering: a warning saying so
            page = await (await client.get("/admin/status")).get_data(as_text=True)
            assert (level(page, "certificate"), level(page, "domain")) == ("ERROR", "WARNING")
            assert "404" in page


async def test_unreachable_homeserver_is_an_error(
    migrated_db: str, make_settings: Callable
) -> None:
    async with client_with(
        migrated_db, make_settings,
        IMAGO_MATRIX_ENABLED="true", IMAGO_MATRIX_HOMESERVER_URL=f"http://127.0.0.1:{free_port()}",
        IMAGO_MATRIX_SERVER_NAME="hs.test", IMAGO_MATRIX_AS_TOKEN="as-token-0123456789",
        IMAGO_MATRIX_HS_TOKEN="hs-token-0123456789",
    ) as client:  # fmt: skip
        await signed_in(client)
        page = await (await client.get("/admin/status")).get_data(as_text=True)
        assert level(page, "homeserver") == "ERROR"
        assert re.search(r'id="overall".*?ERROR', page, re.S)


async def test_public_summary_when_enabled(migrated_db: str, make_settings: Callable) -> None:
    async with client_with(migrated_db, make_settings, IMAGO_STATUS_PUBLIC="true") as client:
        response = await client.get("/status")
        page = await response.get_data(as_text=True)
        assert response.status_code == 200
        assert level(page, "database") == "SUCCESS"
        assert "Reachable, schema at" not in page  # levels only: sentences stay for admins


async def test_hosting_paid_until_comes_from_the_costs(
    migrated_db: str, make_settings: Callable
) -> None:
    async with client_with(migrated_db, make_settings) as client:
        auth = {"Authorization": "Bearer test-admin-token-0123456789"}
        renews = (date.today() + timedelta(days=20)).isoformat()
        created = await client.post(
            "/api/v1/costs/bills",
            json={"label": "VPS", "kind": "hosting", "amount": "5", "period_months": 1,
                  "renews_on": renews},
            headers=auth,
        )  # fmt: skip
        assert created.status_code == 201
        await signed_in(client)
        page = await (await client.get("/admin/status")).get_data(as_text=True)
        assert level(page, "hosting") == "WARNING" and "ends in 20 days" in page


async def test_charts_rebuild_the_queue_history(migrated_db: str, make_settings: Callable) -> None:
    conn = await asyncpg.connect(migrated_db)
    try:
        await conn.execute(
            "INSERT INTO deliveries (activity_id, inbox, host, body, state, created_at,"
            " delivered_at) VALUES"
            " ('a1', 'https://h.example/i', 'h.example', '{}', 'delivered',"
            "  now() - interval '5 hours', now() - interval '3 hours'),"
            " ('a2', 'https://h.example/i', 'h.example', '{}', 'queued',"
            "  now() - interval '4 hours', NULL)"
        )
    finally:
        await conn.close()
    async with client_with(migrated_db, make_settings) as client:
        await signed_in(client)
        page = await (await client.get("/admin/status")).get_data(as_text=True)
        # the numbers behind the queue chart: 1, then 2 waiting, then 1 again
        table = re.search(r"<summary>Deliveries waiting[^<]*</summary><table>(.*?)</table>", page)
        assert table
        cells = re.findall(r"<td>(\d+)</td>", table.group(1))
        assert len(cells) >= 72 and cells[0] == "0"
        assert cells[-6:] == ["1", "2", "1", "1", "1", "1"]


def test_registrable_domain() -> None:
    assert registrable_domain("groups.example.org:8443") == "example.org"
    assert registrable_domain("example.org") == "example.org"


async def test_dead_deliveries_warn_for_a_week(migrated_db: str, make_settings: Callable) -> None:
    conn = await asyncpg.connect(migrated_db)
    try:
        await conn.execute(
            "INSERT INTO deliveries (activity_id, inbox, host, body, state, created_at) VALUES"
            " ('old', 'https://h.example/i', 'h.example', '{}', 'dead', now() - interval '8 days')"
        )
        async with client_with(migrated_db, make_settings) as client:
            await signed_in(client)
            page = await (await client.get("/admin/status")).get_data(as_text=True)
            assert level(page, "dead") == "SUCCESS"
            await conn.execute(
                "INSERT INTO deliveries (activity_id, inbox, host, body, state) VALUES"
                " ('new', 'https://h.example/i', 'h.example', '{}', 'dead')"
            )
            page = await (await client.get("/admin/status")).get_data(as_text=True)
            assert level(page, "dead") == "WARNING" and "1 deliveries were given up" in page
    finally:
        await conn.close()


async def test_certificate_read_by_a_tls_handshake(
    migrated_db: str, make_settings: Callable, tmp_path: Path
) -> None:
    """A TLS server on loopback stands for the public domain; its certificate has
    expired already, which the check reports instead of failing to connect."""
    cert = write_certificate(tmp_path / "c.pem", days_left=-3, key_path=tmp_path / "k.pem")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, tmp_path / "k.pem")

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        async with client_with(
            migrated_db, make_settings,
            IMAGO_INSTANCE_DOMAIN=f"localhost:{port}", IMAGO_STATUS_TLS_HANDSHAKE="true",
        ) as client:  # fmt: skip
            await signed_in(client)
            page = await (await client.get("/admin/status")).get_data(as_text=True)
            assert level(page, "certificate") == "ERROR"
            assert "The certificate ended" in page
    finally:
        server.close()
        await server.wait_closed()

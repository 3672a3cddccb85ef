"""The pages for people over a real database: sign-in, CSRF, home, group, status, costs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from quart.typing import TestClientProtocol as Client

from imago_fed.app import create_app
from imago_fed.store import follows
from tests.conftest import TEST_ADMIN_TOKEN

HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
async def client(migrated_db: str, make_settings) -> AsyncIterator[Client]:
    settings = make_settings(migrated_db, IMAGO_FEDERATION_WORKERS_IN_SERVE="false")
    app = create_app(settings, migrated_db)
    async with app.test_app() as test_app:
        yield test_app.test_client()


@pytest.fixture
async def db(migrated_db: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(migrated_db)
    yield conn
    await conn.close()


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "the form has no CSRF field"
    return match.group(1)


async def signed_in(client: Client) -> str:
    """Sign in through the form; the CSRF token of the new session."""
    form = await (await client.get("/admin/sign-in")).get_data(as_text=True)
    response = await client.post(
        "/admin/sign-in",
        form={"csrf": csrf_of(form), "token": TEST_ADMIN_TOKEN, "next": "/admin/costs"},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/admin/costs"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = await (await client.get("/admin/status")).get_data(as_text=True)
    return csrf_of(page)


async def test_admin_pages_need_a_session(client: Client) -> None:
    for path in ("/admin/status", "/admin/costs/"):
        response = await client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/admin/sign-in?next=")


async def test_wrong_token_and_missing_csrf_are_refused(client: Client) -> None:
    form = await (await client.get("/admin/sign-in")).get_data(as_text=True)
    wrong = await client.post("/admin/sign-in", form={"csrf": csrf_of(form), "token": "nope" * 5})
    assert wrong.status_code == 401
    assert "not the admin token" in await wrong.get_data(as_text=True)
    assert (await client.get("/admin/status")).status_code == 302

    no_csrf = await client.post("/admin/sign-in", form={"token": TEST_ADMIN_TOKEN})
    assert no_csrf.status_code == 403
    assert (await client.get("/admin/status")).status_code == 302

    csrf = await signed_in(client)
    refused = await client.post(
        "/admin/costs/pledges", form={"member": "ana", "amount": "5", "csrf": csrf + "x"}
    )
    assert refused.status_code == 403
    costs = await client.get("/admin/costs/")
    assert "ana" not in await costs.get_data(as_text=True)


async def test_sign_in_only_redirects_to_local_pages(client: Client) -> None:
    for target in ("//evil.example/x", "/\\evil.example", "https://evil.example/"):
        form = await (await client.get("/admin/sign-in")).get_data(as_text=True)
        response = await client.post(
            "/admin/sign-in",
            form={"csrf": csrf_of(form), "token": TEST_ADMIN_TOKEN, "next": target},
        )
        assert response.headers["Location"] == "/admin/status"


async def test_sign_out_ends_the_session(client: Client) -> None:
    csrf = await signed_in(client)
    assert (await client.post("/admin/sign-out", form={"csrf": csrf})).status_code == 303
    assert (await client.get("/admin/status")).status_code == 302


async def test_home_and_group_pages(client: Client) -> None:
    auth = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}
    created = await client.post(
        "/api/v1/groups",
        json={"slug": "gardeners", "name": "Gardeners <&>", "summary": "We grow things"},
        headers=auth,
    )
    assert created.status_code == 201
    home = await client.get("/")
    text = await home.get_data(as_text=True)
    assert home.status_code == 200 and home.content_type.startswith("text/html")
    assert "Gardeners &lt;&amp;&gt;" in text and "@gardeners@groups.test" in text

    page = await client.get("/groups/gardeners", headers=HTML)
    text = await page.get_data(as_text=True)
    assert page.status_code == 200 and "text/html" in page.content_type
    assert 'value="@gardeners@groups.test"' in text and "No proposal yet" in text
    assert "matrix.to" not in text  # Matrix is not enabled here

    for accept in ("application/activity+json", 'application/ld+json; profile="x"', ""):
        actor = await client.get("/groups/gardeners", headers={"Accept": accept})
        assert actor.status_code == 200
        assert (await actor.get_json())["type"] == "Group"


async def test_status_dashboard_shows_levels(client: Client, db: asyncpg.Connection) -> None:
    await signed_in(client)
    page = await (await client.get("/admin/status")).get_data(as_text=True)
    assert re.search(r'id="check-database".*?data-level="SUCCESS"', page, re.S)
    assert re.search(r'id="check-queue".*?data-level="SUCCESS"', page, re.S)
    assert page.count("<svg") == 3

    await db.execute(
        "INSERT INTO deliveries (activity_id, inbox, host, body, created_at)"
        " SELECT 'a' || n, 'https://h.example/inbox/' || n, 'h.example', '{}',"
        "        now() - interval '2 hours' FROM generate_series(1, 1000) n"
    )
    page = await (await client.get("/admin/status")).get_data(as_text=True)
    assert re.search(r'id="check-queue".*?data-level="WARNING"', page, re.S)
    assert "1000 deliveries waiting" in page


async def test_public_status_is_off_by_default(client: Client) -> None:
    assert (await client.get("/status")).status_code == 404


async def test_costs_pages_change_the_coverage(client: Client) -> None:
    csrf = await signed_in(client)
    added = await client.post(
        "/admin/costs/bills",
        form={
            "csrf": csrf, "label": "VPS", "kind": "hosting", "amount": "120.00",
            "currency": "EUR", "period_months": "12", "renews_on": "2099-01-01",
        },
    )  # fmt: skip
    assert added.status_code == 303
    page = await (await client.get("/admin/costs/")).get_data(as_text=True)
    assert re.search(r'id="monthly-cost">10.00<', page)
    assert re.search(r'id="pledged-ratio">0%<', page)

    pledged = await client.post(
        "/admin/costs/pledges",
        form={"csrf": csrf, "member": "ana", "amount": "5", "currency": "EUR"},
    )
    assert pledged.status_code == 303
    page = await (await client.get("/admin/costs/")).get_data(as_text=True)
    assert re.search(r'id="pledged-ratio">50%<', page)

    bad = await client.post(
        "/admin/costs/contributions",
        form={"csrf": csrf, "member": "ana", "amount": "1.234", "currency": "EUR"},
    )
    assert bad.status_code == 422
    assert "amount: must be a positive amount" in await bad.get_data(as_text=True)


async def test_group_page_lists_proposals_with_state_and_counts(
    client: Client, db: asyncpg.Connection
) -> None:
    auth = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}
    await client.post("/api/v1/groups", json={"slug": "garden", "name": "Garden"}, headers=auth)
    member = "https://social.example/users/m0"
    group_id = await db.fetchval("SELECT id FROM groups WHERE slug = 'garden'")
    await follows.add_follower(db, group_id, member, member + "#f", "accepted", datetime.now(UTC))
    proposed = await client.post(
        "/api/v1/groups/garden/proposals",
        json={"action": "moderate", "title": "Block <spam>.example",
              "params": {"block_domain": "spam.example"}, "duration_s": 3600},
        headers=auth,
    )  # fmt: skip
    assert proposed.status_code == 201, await proposed.get_data()
    proposal_id = (await proposed.get_json())["id"]
    voted = await client.post(
        f"/api/v1/proposals/{proposal_id}/votes",
        json={"voter": member, "ballot": [0]},
        headers=auth,
    )
    assert voted.status_code == 200

    page = await (await client.get("/groups/garden", headers=HTML)).get_data(as_text=True)
    assert "Block &lt;spam&gt;.example" in page
    assert re.search(r'class="proposal state-(open|adopted|executed)"', page)
    assert re.search(r"<td>for</td><td>1</td>", page)


async def test_a_browser_gets_a_not_found_page_and_programs_get_json(client: Client) -> None:
    # A dead link, a deleted group: a page for a person, with a way back home.
    for path in ("/no/such/page", "/groups/nobody-here"):
        page = await client.get(path, headers=HTML)
        assert page.status_code == 404, path
        assert page.headers["Content-Type"].startswith("text/html")
        body = await page.get_data(as_text=True)
        assert "<h1>Page not found</h1>" in body and path in body
        assert 'href="/"' in body
    # The path is shown escaped, never as markup.
    hostile = await client.get("/%3Cscript%3Ealert(1)%3C/script%3E", headers=HTML)
    assert hostile.status_code == 404
    assert "<script>" not in await hostile.get_data(as_text=True)
    # Programs keep the JSON shape: no Accept, a JSON Accept, the API and the appservice.
    for path, headers in (
        ("/no/such/page", {}),
        ("/groups/nobody-here", {"Accept": "application/activity+json"}),
        ("/no/such/page", {"Accept": "text/html, application/json"}),
        ("/api/v1/nothing", HTML),
    ):
        response = await client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert (await response.get_json())["error"]["code"] == "not_found", path


async def test_the_public_status_page_says_how_the_costs_are_covered(
    migrated_db: str, make_settings
) -> None:
    settings = make_settings(
        migrated_db, IMAGO_FEDERATION_WORKERS_IN_SERVE="false", IMAGO_STATUS_PUBLIC="true"
    )
    app = create_app(settings, migrated_db)
    auth = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}
    async with app.test_app() as test_app:
        client = test_app.test_client()
        before = await (await client.get("/status", headers=HTML)).get_data(as_text=True)
        assert "No bill is recorded" in before
        bill = {"label": "VPS", "kind": "hosting", "amount": "20.00", "period_months": 1,
                "renews_on": "2027-01-01"}  # fmt: skip
        added = await client.post("/api/v1/costs/bills", json=bill, headers=auth)
        assert added.status_code == 201, await added.get_data(as_text=True)
        pledge = {"member": "ana", "amount": "5.00"}
        assert (
            await client.post("/api/v1/costs/pledges", json=pledge, headers=auth)
        ).status_code == 201
        page = await (await client.get("/status", headers=HTML)).get_data(as_text=True)
        assert "Costs 20.00 EUR a month; 5.00 EUR a month is pledged (25%)" in page


async def test_the_costs_page_proposes_a_bill_when_a_group_decides_them(
    migrated_db: str, make_settings
) -> None:
    settings = make_settings(
        migrated_db, IMAGO_FEDERATION_WORKERS_IN_SERVE="false", IMAGO_COSTS_GROUP="commons"
    )
    app = create_app(settings, migrated_db)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        auth = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}
        made = await client.post("/api/v1/groups", json={"slug": "commons", "name": "Commons"},
                                 headers=auth)  # fmt: skip
        assert made.status_code == 201
        csrf = await signed_in(client)
        posted = await client.post(
            "/admin/costs/bills",
            form={"csrf": csrf, "label": "VPS", "kind": "hosting", "amount": "9.00",
                  "period_months": "1", "renews_on": "2027-01-01"},
        )  # fmt: skip
        assert posted.status_code == 303
        assert "proposed=" in posted.headers["Location"]
        where = posted.headers["Location"].split("#")[0]  # a browser keeps the fragment
        page = await (await client.get(where)).get_data(as_text=True)
        assert "Bills are decisions of the group" in page
        assert 'id="bill-proposed"' in page and "Pay VPS: 9.00 EUR" in page and "is open" in page
        assert "No bill yet." in page
        stale = await client.get("/admin/costs/?proposed=999")
        assert stale.status_code == 200


async def test_the_costs_page_proposes_spending_from_the_pool(
    migrated_db: str, make_settings
) -> None:
    plain = make_settings(migrated_db, IMAGO_FEDERATION_WORKERS_IN_SERVE="false")
    async with create_app(plain, migrated_db).test_app() as test_app:
        client = test_app.test_client()
        csrf = await signed_in(client)
        page = await (await client.get("/admin/costs/")).get_data(as_text=True)
        assert "needs a group to decide it" in page and 'id="add-expense"' in page
        refused = await client.post(
            "/admin/costs/expenses", form={"csrf": csrf, "label": "Disk", "amount": "40"}
        )
        assert refused.status_code == 409
        assert 'id="expenses-error"' in await refused.get_data(as_text=True)

    settings = make_settings(
        migrated_db, IMAGO_FEDERATION_WORKERS_IN_SERVE="false", IMAGO_COSTS_GROUP="commons"
    )
    async with create_app(settings, migrated_db).test_app() as test_app:
        client = test_app.test_client()
        auth = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}
        made = await client.post("/api/v1/groups", json={"slug": "commons", "name": "Commons"},
                                 headers=auth)  # fmt: skip
        assert made.status_code == 201
        csrf = await signed_in(client)
        no_csrf = await client.post("/admin/costs/expenses", form={"label": "Disk", "amount": "4"})
        assert no_csrf.status_code == 403
        posted = await client.post(
            "/admin/costs/expenses",
            form={"csrf": csrf, "label": "Disk", "amount": "40.00", "note": "2 TB"},
        )
        assert posted.status_code == 303
        assert posted.headers["Location"].endswith("#expenses")
        page = await (await client.get(posted.headers["Location"].split("#")[0])).get_data(
            as_text=True
        )
        assert 'id="expense-proposed"' in page and 'id="bill-proposed"' not in page
        assert "Spend 40.00 EUR from the pool on Disk" in page and "is open" in page
        assert "Nothing spent from the pool yet." in page

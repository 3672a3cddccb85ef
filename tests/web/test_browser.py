"""The pages in a real browser, against a real ``imago-fed serve`` and a real Synapse.

One server for the module (starting one costs seconds): it watches a
certificate file, bridges to a Synapse we can stop, and serves /metrics on
a second address. Each test breaks one thing and reads the dashboard again.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.interop.instance import TOKEN, Instance
from tests.matrix_hs.synapse import Synapse, make_registration
from tests.pg import scratch_database
from tests.support import free_port
from tests.web.browser import chromium
from tests.web.status_world import write_certificate


@dataclass
class World:
    server: Instance
    homeserver: Synapse
    certificate: Path
    dsn: str
    metrics_url: str


@pytest.fixture(scope="module")
async def world(
    pg_admin_dsn: str, synapse_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    folder = tmp_path_factory.mktemp("browser")
    certificate = write_certificate(folder / "public-cert.pem", days_left=200)
    metrics_port = free_port()
    async with scratch_database(pg_admin_dsn, prefix="imago_browser") as dsn:
        server = Instance("browser", folder, dsn)
        registration = make_registration(server.base_url)
        with synapse_factory(registration, name="hs-browser") as homeserver:
            server.env.update(
                IMAGO_MATRIX_ENABLED="true",
                IMAGO_MATRIX_HOMESERVER_URL=homeserver.base_url,
                IMAGO_MATRIX_SERVER_NAME=homeserver.server_name,
                IMAGO_MATRIX_AS_TOKEN=registration["as_token"],
                IMAGO_MATRIX_HS_TOKEN=registration["hs_token"],
                IMAGO_STATUS_CERTIFICATE=str(certificate),
                IMAGO_METRICS_LISTEN=f"127.0.0.1:{metrics_port}",
                # The queue this test fills must stay queued: no delivery worker.
                IMAGO_FEDERATION_WORKERS_IN_SERVE="false",
            )
            server.start()
            try:
                yield World(
                    server, homeserver, certificate, dsn, f"http://127.0.0.1:{metrics_port}"
                )
            finally:
                server.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path / "profile") as driver:
        yield driver


def navigate(browser: Any, by: str, selector: str) -> None:
    """Click what leads to another page, and wait until the old page is gone
    (reading the next page before it replaced the old one reads stale elements)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.wait import WebDriverWait

    page = browser.find_element("tag name", "html")
    browser.find_element(by, selector).click()

    def gone(_: Any) -> bool:
        # Chromium reports a node of a replaced document either as stale or, while
        # the new document is being attached, as "does not belong to the document":
        # both mean the old page is gone.
        try:
            page.is_enabled()
        except WebDriverException:
            return True
        return False

    WebDriverWait(browser, 20).until(gone)


def sign_in(browser: Any, base: str, token: str = TOKEN) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{base}/admin/status")
    assert "/admin/sign-in" in browser.current_url
    browser.find_element(By.ID, "token").send_keys(token)
    navigate(browser, By.CSS_SELECTOR, "form.stacked button[type=submit]")


def level(browser: Any, key: str) -> str:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, f"#check-{key} .badge").get_attribute("data-level")


def test_a_wrong_token_is_refused(world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, world.server.base_url, token="not-the-admin-token-at-all")
    assert "not the admin token" in browser.find_element(By.ID, "sign-in-error").text
    browser.get(f"{world.server.base_url}/admin/status")
    assert "/admin/sign-in" in browser.current_url


async def test_levels_change_when_faults_are_injected(world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    base = world.server.base_url
    sign_in(browser, base)
    assert browser.current_url.endswith("/admin/status")
    assert [level(browser, k) for k in ("database", "queue", "homeserver", "certificate")] == [
        "SUCCESS"
    ] * 4
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure.chart svg")) == 3

    # A certificate about to expire.
    write_certificate(world.certificate, days_left=10)
    browser.refresh()
    assert level(browser, "certificate") == "ERROR"
    assert "ends in 10 days" in browser.find_element(By.ID, "check-certificate").text

    # The queue filled (to a loopback port nothing listens on; no worker runs).
    conn = await asyncpg.connect(world.dsn)
    try:
        await conn.execute(
            "INSERT INTO deliveries (activity_id, inbox, host, body, created_at)"
            " SELECT 'q' || n, 'http://127.0.0.1:9/inbox/' || n, '127.0.0.1:9', '{}',"
            "        now() - interval '90 minutes' FROM generate_series(1, 1500) n"
        )
    finally:
        await conn.close()
    browser.refresh()
    assert level(browser, "queue") == "WARNING"
    assert "1500 deliveries waiting" in browser.find_element(By.ID, "check-queue").text

    # The Matrix homeserver unreachable.
    await world.homeserver.astop()
    browser.refresh()
    assert level(browser, "homeserver") == "ERROR"
    assert "ERROR" in browser.find_element(By.ID, "overall").text


def test_a_bill_and_a_pledge_change_the_coverage(world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    base = world.server.base_url
    sign_in(browser, base)
    browser.get(f"{base}/admin/costs/")

    browser.find_element(By.XPATH, "//summary[normalize-space()='Add a bill']").click()
    browser.find_element(By.ID, "bill-label").send_keys("VPS")
    browser.find_element(By.ID, "bill-amount").send_keys("240")
    browser.execute_script("document.getElementById('bill-renews').value = '2099-01-01'")
    navigate(browser, By.CSS_SELECTOR, "#add-bill button[type=submit]")
    assert browser.find_element(By.ID, "monthly-cost").text == "20.00"
    assert browser.find_element(By.ID, "pledged-ratio").text == "0%"
    assert "VPS" in browser.find_element(By.ID, "bills").find_element(By.XPATH, "..").text

    browser.find_element(By.XPATH, "//summary[normalize-space()='Add a pledge']").click()
    browser.find_element(By.ID, "pledge-member").send_keys("ana")
    browser.find_element(By.ID, "pledge-amount").send_keys("15")
    navigate(browser, By.CSS_SELECTOR, "#add-pledge button[type=submit]")
    assert browser.find_element(By.ID, "pledged-ratio").text == "75%"
    assert browser.find_element(By.ID, "monthly-pledged").text == "15.00"

    # The dashboard reads the same numbers.
    browser.get(f"{base}/admin/status")
    assert "75%" in browser.find_element(By.ID, "coverage-summary").text


def test_a_form_without_its_csrf_token_is_refused(world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    base = world.server.base_url
    sign_in(browser, base)
    browser.get(f"{base}/admin/costs/")
    browser.find_element(By.XPATH, "//summary[normalize-space()='Add a pledge']").click()
    browser.find_element(By.ID, "pledge-member").send_keys("mallory")
    browser.find_element(By.ID, "pledge-amount").send_keys("1")
    browser.execute_script("document.querySelector('#add-pledge input[name=csrf]').remove()")
    navigate(browser, By.CSS_SELECTOR, "#add-pledge button[type=submit]")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Form refused"
    browser.get(f"{base}/admin/costs/")
    assert "mallory" not in browser.find_element(By.ID, "pledges").find_element(By.XPATH, "..").text


async def test_group_page_and_home_in_the_browser(world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    await world.server.create_group("weavers", summary="We weave")
    base = world.server.base_url
    browser.get(f"{base}/")
    navigate(browser, By.LINK_TEXT, "weavers")
    assert browser.find_element(By.TAG_NAME, "h1").text == "weavers"
    handle = browser.find_element(By.ID, "handle").get_attribute("value")
    assert handle == f"@weavers@{world.server.domain}"
    assert browser.find_element(By.CSS_SELECTOR, "button[data-copy]").is_displayed()
    link = browser.find_element(By.PARTIAL_LINK_TEXT, "space in Matrix").get_attribute("href")
    assert link.startswith("https://matrix.to/#/%23_imago_weavers")


async def test_pages_work_without_javascript(world: World, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    await world.server.create_group("spinners")
    with chromium(tmp_path / "nojs", javascript=False) as browser:
        base = world.server.base_url
        browser.get(f"{base}/groups/spinners")
        assert not browser.find_element(By.CSS_SELECTOR, "button[data-copy]").is_displayed()
        assert browser.find_element(By.ID, "handle").get_attribute("readonly")
        sign_in(browser, base)
        browser.get(f"{base}/admin/costs/")
        browser.find_element(
            By.XPATH, "//summary[normalize-space()='Record a contribution']"
        ).click()
        browser.find_element(By.ID, "contribution-member").send_keys("bo")
        browser.find_element(By.ID, "contribution-amount").send_keys("12.50")
        navigate(browser, By.CSS_SELECTOR, "#add-contribution button[type=submit]")
        assert (
            "bo" in browser.find_element(By.ID, "contributions").find_element(By.XPATH, "..").text
        )
        navigate(browser, By.XPATH, "//button[normalize-space()='Sign out']")
        assert "/admin/sign-in" in browser.current_url


def test_metrics_on_their_own_address(world: World) -> None:
    scraped = httpx.get(f"{world.metrics_url}/metrics", timeout=10)
    assert scraped.status_code == 200
    names = {family.name for family in text_string_to_metric_families(scraped.text)}
    assert {"imago_http_requests", "imago_delivery_queue_depth", "imago_ballots"} <= names
    # Nothing else answers there, and /metrics is not public on the main address.
    assert httpx.get(f"{world.metrics_url}/", timeout=10).status_code == 404
    assert httpx.get(f"{world.server.base_url}/metrics", timeout=10).status_code == 404
    assert httpx.get(f"{world.server.base_url}/healthz", timeout=10).status_code == 200
    again = httpx.get(f"{world.metrics_url}/metrics", timeout=10).text
    assert re.search(r'imago_http_requests_total\{[^}]*route="/healthz"', again)

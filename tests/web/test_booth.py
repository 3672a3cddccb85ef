"""The voting booth in headless Chromium, against a real ``imago-fed serve``.

Voters type their credential (or follow a link carrying it in the fragment),
fill the form, and the page encrypts, proves and signs in JavaScript. The
ballots land through the same endpoint as the command line's; the trustees
decrypt with the CLI; the board must then pass our verifier and
``belenios-tool election verify``, with the result the same picks give
through ``imago-fed ballot``.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from imago_fed.commands.ballot import encrypt_ballot
from imago_fed.domain.governance.service import default_table
from imago_fed.domain.governance.table import parse_changes
from imago_fed.domain.voting.crypto import Election, generate_credential, verify_archive_bytes
from imago_fed.domain.voting.crypto.audit import check_opening
from imago_fed.domain.voting.elections import choices_for
from imago_fed.store import follows
from imago_fed.store.governance import PgGovernanceStore
from tests.domain.voting.crypto.belenios import ToolElection, tool_path
from tests.interop.instance import Instance, running_instance
from tests.web.browser import chromium
from tests.web.test_elections import decrypt, keygen

MEMBERS = [f"https://social.example/users/v{i}" for i in range(3)]
WAIT_S = 60


def rule(method: str) -> dict[str, Any]:
    return {"protocol": "democracy", "method": method, "secret": True, "quorum": "1/3",
            "duration_s": 3600}  # fmt: skip


@dataclass
class Vote:
    """An open election on the server: its id, uuid, voters' credentials, trustee key."""

    server: Instance
    id: int
    uuid: str
    credentials: dict[str, str]
    private_key: Path

    @property
    def booth(self) -> str:
        return f"{self.server.base_url}/elections/{self.id}/booth"

    def params(self) -> dict[str, Any]:
        return httpx.get(f"{self.server.base_url}/elections/{self.id}", timeout=10).json()

    def on_board(self, tracker: str) -> str:
        found = httpx.get(
            f"{self.server.base_url}/elections/{self.id}/ballots", params={"tracker": tracker},
            timeout=10,
        )  # fmt: skip
        return found.json()["lookup"]["status"]

    async def tally(self, folder: Path) -> tuple[list[list[int]], bytes]:
        """Close, decrypt with the trustee's CLI, return the result and the archive."""
        closed = await self.server.api("POST", f"/elections/{self.id}/close")
        assert closed.status_code == 200, closed.text
        board = folder / f"board-{self.id}.bel"
        base = self.server.base_url
        board.write_bytes(httpx.get(f"{base}/elections/{self.id}/archive", timeout=30).content)
        share = decrypt(board, self.private_key, 1)
        done = await self.server.api(
            "POST", f"/elections/{self.id}/trustees/1/decryption", content=share
        )
        assert done.status_code == 200 and done.json()["state"] == "done", done.text
        archive = httpx.get(f"{base}/elections/{self.id}/archive", timeout=30).content
        return done.json()["result"], archive


@pytest.fixture(scope="module")
async def server(
    pg_admin_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Instance]:
    folder = tmp_path_factory.mktemp("booth")
    async with running_instance(
        "booth", folder, pg_admin_dsn, IMAGO_FEDERATION_WORKERS_IN_SERVE="false"
    ) as instance:
        yield instance


async def open_vote(server: Instance, slug: str, method: str, options: list[str],
                    folder: Path) -> Vote:  # fmt: skip
    """A group whose members vote secretly by ``method`` on a proposal, its box open."""
    await server.create_group(slug)
    pool = await asyncpg.create_pool(server.dsn, min_size=1, max_size=2)
    try:
        group_id = await pool.fetchval("SELECT id FROM groups WHERE slug = $1", slug)
        now = datetime.now(UTC)
        for member in MEMBERS:
            await follows.add_follower(pool, group_id, member, member + "#f", "accepted", now)
        store = PgGovernanceStore(pool)
        table = (await store.table(group_id) or default_table()).amended(
            parse_changes({"spend": rule(method)})
        )
        await store.save_table(group_id, table, now)
    finally:
        await pool.close()
    body = {"action": "spend", "title": f"Which tool ({method})?", "options": options}
    proposal = await server.api("POST", f"/groups/{slug}/proposals", json=body)
    assert proposal.status_code == 201, proposal.text
    setup = await server.api(
        "POST", f"/proposals/{proposal.json()['id']}/election",
        json={"trustees": MEMBERS[:1], "deliver": False},
    )  # fmt: skip
    assert setup.status_code == 201, setup.text
    eid = setup.json()["id"]
    private, public = keygen(folder / f"trustee-{slug}")
    opened = await server.api(
        "POST", f"/elections/{eid}/trustees/1/key", content=public.read_text()
    )
    assert opened.json()["state"] == "open", opened.text
    return Vote(server, eid, setup.json()["uuid"], setup.json()["credentials"], private)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path / "profile") as driver:
        yield driver


def wait_shown(browser: Any, element_id: str) -> Any:
    from selenium.webdriver.support.wait import WebDriverWait

    return WebDriverWait(browser, WAIT_S).until(
        lambda b: (e := b.find_element("id", element_id)).is_displayed() and e
    )


def wait_text(browser: Any, element_id: str, fragment: str) -> str:
    from selenium.webdriver.support.wait import WebDriverWait

    def found(b: Any) -> str | bool:
        text = b.find_element("id", element_id).text
        return text if fragment in text else False

    return WebDriverWait(browser, WAIT_S).until(found)


def fill(browser: Any, method: str, picks: list[int]) -> None:
    """Answer the form the way a voter taps it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select

    if method == "majority_judgment":
        for i, grade in enumerate(picks):
            browser.find_element(
                By.CSS_SELECTOR, f'input[name="grade-{i}"][value="{grade}"]'
            ).click()
    elif method == "schulze":
        for i, rank in enumerate(picks):
            Select(browser.find_element(By.NAME, f"rank-{i}")).select_by_value(str(rank))
    else:
        for index in picks:
            browser.find_element(By.CSS_SELECTOR, f'input[name="pick"][value="{index}"]').click()


def encrypt(browser: Any) -> str:
    """Press Encrypt; the tracker the page shows (and the time it took, in ms)."""
    browser.find_element("id", "encrypt").click()
    wait_shown(browser, "sealed")
    return browser.find_element("id", "tracker").text


def vote_in_booth(browser: Any, vote: Vote, member: str, method: str, picks: list[int],
                  *, by_link: bool = False) -> str:  # fmt: skip
    credential = vote.credentials[member]
    if by_link:
        browser.get(f"{vote.booth}#{credential}")
        assert "#" not in browser.current_url  # the page wiped it from the address bar
        assert browser.find_element("id", "credential").get_attribute("value") == credential
    else:
        browser.get(vote.booth)
        browser.find_element("id", "credential").send_keys(credential)
    fill(browser, method, picks)
    tracker = encrypt(browser)
    browser.find_element("id", "cast").click()
    wait_shown(browser, "done")
    cast = browser.find_element("id", "cast-tracker").text
    assert cast == tracker
    return cast


def tool_verifies(archive: bytes, uuid: str, folder: Path) -> None:
    folder.mkdir()
    election = ToolElection(folder, tool_path(), uuid=uuid)
    election.archive.write_bytes(archive)
    assert "all checks passed" in election.verify()


def plaintext_totals(method: str, options: list[str], ballots: list[list[int]]) -> list[list[int]]:
    plains = [choices_for(method, options, b) for b in ballots]
    return [[sum(col) for col in zip(*rows, strict=True)] for rows in zip(*plains, strict=True)]


async def test_majority_judgment_through_the_booth_with_an_audit(
    server: Instance, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    options = ["saw", "drill", "plane", "lathe", "vice"]
    vote = await open_vote(server, "booth_mj", "majority_judgment", options, tmp_path)
    grades = {MEMBERS[0]: [1, 2, 3, 4, 5], MEMBERS[1]: [2, 2, 1, 5, 3], MEMBERS[2]: [3, 1, 1, 2, 4]}

    # Voter 0 arrives by link, audits once, then casts a fresh ballot.
    browser.get(f"{vote.booth}#{vote.credentials[MEMBERS[0]]}")
    assert "#" not in browser.current_url
    fill(browser, "majority_judgment", grades[MEMBERS[0]])
    audited = encrypt(browser)
    browser_ms = int(browser.find_element(By.ID, "tracker").get_attribute("data-ms"))
    setup_ms = int(browser.find_element(By.ID, "booth").get_attribute("data-setup-ms"))
    browser.find_element(By.ID, "audit").click()
    wait_shown(browser, "audited")
    status = browser.find_element(By.ID, "audit-status")
    assert status.get_attribute("data-ok") == "true"
    record = json.loads(browser.find_element(By.ID, "audit-data").get_attribute("value"))
    assert browser.find_element(By.ID, "audited-tracker").text == audited
    election = Election.parse(vote.params()["election"])
    raw = json.dumps(record["ballot"], separators=(",", ":"))
    assert check_opening(election, raw, record["opening"]) == []  # Python agrees
    assert record["opening"]["plaintexts"] == choices_for(
        "majority_judgment", options, grades[MEMBERS[0]]
    )
    # ... and so does the command line, on another machine, from the saved record
    saved = tmp_path / "audit.json"
    saved.write_text(json.dumps(record))
    params_url = f"{server.base_url}/elections/{vote.id}"
    assert f"ballot-audit --election {params_url}" in browser.find_element(By.ID, "audited").text
    checked = server.cli("ballot-audit", "--election", params_url, str(saved))
    assert checked.returncode == 0 and "audit checks" in checked.stdout, checked.stderr
    record["opening"]["plaintexts"][0] = record["opening"]["plaintexts"][0][::-1]
    saved.write_text(json.dumps(record))
    lying = server.cli("ballot-audit", "--election", params_url, str(saved))
    assert lying.returncode == 1 and "does not match" in lying.stderr
    fresh = wait_text(browser, "status", "ms")  # re-encrypted afresh
    assert fresh and browser.find_element(By.ID, "sealed").is_displayed()
    cast_tracker = browser.find_element(By.ID, "tracker").text
    assert cast_tracker != audited
    browser.find_element(By.ID, "cast").click()
    wait_shown(browser, "done")
    assert browser.find_element(By.ID, "cast-tracker").text == cast_tracker
    assert vote.on_board(cast_tracker) == "counted"
    assert vote.on_board(audited) == "not_found"  # the audited ballot was never cast
    # ... and the box refuses it, whoever sends it and however it is spelled
    replayed = httpx.post(
        f"{server.base_url}/elections/{vote.id}/ballots",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    assert replayed.status_code == 409 and "audited" in replayed.text, replayed.text
    assert vote.on_board(audited) == "not_found"
    assert browser.find_element(By.ID, "credential").get_attribute("value") == ""
    board_link = browser.find_element(By.ID, "board-link").get_attribute("href")
    assert "/trackers?tracker=" in board_link

    # Voter 1 types the credential; voter 2 uses the command line.
    vote_in_booth(browser, vote, MEMBERS[1], "majority_judgment", grades[MEMBERS[1]])
    started = time.perf_counter()
    cli_raw = encrypt_ballot(vote.params(), vote.credentials[MEMBERS[2]], grades[MEMBERS[2]])
    cli_ms = (time.perf_counter() - started) * 1000
    posted = httpx.post(f"{server.base_url}/elections/{vote.id}/ballots", content=cli_raw)
    assert posted.status_code == 201, posted.text
    print(
        f"\n5-option MJ ballot: browser {browser_ms} ms (+ {setup_ms} ms of tables at "
        f"page load), CLI {cli_ms:.0f} ms"
    )
    assert browser_ms + setup_ms < 3000

    result, archive = await vote.tally(tmp_path)
    assert result == plaintext_totals("majority_judgment", options, list(grades.values()))
    report = verify_archive_bytes(archive)
    assert report.ok and report.ballots == 3
    tool_verifies(archive, vote.uuid, tmp_path / "tool-mj")


async def test_schulze_and_approval_ballots_count_as_the_cli_s(
    server: Instance, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    options = ["saw", "drill", "plane"]
    vote = await open_vote(server, "booth_schulze", "schulze", options, tmp_path)
    ranks = {MEMBERS[0]: [2, 1, 0], MEMBERS[1]: [1, 1, 2]}
    for member, picks in ranks.items():
        vote_in_booth(browser, vote, member, "schulze", picks, by_link=member == MEMBERS[0])
    cli = [3, 1, 2]
    raw = encrypt_ballot(vote.params(), vote.credentials[MEMBERS[2]], cli)
    assert (
        httpx.post(f"{server.base_url}/elections/{vote.id}/ballots", content=raw).status_code == 201
    )
    result, archive = await vote.tally(tmp_path)
    assert result == plaintext_totals("schulze", options, [*ranks.values(), cli])
    assert verify_archive_bytes(archive).ok
    tool_verifies(archive, vote.uuid, tmp_path / "tool-schulze")
    browser.get(vote.booth)  # the box is closed: the booth says so and offers no form
    assert "not open" in browser.find_element(By.ID, "closed").text
    assert not browser.find_elements(By.ID, "booth")

    approval = await open_vote(server, "booth_approval", "approval", options, tmp_path)
    vote_in_booth(browser, approval, MEMBERS[0], "approval", [0, 2])
    vote_in_booth(browser, approval, MEMBERS[1], "approval", [])
    result, archive = await approval.tally(tmp_path)
    assert result == [[1, 0, 1]]
    assert verify_archive_bytes(archive).ok


async def test_a_wrong_credential_is_refused_clearly(
    server: Instance, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    vote = await open_vote(server, "booth_plurality", "plurality", ["saw", "drill"], tmp_path)
    browser.get(vote.booth)
    browser.find_element(By.ID, "credential").send_keys("not-a-credential")
    fill(browser, "plurality", [1])
    browser.find_element(By.ID, "encrypt").click()
    assert "not a valid credential" in wait_text(browser, "status", "valid")
    assert not browser.find_element(By.ID, "sealed").is_displayed()

    # Well formed, but not one of this election's: the ballot box refuses it.
    field = browser.find_element(By.ID, "credential")
    field.clear()
    field.send_keys(generate_credential())
    encrypt(browser)
    browser.find_element(By.ID, "cast").click()
    message = wait_text(browser, "status", "credential")
    assert "not one of this election's" in message
    assert not browser.find_element(By.ID, "done").is_displayed()
    ballots = httpx.get(f"{server.base_url}/elections/{vote.id}/ballots", timeout=10).json()
    assert ballots["ballots"] == []


async def test_on_a_phone_the_booth_fits_and_votes(
    server: Instance, browser: Any, tmp_path: Path
) -> None:
    options = ["a saw with a long name", "drill", "plane", "lathe", "vice"]
    vote = await open_vote(server, "booth_phone", "majority_judgment", options, tmp_path)
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": True},
    )
    browser.get(vote.booth)
    overflow = "return document.documentElement.scrollWidth - window.innerWidth"
    assert browser.execute_script(overflow) <= 0  # no sideways scrolling
    tracker = vote_in_booth(browser, vote, MEMBERS[0], "majority_judgment", [5, 4, 3, 2, 1])
    assert browser.execute_script(overflow) <= 0  # the long tracker wraps
    assert vote.on_board(tracker) == "counted"


async def test_without_javascript_the_booth_says_why(server: Instance, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    vote = await open_vote(server, "booth_nojs", "plurality", ["saw", "drill"], tmp_path)
    with chromium(tmp_path / "nojs", javascript=False) as browser:
        browser.get(vote.booth)
        assert "needs JavaScript" in browser.find_element(By.ID, "noscript").text
        assert not browser.find_element(By.ID, "booth").is_displayed()

    french = httpx.get(vote.booth, headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in french.text and "Isoloir" in french.text
    assert "script-src 'self'" in french.headers["Content-Security-Policy"]
    english = httpx.get(vote.booth, headers={"Accept-Language": "de, en;q=0.5"})
    assert '<html lang="en">' in english.text and "Voting booth" in english.text

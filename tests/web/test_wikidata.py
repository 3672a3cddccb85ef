"""The live WikiData lookup against a loopback server answering WikiData's shape:
labels and P625, missing items, the deadline, the size cap, the cache, and
errors that say what went wrong. Never the internet."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from imago_fed.config import load_settings
from imago_fed.domain.errors import UpstreamFailed
from imago_fed.domain.graph.places import Place
from imago_fed.web.wikidata import WikidataApi, wikidata_lookup
from tests.wikidata_server import (
    BROKEN_QID,
    FAILING_QID,
    HUGE_QID,
    SLOW_QID,
    entity,
    fake_wikidata,
    statement,
)

TOWN, MOON_CRATER, TOPIC, NOWHERE = "Q990000010", "Q990000011", "Q990000012", "Q990000013"


def stock(fake) -> None:  # type: ignore[no-untyped-def]
    fake.add(
        entity(
            TOWN,
            {"fr": "Villeurbanne", "de": "Villeurbanne (Rhône)"},
            [
                statement(TOWN, 1.0, 1.0, rank="deprecated"),
                statement(TOWN, 45.7667, 4.8803),
                statement(TOWN, 45.77, 4.88, rank="preferred"),
            ],
        )
    )
    fake.add(
        entity(MOON_CRATER, {"en": "Tycho"}, [statement(MOON_CRATER, -43.3, -11.2, globe="Q405")])
    )
    fake.add(entity(TOPIC, {"en": "community gardening"}))


async def test_a_place_is_its_label_and_preferred_coordinates() -> None:
    async with fake_wikidata() as fake:
        stock(fake)
        api = WikidataApi(fake.url, timeout=2)
        place = await api.place(TOWN)
        assert place == Place(45.77, 4.88, "Villeurbanne", TOWN)  # fr when no en; preferred rank
        (asked,) = fake.asked
        assert asked["action"] == "wbgetentities" and asked["ids"] == TOWN
        assert asked["format"] == "json" and "claims" in asked["props"]
        assert asked["user-agent"].startswith("imago-fed")


async def test_no_item_no_point_or_another_globe_is_none() -> None:
    async with fake_wikidata() as fake:
        stock(fake)
        api = WikidataApi(fake.url, timeout=2)
        assert await api.place(NOWHERE) is None  # {"missing": ""}
        assert await api.place(TOPIC) is None  # no P625
        assert await api.place(MOON_CRATER) is None  # on the Moon
        assert await api.theme(TOPIC) == "community gardening"
        assert await api.theme(NOWHERE) is None


async def test_answers_are_cached_found_or_not_and_the_cache_is_bounded() -> None:
    async with fake_wikidata() as fake:
        stock(fake)
        api = WikidataApi(fake.url, timeout=2, cache_size=2)
        for _ in range(3):
            assert await api.place(TOWN) is not None
            assert await api.place(NOWHERE) is None
        assert api.requests == 2 and len(fake.asked) == 2
        await api.theme(TOPIC)  # evicts the oldest (TOWN)
        await api.place(TOWN)
        assert len(fake.asked) == 4


async def test_a_slow_answer_fails_after_the_deadline_and_is_not_cached() -> None:
    async with fake_wikidata() as fake:
        fake.slow_seconds = 3.0
        api = WikidataApi(fake.url, timeout=0.3)
        with pytest.raises(UpstreamFailed, match=r"did not answer about Q990000001 within 0.3 s"):
            await api.place(SLOW_QID)
        with pytest.raises(UpstreamFailed):
            await api.place(SLOW_QID)
        assert len(fake.asked) == 2


async def test_an_oversized_broken_or_failing_answer_says_so() -> None:
    async with fake_wikidata() as fake:
        api = WikidataApi(fake.url, timeout=5, max_bytes=65_536)
        with pytest.raises(UpstreamFailed, match="larger than 65536 bytes"):
            await api.place(HUGE_QID)
        with pytest.raises(UpstreamFailed, match="not JSON"):
            await api.place(BROKEN_QID)
        with pytest.raises(UpstreamFailed, match="HTTP 500"):
            await api.theme(FAILING_QID)


async def test_an_unreachable_server_says_so() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    api = WikidataApi(f"http://127.0.0.1:{port}/w/api.php", timeout=2)
    with pytest.raises(UpstreamFailed, match="could not be reached about Q990000010"):
        await api.place(TOWN)


def test_the_lookup_is_off_by_default_and_on_by_setting(tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    token = {"IMAGO_INSTANCE_ADMIN_TOKEN": "t" * 32}
    default = load_settings(path=empty, env=token)
    assert default.graph.wikidata_lookup is False
    assert wikidata_lookup(default) is None
    on = load_settings(
        path=empty,
        env={**token, "IMAGO_GRAPH_WIKIDATA_LOOKUP": "true",
             "IMAGO_GRAPH_WIKIDATA_API_URL": "http://127.0.0.1:9/w/api.php",
             "IMAGO_GRAPH_WIKIDATA_TIMEOUT_SECONDS": "2"},
    )  # fmt: skip
    assert on.graph.wikidata_lookup is True
    assert isinstance(wikidata_lookup(on), WikidataApi)

"""A loopback stand-in for WikiData's ``api.php`` (``wbgetentities``), for tests.

Tests never reach the internet: this server binds 127.0.0.1 on a free port and
answers with entities in the shape WikiData's API gives (as recorded from a
``wbgetentities`` answer, ``props=labels|claims``): an entity keyed by its id,
``labels`` by language, ``claims`` by property, each statement with its
``mainsnak``, ``rank`` and ``globecoordinate`` value. A missing item answers as
WikiData does (``{"id": …, "missing": ""}``). A few ids misbehave on purpose:

    SLOW_QID    answers after ``slow_seconds``
    HUGE_QID    answers a body larger than any sane cap
    BROKEN_QID  answers text that is not JSON
    FAILING_QID answers HTTP 500
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SLOW_QID, HUGE_QID, BROKEN_QID, FAILING_QID = "Q990000001", "Q990000002", "Q990000003", "Q990000004"
PATH = "/w/api.php"


def statement(qid: str, lat: float, lon: float, *, rank: str = "normal", globe: str = "Q2") -> dict:
    """A P625 statement as WikiData writes it."""
    return {
        "mainsnak": {
            "snaktype": "value",
            "property": "P625",
            "hash": "5d0d2e8a5f6e0a1c9b4f1e2d3c4b5a69788f7e6d",
            "datavalue": {
                "value": {
                    "latitude": lat,
                    "longitude": lon,
                    "altitude": None,
                    "precision": 0.000277778,
                    "globe": f"http://www.wikidata.org/entity/{globe}",
                },
                "type": "globecoordinate",
            },
            "datatype": "globe-coordinate",
        },
        "type": "statement",
        "id": f"{qid}$0C2E1B5F-6A3D-4E8B-9F70-1A2B3C4D5E6F",
        "rank": rank,
    }


def entity(qid: str, labels: dict[str, str], p625: list[dict] | None = None) -> dict:
    """An item as ``wbgetentities`` returns it (``props=labels|claims``)."""
    claims: dict[str, Any] = {
        "P31": [
            {
                "mainsnak": {
                    "snaktype": "value",
                    "property": "P31",
                    "datavalue": {
                        "value": {"entity-type": "item", "numeric-id": 484170, "id": "Q484170"},
                        "type": "wikibase-entityid",
                    },
                    "datatype": "wikibase-item",
                },
                "type": "statement",
                "rank": "normal",
            }
        ]
    }
    if p625 is not None:
        claims["P625"] = p625
    return {
        "type": "item",
        "id": qid,
        "labels": {lang: {"language": lang, "value": value} for lang, value in labels.items()},
        "claims": claims,
    }


@dataclass
class FakeWikidata:
    """The entities it knows, and what it was asked."""

    entities: dict[str, dict] = field(default_factory=dict)
    slow_seconds: float = 2.0
    asked: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def add(self, item: dict) -> None:
        self.entities[item["id"]] = item

    async def handle(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        query["user-agent"] = request.headers.get("User-Agent", "")
        self.asked.append(query)
        if query.get("action") != "wbgetentities":
            return web.json_response({"error": {"code": "badvalue", "info": "action"}})
        qid = query.get("ids", "")
        if qid == SLOW_QID:
            await asyncio.sleep(self.slow_seconds)
        if qid == HUGE_QID:
            return web.Response(body=b"{" + b" " * (8 * 1_048_576) + b"}",
                                content_type="application/json")  # fmt: skip
        if qid == BROKEN_QID:
            return web.Response(text="<html>upstream error</html>", content_type="text/html")
        if qid == FAILING_QID:
            return web.Response(status=500, text="Internal Server Error")
        found = self.entities.get(qid, {"id": qid, "missing": ""})
        return web.Response(
            text=json.dumps({"entities": {qid: found}, "success": 1}),
            content_type="application/json",
        )


@asynccontextmanager
async def fake_wikidata() -> AsyncIterator[FakeWikidata]:
    """Serve a FakeWikidata on 127.0.0.1 (a free port) for the block's duration."""
    fake = FakeWikidata()
    app = web.Application()
    app.router.add_get(PATH, fake.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server  # the bound socket tells the port the system chose
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.url = f"http://127.0.0.1:{port}{PATH}"
    try:
        yield fake
    finally:
        await runner.cleanup()

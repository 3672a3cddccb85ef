"""Hostile input over HTTP, against the real app on PostgreSQL: never a 5xx.

Every refusal is a 4xx in the error shape of its API, with a log line, and
leaves every table as it was. The admin routes are taken from the registry
the OpenAPI document is rendered from, so a new route is covered by default.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from quart.typing import TestClientProtocol as Client

import imago_fed.web
from imago_fed.activitypub.inbox import HANDLED_TYPES
from imago_fed.app import create_app
from imago_fed.web.admin import api
from imago_fed.web.openapi import Operation
from imago_fed.web.runtime import EXTENSION_KEY, Runtime
from tests.activitypub.actor_host import ActorHost, actor_host
from tests.conftest import TEST_ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}
HS_TOKEN = "hs-token-0123456789"
AS_AUTH = {"Authorization": f"Bearer {HS_TOKEN}"}
JSON = {"Content-Type": "application/json"}
DEEP = b"[" * 5000 + b"]" * 5000
BAD_BODIES = {
    "not utf-8": b'{"slug": "\xff\xfe"}',
    "nested 5000 levels": DEEP,
    "nested objects": b'{"a":' * 3000 + b"1" + b"}" * 3000,
    "duplicate keys": b'{"slug": "a", "slug": "b"}',
    "escaped NUL": b'{"slug": "a\\u0000b"}',
    "lone surrogate": b'{"name": "\\ud800"}',
    "NaN": b'{"n": NaN}',
    "not JSON": b"{nope",
}
MATRIX = {
    "IMAGO_MATRIX_ENABLED": "true", "IMAGO_MATRIX_HOMESERVER_URL": "http://127.0.0.1:9",
    "IMAGO_MATRIX_SERVER_NAME": "hs.test", "IMAGO_MATRIX_AS_TOKEN": "as-token-0123456789",
    "IMAGO_MATRIX_HS_TOKEN": HS_TOKEN,
}  # fmt: skip


@pytest.fixture
async def world(migrated_db: str, make_settings) -> AsyncIterator[tuple[Runtime, Client]]:
    settings = make_settings(
        migrated_db,
        IMAGO_FEDERATION_ALLOW_HTTP="true",
        IMAGO_FEDERATION_ALLOW_PRIVATE_ADDRESSES="true",
        IMAGO_FEDERATION_WORKERS_IN_SERVE="false",
        **MATRIX,
    )
    app = create_app(settings, migrated_db)
    async with app.test_app() as test_app:
        rt: Runtime = app.extensions[EXTENSION_KEY]
        await rt.groups.create("garden", "Garden", posting_policy="anyone")
        yield rt, test_app.test_client()


async def table_counts(rt: Runtime) -> dict[str, int]:
    """Rows in every table: what "nothing stored" is checked against."""
    tables = await rt.pool.fetch(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    )
    return {
        t["table_name"]: await rt.pool.fetchval(f'SELECT count(*) FROM "{t["table_name"]}"')
        for t in tables
    }


def concrete(op: Operation) -> str:
    """The operation's path with sample values that pass its converters."""
    samples = {"slug": "garden", "which": "bills", "step": "cert", "host": "peer.example"}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        schema = op.path_params[name]
        return "1" if schema.get("type") == "integer" else samples.get(name, "x")

    return re.sub(r"{([a-z_]+)}", value, op.path)


def assert_error_shape(body: Any, status: int) -> None:
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["message"], body


BODY_ROUTES = [op for op in api.operations if op.has_body]


@pytest.mark.parametrize("op", BODY_ROUTES, ids=lambda op: f"{op.method} {op.path}")
async def test_every_admin_body_goes_through_the_door(world, op: Operation, caplog) -> None:
    rt, client = world
    path = concrete(op)
    before = await table_counts(rt)
    caplog.set_level(logging.INFO, logger="imago_fed.web.body")

    async def send(body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        response = await client.open(
            path, method=op.method.upper(), data=body, headers={**AUTH, **headers}
        )
        return response.status_code, await response.get_json()

    wrong_types = ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
    if not op.text_file:  # (files relayed as text may come without a type)
        wrong_types += ["text/plain", ""]
    for content_type in wrong_types:
        headers = {"Content-Type": content_type} if content_type else {}
        status, body = await send(b'{"slug": "a"}', headers)
        assert status == 415, (content_type, body)
        assert_error_shape(body, 415)
    for name, raw in BAD_BODIES.items():
        caplog.clear()
        status, body = await send(raw, JSON)
        assert status == 400, (name, body)
        assert_error_shape(body, 400)
        assert [r.status for r in caplog.records if hasattr(r, "status")] == [400], name
    status, body = await send(b"[" + b"1," * 600_000 + b"1]", JSON)
    assert status == 413
    assert_error_shape(body, 413)
    assert await table_counts(rt) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/groups/a%00b"),
        ("GET", "/api/v1/groups/Not%20A%20Slug"),
        ("GET", "/api/v1/groups/%ED%A0%80"),  # an encoded surrogate
        ("GET", "/api/v1/groups/" + "a" * 300),
        ("GET", "/api/v1/elections/9223372036854775808"),  # 2**63
        ("GET", "/api/v1/elections/99999999999999999999999999"),
        ("GET", "/api/v1/elections/9223372036854775807"),  # fits: looked up, not there
        ("GET", "/api/v1/elections/%D9%A3"),  # an Arabic-Indic digit three
        ("POST", "/api/v1/deliveries/%C2%B3/retry"),  # a superscript three
        ("POST", "/api/v1/elections/99999999999999999999/credentials"),
        ("DELETE", "/api/v1/costs/bills/99999999999999999999"),
        ("DELETE", "/api/v1/blocks/-1"),
        ("POST", "/api/v1/peers/a%00b/reset"),
        ("GET", "/groups/a%00b"),
        ("POST", "/groups/a%00b/inbox"),
        ("GET", "/people/a%00b"),
        ("GET", "/elections/99999999999999999999"),
        ("POST", "/elections/99999999999999999999/ballots"),
    ],
)
async def test_path_parameters_outside_their_type_are_404(world, method: str, path: str) -> None:
    rt, client = world
    before = await table_counts(rt)
    response = await client.open(path, method=method, headers={**AUTH, **JSON}, data=b"{}")
    assert response.status_code == 404, await response.get_data()
    assert await table_counts(rt) == before


@pytest.mark.parametrize(
    "query",
    ["foo=1", "limit=abc", "limit=0", "limit=501", "limit=1&limit=2", "limit=%C2%B3",
     "limit=99999999999999999999", "after=a%00b", "after=" + "x" * 3000],
)  # fmt: skip
async def test_query_parameters_are_declared_and_typed(world, query: str) -> None:
    _, client = world
    response = await client.get(f"/api/v1/groups?{query}", headers=AUTH)
    assert response.status_code == 422, query
    assert (await response.get_json())["error"]["code"] == "invalid_input"
    dead = await client.get("/api/v1/deliveries/dead?after=-1", headers=AUTH)
    assert dead.status_code == 422
    assert (await client.get("/api/v1/groups?limit=5&after=a", headers=AUTH)).status_code == 200


async def test_the_document_servers_and_paths_agree(world) -> None:
    rt, client = world
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    (server,) = document["servers"]
    assert server["url"] == rt.settings.instance.base_url
    for path, operations in document["paths"].items():
        assert path.startswith("/api/v1/"), path
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            params = {p["in"] for p in operation.get("parameters", [])}
            if "path" in params:
                assert "404" in statuses, (method, path)
            if "query" in params:
                assert "422" in statuses, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415", "422"} <= statuses, (method, path)
                content = operation["requestBody"]["content"]
                schema = content.get("application/json", {}).get("schema", {})
                assert schema or set(content) == {"text/plain"}, (method, path)
                if "properties" in schema:
                    assert schema["additionalProperties"] is False, (method, path)
    # a client following the document reaches the route
    url = server["url"] + "/api/v1/groups"
    response = await client.get(url.removeprefix(rt.settings.instance.base_url), headers=AUTH)
    assert response.status_code == 200


async def test_wrong_method_is_405_with_allow(world) -> None:
    _, client = world
    response = await client.put("/api/v1/groups", headers={**AUTH, **JSON}, data=b"{}")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert_error_shape(await response.get_json(), 405)


async def test_an_inbox_read_is_405_with_allow_post(world) -> None:
    """An inbox is written to (by POST), never read; no group, no inbox: 404."""
    _, client = world
    for path in ("/inbox", "/groups/garden/inbox"):
        response = await client.get(path)
        assert response.status_code == 405, path
        assert response.headers["Allow"] == "POST"
        assert "error" in await response.get_json()
    assert (await client.get("/groups/nobody-here/inbox")).status_code == 404


async def test_body_schemas_are_enforced_in_depth(world) -> None:
    rt, client = world
    before = await table_counts(rt)
    for path, body in [
        ("/api/v1/groups", {"slug": "a", "name": "n", "manually_approves_followers": 1}),
        ("/api/v1/groups", {"slug": "a", "name": "n", "posting_policy": "everyone"}),
        ("/api/v1/proposals/1/votes", {"voter": "x", "ballot": [1, "2"]}),
        ("/api/v1/proposals/1/votes", {"voter": "x", "ballot": [2**64]}),
        ("/api/v1/groups/garden/proposals",
         {"action": "generic", "title": "t", "duration_s": 2**70}),
        ("/api/v1/costs/bills", {"label": "l", "kind": "hosting", "amount": "1",
                                 "period_months": 10**30, "renews_on": "2027-01-01"}),
    ]:  # fmt: skip
        response = await client.post(path, headers=AUTH, json=body)
        assert response.status_code == 422, (path, body, await response.get_data())
    assert await table_counts(rt) == before


# ------------------------------------------------------------------ appservice
async def test_appservice_refuses_hostile_transactions(world) -> None:
    rt, client = world
    before = await table_counts(rt)
    for raw in [DEEP, b'{"events": [{"content": {"body": "\\u0000"}}]}', b"\xff{}",
                b'{"events": [], "events": [{}]}', b'{"events": "\\ud800"}']:  # fmt: skip
        response = await client.put(
            "/_matrix/app/v1/transactions/t1", data=raw, headers={**AS_AUTH, **JSON}
        )
        assert response.status_code == 400, raw[:40]
        assert (await response.get_json())["errcode"] == "M_NOT_JSON"
    response = await client.put(
        "/_matrix/app/v1/transactions/a%00b", json={"events": []}, headers=AS_AUTH
    )
    assert response.status_code == 404
    wrong_type = await client.put(
        "/_matrix/app/v1/transactions/t2", data=b'{"events": []}',
        headers={**AS_AUTH, "Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert wrong_type.status_code == 415
    assert await table_counts(rt) == before
    ok = await client.put("/_matrix/app/v1/transactions/t3", json={"events": []}, headers=AS_AUTH)
    assert ok.status_code == 200


# ------------------------------------------------------------------ inbox
@pytest.fixture
async def host() -> AsyncIterator[ActorHost]:
    async with actor_host() as running:
        yield running


def _signed(rt: Runtime, host: ActorHost, path: str, **sign: Any) -> tuple[bytes, dict[str, str]]:
    alice = host.actors.get("alice") or host.add("alice")
    note = {"id": alice.id + "/notes/1", "type": "Note", "attributedTo": alice.id,
            "content": "hi", "to": [rt.ids.group("garden")]}  # fmt: skip
    body = json.dumps(alice.activity("Create", note, to=[rt.ids.group("garden")])).encode()
    return body, alice.sign(rt.settings.instance.base_url + path, body, **sign)


async def test_inbox_checks_the_media_type(world, host: ActorHost) -> None:
    rt, client = world
    path = "/groups/garden/inbox"
    for content_type in [None, "text/plain", "application/x-www-form-urlencoded"]:
        body, headers = _signed(rt, host, path)
        headers.pop("Content-Type")
        if content_type:
            headers["Content-Type"] = content_type
        response = await client.post(path, data=body, headers=headers)
        assert response.status_code == 415, content_type
        assert "error" in await response.get_json()
    stored = await rt.pool.fetchval("SELECT count(*) FROM inbox_activities")
    assert stored == 0
    body, headers = _signed(rt, host, path)
    headers["Content-Type"] = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
    assert (await client.post(path, data=body, headers=headers)).status_code == 202
    assert await rt.pool.fetchval("SELECT count(*) FROM inbox_activities") == 1


@pytest.mark.parametrize(
    "document",
    [
        {"@context": 5},
        {"@context": [{"actor": "@id"}]},
        {"@context": "https://evil.example/context.jsonld"},  # never fetched
        {"@context": [None, {"@version": 9}]},
        {"actor": ["not", {"an": "actor"}]},
        {"actor": 5},
        {"id": 7},
        {"id": "urn:uuid:1"},
        {"type": ["Create", "Note"]},
    ],
)
async def test_inbox_refuses_wrong_shapes_with_400(world, host: ActorHost, document) -> None:
    rt, client = world
    body, _ = _signed(rt, host, "/inbox")
    activity = {**json.loads(body), **document}
    raw = json.dumps(activity).encode()
    headers = host.actors["alice"].sign(rt.settings.instance.base_url + "/inbox", raw)
    response = await client.post("/inbox", data=raw, headers=headers)
    assert response.status_code == 400, (document, await response.get_data())
    assert await rt.pool.fetchval("SELECT count(*) FROM inbox_activities") == 0
    assert host.fetches == []


async def test_inbox_does_not_say_what_its_key_fetch_saw(world, host: ActorHost, caplog) -> None:
    rt, client = world
    caplog.set_level(logging.INFO, logger="imago_fed.web.federation")
    body, headers = _signed(rt, host, "/inbox", key_id=f"{host.base_url}/gone#main-key")
    response = await client.post("/inbox", data=body, headers=headers)
    assert response.status_code == 401
    message = (await response.get_json())["error"]
    assert "404" not in message and str(host.port) not in message and "gone" not in message
    (line,) = [r for r in caplog.records if r.getMessage() == "inbox refused a request"]
    assert "404" in line.detail  # type: ignore[attr-defined]


@pytest.fixture
async def strict_world(migrated_db: str, make_settings) -> AsyncIterator[tuple[Runtime, Client]]:
    """Federation guards on, as in production: https only, no private addresses."""
    settings = make_settings(migrated_db, IMAGO_FEDERATION_WORKERS_IN_SERVE="false")
    app = create_app(settings, migrated_db)
    async with app.test_app() as test_app:
        rt: Runtime = app.extensions[EXTENSION_KEY]
        await rt.groups.create("garden", "Garden", posting_policy="anyone")
        yield rt, test_app.test_client()


@pytest.mark.parametrize(
    "key_id",
    ["{base}/users/alice#main-key",  # plain http, and on loopback
     "https://127.0.0.1:{port}/users/alice#main-key", "https://10.0.0.1/users/alice#main-key",
     "https://[::1]:{port}/users/alice#main-key", "file:///etc/passwd#main-key",
     "https://169.254.169.254/latest/meta-data#main-key"],
)  # fmt: skip
async def test_inbox_fetches_no_key_from_hostile_urls(
    strict_world, host: ActorHost, key_id
) -> None:
    rt, client = strict_world
    key_id = key_id.format(base=host.base_url, port=host.port)
    body, headers = _signed(rt, host, "/inbox", key_id=key_id)
    response = await client.post("/inbox", data=body, headers=headers)
    assert 400 <= response.status_code < 500
    assert host.fetches == []
    assert await rt.pool.fetchval("SELECT count(*) FROM inbox_activities") == 0


# ------------------------------------------------------------ property tests
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_escapes = st.sampled_from(["\\u0000", "\\ud800", "\\udfff", "\\\\", '\\"', "\\uffff"])
hostile_bodies = st.one_of(
    st.binary(max_size=300),
    _json_values.map(lambda v: json.dumps(v).encode()),
    st.integers(60, 8000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.integers(60, 8000).map(lambda n: b"[" * n + b"]" * n),
    st.tuples(_escapes, _escapes).map(lambda e: f'{{"events": ["{e[0]}{e[1]}"]}}'.encode()),
    st.sampled_from([b'{"events": [], "events": []}', b'{"events": [NaN]}', b"\xef\xbb\xbf{}",
                     b'{"events": [1e400]}', b'{"events": [' + b"9" * 5000 + b"]}"]),
)  # fmt: skip
content_types = st.sampled_from(
    ["", "application/json", "application/activity+json", "text/plain",
     'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
     "application/x-www-form-urlencoded", "multipart/form-data", "application/json; charset=x"]
)  # fmt: skip
ASCII = st.characters(min_codepoint=32, max_codepoint=126)
PROPERTY = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=hostile_bodies,
    content_type=content_types,
    extra=st.dictionaries(
        st.sampled_from(["Signature", "Signature-Input", "Digest", "Date"]),
        st.text(alphabet=ASCII, max_size=60),
        max_size=4,
    ),
    path=st.sampled_from(["/groups/garden/inbox", "/inbox"]),
)
async def test_inbox_never_answers_5xx_nor_stores(world, body, content_type, extra, path) -> None:
    rt, client = world
    headers = {**extra, **({"Content-Type": content_type} if content_type else {})}
    response = await client.post(path, data=body, headers=headers)
    assert 400 <= response.status_code < 500, (body[:80], headers, await response.get_data())
    assert await rt.pool.fetchval("SELECT count(*) FROM inbox_activities") == 0


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=hostile_bodies,
    content_type=content_types,
    txn=st.text(max_size=20).filter(lambda t: t and "/" not in t and t not in (".", "..")),
)
async def test_appservice_never_answers_5xx(world, body, content_type, txn) -> None:
    rt, client = world
    before = await rt.pool.fetchval("SELECT count(*) FROM matrix_transactions")
    headers = {**AS_AUTH, **({"Content-Type": content_type} if content_type else {})}
    response = await client.put(
        f"/_matrix/app/v1/transactions/{quote(txn, safe='')}", data=body, headers=headers
    )
    assert response.status_code < 500, (body[:80], headers, await response.get_data())
    after = await rt.pool.fetchval("SELECT count(*) FROM matrix_transactions")
    assert after == before or response.status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/groups/garden/outbox?page=true&max_id=99999999999999999999999",
     "/groups/garden/outbox?page=true&max_id=%C2%B3", "/groups/garden/followers?page=%D9%A3",
     "/groups/garden/followers?page=99999999999999999999999",
     "/.well-known/webfinger?resource=acct:a%00b@groups.test",
     "/.well-known/webfinger?resource=acct:%ED%A0%80@groups.test",
     "/elections/1/ballots?tracker=%00", "/elections/1/trackers?tracker=%ED%A0%80"],
)  # fmt: skip
async def test_public_reads_with_hostile_queries_are_not_5xx(world, path: str) -> None:
    _, client = world
    response = await client.get(path, headers={"Accept": "application/activity+json"})
    assert response.status_code < 500, (path, await response.get_data())


@pytest.mark.parametrize(
    "body",
    [b"token=\xff\xfe", b"token=a%00b", b"token=%ED%A0%80&csrf=x", b"=" * 5000, b"&&&"],
)
async def test_forms_with_hostile_bytes_are_not_5xx(world, body: bytes) -> None:
    rt, client = world
    before = await table_counts(rt)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for path in ("/admin/sign-in", "/admin/costs/bills"):
        response = await client.post(path, data=body, headers=form)
        assert response.status_code < 500, (path, body, await response.get_data())
    assert await table_counts(rt) == before


_shapes = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12)
    | st.sampled_from(["https://www.w3.org/ns/activitystreams#Public", "http://127.0.0.1:9/x"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(
        st.sampled_from(["id", "type", "object", "actor", "to", "cc", "inReplyTo", "@context",
                         "content", "name", "tag", "href", "attributedTo", "oneOf"]),
        children, max_size=4,
    ),
    max_leaves=10,
)  # fmt: skip


@PROPERTY
@given(
    kind=st.sampled_from([*sorted(HANDLED_TYPES), "Bake", "Question", "Note"]),
    obj=_shapes,
    extra=st.dictionaries(st.sampled_from(["to", "cc", "target", "@context"]), _shapes, max_size=2),
)
async def test_signed_activities_of_any_shape_are_never_5xx(world, host, kind, obj, extra) -> None:
    """Signed for real, so the shapes reach JSON-LD, the type dispatch and the store."""
    rt, client = world
    alice = host.actors.get("alice") or host.add("alice")
    activity = {**alice.activity(kind, obj), **extra}
    body = json.dumps(activity).encode()
    headers = alice.sign(rt.settings.instance.base_url + "/inbox", body)
    response = await client.post("/inbox", data=body, headers=headers)
    event(f"status {response.status_code}")
    assert response.status_code in (202, 400, 401), (activity, await response.get_data())
    stored = await rt.pool.fetchval(
        "SELECT count(*) FROM inbox_activities WHERE activity_id = $1", activity["id"]
    )
    assert stored == (1 if response.status_code == 202 and kind in HANDLED_TYPES else 0)
    if stored:  # processed: the handler decides, or says why not; it never crashes
        crashes = []

        class Catch(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if record.getMessage() == "activity processing failed":
                    crashes.append(record.exc_text or record.exc_info)

        catch = Catch()
        logging.getLogger("imago_fed.activitypub.processing").addHandler(catch)
        try:
            await rt.inbox_processor.run_once()
        finally:
            logging.getLogger("imago_fed.activitypub.processing").removeHandler(catch)
        assert crashes == [], (activity, crashes)


@pytest.mark.parametrize("raw", [DEEP, b"\xff", b'{"a": "\\u0000"}', b'{"a": 1, "a": 2}'])
async def test_public_ballot_box_refuses_hostile_bodies(world, raw: bytes) -> None:
    rt, client = world
    before = await table_counts(rt)
    response = await client.post("/elections/1/ballots", data=raw, headers=JSON)
    assert response.status_code == 400, await response.get_data()
    assert_error_shape(await response.get_json(), 400)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert (await client.post("/elections/1/ballots", data=b"{}", headers=form)).status_code == 415
    assert await table_counts(rt) == before


def test_handlers_read_only_declared_query_parameters() -> None:
    """An undeclared parameter is refused (422) before the handler: a handler
    reading one would never see it. Read off the source, helpers one call deep."""
    declared = {op.operation_id: set(op.query) for op in api.operations}
    undeclared = []
    for path in sorted(Path(imago_fed.web.__file__).parent.glob("admin*.py")):
        tree = ast.parse(path.read_text())
        funcs = {
            n.name: n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        for name in funcs.keys() & declared.keys():
            nodes = [funcs[name]] + [
                funcs[c.func.id] for c in ast.walk(funcs[name])
                if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id in funcs
            ]  # fmt: skip
            read = {
                c.args[0].value
                for n in nodes
                for c in ast.walk(n)
                if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
                and isinstance(c.func.value, ast.Attribute) and c.func.value.attr == "args"
                and c.args and isinstance(c.args[0], ast.Constant)
            }  # fmt: skip
            undeclared += [f"{path.name} {name}: {q}" for q in sorted(read - declared[name])]
    assert undeclared == []

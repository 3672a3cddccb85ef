"""The inbox at the HTTP level: every security gate refuses what it must.

A real remote server (tests/activitypub/actor_host.py) serves the actors and
keys; requests are signed for real, or forged on purpose.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quart.typing import TestClientProtocol as Client

from imago_fed.app import create_app
from imago_fed.web.runtime import EXTENSION_KEY, Runtime
from tests.activitypub.actor_host import ActorHost, _key, actor_host

GROUP_PATH = "/groups/garden/inbox"


@pytest.fixture
async def host() -> AsyncIterator[ActorHost]:
    async with actor_host() as running:
        yield running


@pytest.fixture
async def app_and_client(migrated_db: str, make_settings) -> AsyncIterator[tuple[Runtime, Client]]:
    settings = make_settings(
        migrated_db,
        IMAGO_FEDERATION_ALLOW_HTTP="true",
        IMAGO_FEDERATION_ALLOW_PRIVATE_ADDRESSES="true",
        IMAGO_FEDERATION_WORKERS_IN_SERVE="false",
    )
    app = create_app(settings, migrated_db)
    async with app.test_app() as test_app:
        rt: Runtime = app.extensions[EXTENSION_KEY]
        await rt.groups.create("garden", "Garden", posting_policy="anyone")
        yield rt, test_app.test_client()


async def post(client: Client, rt: Runtime, path: str, body: bytes, headers: dict[str, str]):
    return await client.post(
        path, data=body, headers={"Host": rt.settings.instance.domain, **headers}
    )


def url(rt: Runtime, path: str) -> str:
    return rt.settings.instance.base_url + path


async def queued(rt: Runtime) -> list[str]:
    rows = await rt.pool.fetch("SELECT activity_id FROM inbox_activities ORDER BY id")
    return [r["activity_id"] for r in rows]


def note_create(actor: Any, group: str) -> dict[str, Any]:
    note = {"id": actor.id + "/notes/1", "type": "Note", "attributedTo": actor.id,
            "content": "hi", "to": [group]}  # fmt: skip
    return actor.activity("Create", note, to=[group])


async def test_signed_activity_is_stored_and_accepted(app_and_client, host: ActorHost) -> None:
    rt, client = app_and_client
    alice = host.add("alice")
    for scheme in ("cavage", "rfc9421"):
        body = json.dumps(note_create(alice, rt.ids.group("garden"))).encode()
        response = await post(
            client, rt, GROUP_PATH, body, alice.sign(url(rt, GROUP_PATH), body, scheme=scheme)
        )
        assert response.status_code == 202, (scheme, await response.get_data())
    assert len(await queued(rt)) == 2
    # The same activity again (a redelivery) is accepted but stored once.
    response = await post(client, rt, GROUP_PATH, body, alice.sign(url(rt, GROUP_PATH), body))
    assert response.status_code == 202
    assert len(await queued(rt)) == 2


@pytest.mark.parametrize(
    "forgery",
    ["unsigned", "body_altered", "stale_date", "future_date", "wrong_key", "other_owner",
     "foreign_host_key", "no_digest", "actor_mismatch"],
)  # fmt: skip
async def test_forged_requests_are_refused_and_nothing_is_stored(
    app_and_client, host: ActorHost, forgery: str
) -> None:
    rt, client = app_and_client
    alice = host.add("alice", key_index=0)
    bob = host.add("bob", key_index=1)
    activity = note_create(alice, rt.ids.group("garden"))
    body = json.dumps(activity).encode()
    target = url(rt, GROUP_PATH)
    headers = alice.sign(target, body)
    if forgery == "unsigned":
        headers = {"Content-Type": "application/activity+json"}
    elif forgery == "body_altered":
        body = body.replace(b'"hi"', b'"HI"')
    elif forgery == "stale_date":
        headers = alice.sign(target, body, now=datetime.now(UTC) - timedelta(hours=2))
    elif forgery == "future_date":
        headers = alice.sign(target, body, now=datetime.now(UTC) + timedelta(hours=2))
    elif forgery == "wrong_key":
        headers = alice.sign(target, body, key=_key(1))
    elif forgery == "other_owner":  # bob's valid signature on alice's activity
        headers = bob.sign(target, body)
    elif forgery == "foreign_host_key":  # a key id on another host than the actor
        headers = alice.sign(target, body, key_id="http://127.0.0.2:9/users/alice#main-key")
    elif forgery == "no_digest":
        headers = {k: v for k, v in headers.items() if k.lower() != "digest"}
    elif forgery == "actor_mismatch":  # the actor field names bob, signed by alice
        activity["actor"] = bob.id
        body = json.dumps(activity).encode()
        headers = alice.sign(target, body)
    response = await post(client, rt, GROUP_PATH, body, headers)
    assert response.status_code == 401, (forgery, await response.get_data())
    assert "error" in await response.get_json()
    assert await queued(rt) == []


async def test_malformed_bodies(app_and_client) -> None:
    rt, client = app_and_client
    for body in [
        b"{not json",
        b"[]",
        b'{"type": "Create"}',
        b'{"id": "x", "type": "Note", "actor": "y"}',
    ]:
        response = await post(
            client, rt, GROUP_PATH, body, {"Content-Type": "application/activity+json"}
        )
        assert response.status_code == 400, body
    assert await queued(rt) == []


async def test_oversized_body_is_413(app_and_client) -> None:
    rt, client = app_and_client
    response = await post(client, rt, GROUP_PATH, b"x" * (2 * 1024 * 1024), {})
    assert response.status_code == 413


async def test_unknown_type_is_acknowledged_and_dropped(app_and_client, host: ActorHost) -> None:
    rt, client = app_and_client
    alice = host.add("alice")
    body = json.dumps(alice.activity("Bake", "bread")).encode()
    response = await post(client, rt, "/inbox", body, alice.sign(url(rt, "/inbox"), body))
    assert response.status_code == 202
    assert await queued(rt) == []


async def test_blocked_instance_gets_403(app_and_client, host: ActorHost) -> None:
    rt, client = app_and_client
    alice = host.add("alice")
    blocked = await client.post(
        "/api/v1/blocks", json={"kind": "domain", "value": "127.0.0.1"},
        headers={"Authorization": f"Bearer {rt.settings.instance.admin_token.value}"},
    )  # fmt: skip
    assert blocked.status_code == 201
    body = json.dumps(note_create(alice, rt.ids.group("garden"))).encode()
    response = await post(client, rt, GROUP_PATH, body, alice.sign(url(rt, GROUP_PATH), body))
    assert response.status_code == 403
    assert host.fetches == []  # refused before fetching anything


async def test_unknown_group_inbox_is_404(app_and_client) -> None:
    rt, client = app_and_client
    response = await post(client, rt, "/groups/nobody/inbox", b"{}", {})
    assert response.status_code == 404


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(st.binary(max_size=300), _json_values.map(lambda v: json.dumps(v).encode())),
    headers=st.dictionaries(
        # (Host is left out: the test client itself cannot send a malformed one.)
        st.sampled_from(["Signature", "Signature-Input", "Digest", "Date", "Content-Type"]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
        max_size=5,
    ),
    path=st.sampled_from([GROUP_PATH, "/inbox"]),
)
async def test_hostile_input_never_causes_a_5xx(
    app_and_client, body: bytes, headers: dict[str, str], path: str
) -> None:
    _, client = app_and_client
    response = await client.post(path, data=body, headers=headers)
    assert response.status_code < 500, (body, headers, await response.get_data())

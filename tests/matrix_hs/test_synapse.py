"""The test homeserver is a real Synapse that talks to a real appservice.

A tiny loopback HTTP server (tests.receiver) stands in for our appservice: it
records what Synapse sends and answers ``{}``. Synapse is registered with its
URL, so every push below crosses a real socket.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from tests.matrix_hs.fixtures import SynapseFactory
from tests.matrix_hs.synapse import Synapse, make_registration
from tests.receiver import Receiver, Reply, Request, receiver
from tests.support import wait_until

JSON = {"Content-Type": "application/json"}
TRANSACTIONS = "/_matrix/app/v1/transactions/"
PING = "/_matrix/app/v1/ping"


async def appservice_answer(request: Request) -> Reply:
    path = urlsplit(request.target).path
    if (request.method == "PUT" and path.startswith(TRANSACTIONS)) or (
        request.method == "POST" and path == PING
    ):
        return Reply(200, JSON, b"{}")
    return Reply(404, JSON, b'{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}')


@pytest.fixture(scope="module")
async def appservice() -> AsyncIterator[Receiver]:
    async with receiver(appservice_answer) as rx:
        yield rx


@pytest.fixture(scope="module")
def homeserver(synapse_factory: SynapseFactory, appservice: Receiver) -> Iterator[Synapse]:
    # The appservice is listening already, so its URL is known before Synapse starts.
    with synapse_factory(make_registration(appservice.base_url), name="synapse-as") as hs:
        yield hs


def transactions(appservice: Receiver) -> list[tuple[Request, dict[str, Any]]]:
    return [
        (request, json.loads(request.body))
        for request in appservice.requests
        if request.method == "PUT" and urlsplit(request.target).path.startswith(TRANSACTIONS)
    ]


async def pushed_event(appservice: Receiver, event_id: str) -> tuple[Request, dict[str, Any]]:
    """Wait (bounded) until Synapse has pushed the event; its request and the event."""

    async def find() -> tuple[Request, dict[str, Any]] | None:
        for request, body in transactions(appservice):
            for event in body.get("events", []):
                if event.get("event_id") == event_id:
                    return request, event
        return None

    return await wait_until(find, timeout=15)


def unique(stem: str) -> str:
    return f"{stem}{secrets.token_hex(3)}"


async def test_server_answers_with_room_version_12_by_default(homeserver: Synapse) -> None:
    async with homeserver.async_client() as client:
        versions = (await client.get("/_matrix/client/versions")).json()
    assert "v1.11" in versions["versions"]

    _, token = await homeserver.aregister_user(unique("vera"), "secret")
    async with homeserver.async_client(token) as client:
        capabilities = (await client.get("/_matrix/client/v3/capabilities")).json()
    assert capabilities["capabilities"]["m.room_versions"]["default"] == "12"


async def test_ping_reaches_the_appservice(homeserver: Synapse, appservice: Receiver) -> None:
    registration = homeserver.appservice
    assert registration is not None
    async with homeserver.async_client(homeserver.as_token) as client:
        response = await client.post(
            f"/_matrix/client/v1/appservice/{registration['id']}/ping",
            json={"transaction_id": "ping-1"},
        )
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["duration_ms"], int)

    pings = [r for r in appservice.requests if urlsplit(r.target).path == PING]
    assert pings, "Synapse answered the ping without calling us"
    assert pings[-1].method == "POST"
    assert pings[-1].headers["authorization"] == f"Bearer {registration['hs_token']}"
    assert json.loads(pings[-1].body) == {"transaction_id": "ping-1"}


async def test_appservice_registers_puppets_in_its_namespace(homeserver: Synapse) -> None:
    localpart = unique("_imago_bob")
    body = {"type": "m.login.application_service", "username": localpart, "inhibit_login": True}
    async with homeserver.async_client(homeserver.as_token) as bot:
        first = await bot.post("/_matrix/client/v3/register", json=body)
        assert first.status_code == 200, first.text
        assert first.json()["user_id"] == homeserver.user_id(localpart)
        assert "access_token" not in first.json()  # inhibit_login: no device either

        again = await bot.post("/_matrix/client/v3/register", json=body)
        assert again.status_code == 400
        assert again.json()["errcode"] == "M_USER_IN_USE"

        outside = await bot.post(
            "/_matrix/client/v3/register", json={**body, "username": unique("carol")}
        )
        assert outside.status_code == 400
        assert outside.json()["errcode"] == "M_EXCLUSIVE"

        whoami = await bot.get(
            "/_matrix/client/v3/account/whoami",
            params={"user_id": homeserver.user_id(localpart)},
        )
        assert whoami.json()["user_id"] == homeserver.user_id(localpart)


async def bot_room_with(homeserver: Synapse, *invitees: str) -> str:
    """A private room created by the appservice bot, inviting the users; its id."""
    async with homeserver.async_client(homeserver.as_token) as bot:
        created = await bot.post(
            "/_matrix/client/v3/createRoom",
            json={"preset": "private_chat", "name": "imago test", "invite": list(invitees)},
        )
    assert created.status_code == 200, created.text
    return created.json()["room_id"]


async def join(homeserver: Synapse, token: str, room_id: str, **params: str) -> None:
    async with homeserver.async_client(token) as client:
        joined = await client.post(f"/_matrix/client/v3/rooms/{quote(room_id)}/join", params=params)
    assert joined.status_code == 200, joined.text


async def say(homeserver: Synapse, token: str, room_id: str, text: str) -> str:
    async with homeserver.async_client(token) as client:
        sent = await client.put(
            f"/_matrix/client/v3/rooms/{quote(room_id)}/send/m.room.message/{secrets.token_hex(8)}",
            json={"msgtype": "m.text", "body": text},
        )
    assert sent.status_code == 200, sent.text
    return sent.json()["event_id"]


async def test_human_message_in_bot_room_is_pushed_to_the_appservice(
    homeserver: Synapse, appservice: Receiver
) -> None:
    registration = homeserver.appservice
    assert registration is not None
    bot_id = homeserver.user_id(registration["sender_localpart"])
    alice, alice_token = await homeserver.aregister_user(unique("alice"), "secret")
    puppet = homeserver.user_id(unique("_imago_pat"))
    async with homeserver.async_client(homeserver.as_token) as bot:
        registered = await bot.post(
            "/_matrix/client/v3/register",
            json={
                "type": "m.login.application_service",
                "username": puppet[1:].split(":")[0],
                "inhibit_login": True,
            },
        )
    assert registered.status_code == 200, registered.text

    room_id = await bot_room_with(homeserver, alice, puppet)
    # Room version 12: the room id is a hash of the create event, with no ":server".
    assert room_id.startswith("!")
    assert ":" not in room_id

    await join(homeserver, alice_token, room_id)
    await join(homeserver, homeserver.as_token, room_id, user_id=puppet)  # masquerading

    async with homeserver.async_client(alice_token) as client:
        create = await client.get(
            f"/_matrix/client/v3/rooms/{quote(room_id)}/state/m.room.create/",
            params={"format": "event"},
        )
    assert create.status_code == 200, create.text
    assert create.json()["content"]["room_version"] == "12"
    assert create.json()["sender"] == bot_id

    text = f"hello appservice {secrets.token_hex(4)}"
    event_id = await say(homeserver, alice_token, room_id, text)

    request, event = await pushed_event(appservice, event_id)
    assert request.headers["authorization"] == f"Bearer {registration['hs_token']}"
    assert "access_token" not in request.target  # no legacy query-string token
    assert event["type"] == "m.room.message"
    assert event["sender"] == alice
    assert event["room_id"] == room_id
    assert event["content"] == {"msgtype": "m.text", "body": text}

    # Our own events come back too (the bot's create event, the puppet's join).
    pushed = [e for _, body in transactions(appservice) for e in body.get("events", [])]
    mine = {(e["type"], e["sender"]) for e in pushed if e["room_id"] == room_id}
    assert ("m.room.create", bot_id) in mine
    assert ("m.room.member", puppet) in mine


async def test_restart_keeps_users_rooms_and_the_appservice_link(
    homeserver: Synapse, appservice: Receiver
) -> None:
    dora, dora_token = await homeserver.aregister_user(unique("dora"), "secret")
    room_id = await bot_room_with(homeserver, dora)

    await homeserver.arestart()

    async with homeserver.async_client(dora_token) as client:
        whoami = await client.get("/_matrix/client/v3/account/whoami")
    assert whoami.status_code == 200, whoami.text
    assert whoami.json()["user_id"] == dora
    await join(homeserver, dora_token, room_id)
    event_id = await say(homeserver, dora_token, room_id, "still here")
    _, event = await pushed_event(appservice, event_id)
    assert event["sender"] == dora

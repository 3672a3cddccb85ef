"""Direct messages from our bot reach a real Synapse user, in one reused room.

    MatrixDirectMessages.send ──createRoom {is_direct, trusted_private_chat}──> Synapse
    dana (a human account) ──/sync──> the invite ──join──> /messages: the text
    second send ──m.direct──> the same room;  unknown user / server ──> refused

No appservice is pushed to here (registration url None): the bot only talks
to the client-server API, as the adapter does.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest

from imago_fed.domain.groups import Group, KeyPair
from imago_fed.domain.ports import DirectMessageFailed
from imago_fed.matrix.client import AppserviceClient
from imago_fed.matrix.direct import MatrixDirectMessages, message_content
from imago_fed.matrix.ids import MatrixIds
from tests.matrix_hs.fixtures import SynapseFactory
from tests.matrix_hs.synapse import Synapse, make_registration

GROUP_ID = 7


class OneGroup:
    """The part of GroupRepository the adapter uses: one live group."""

    def __init__(self) -> None:
        self.group = Group("garden", "Garden", "", datetime.now(UTC), KeyPair("", b""), id=GROUP_ID)

    async def get_by_id(self, group_id: int) -> Group | None:
        return self.group if group_id == GROUP_ID else None


@pytest.fixture(scope="module")
def homeserver(synapse_factory: SynapseFactory) -> Iterator[Synapse]:
    with synapse_factory(make_registration(None), name="synapse-dm") as hs:
        yield hs


@pytest.fixture
async def messenger(homeserver: Synapse) -> AsyncIterator[MatrixDirectMessages]:
    client = AppserviceClient(homeserver.base_url, homeserver.as_token)
    try:
        yield MatrixDirectMessages(client, MatrixIds(homeserver.server_name), OneGroup())
    finally:
        await client.close()


def unique(stem: str) -> str:
    return f"{stem}{secrets.token_hex(3)}"


async def bot_get(homeserver: Synapse, endpoint: str) -> Any:
    async with homeserver.async_client(homeserver.as_token) as bot:
        response = await bot.get(f"/_matrix/client/{endpoint}")
    assert response.status_code == 200, response.text
    return response.json()


async def m_direct(homeserver: Synapse) -> dict[str, list[str]]:
    return await bot_get(homeserver, f"v3/user/{quote('@imago:localhost')}/account_data/m.direct")


async def invites(homeserver: Synapse, token: str, since: str = "") -> tuple[dict[str, Any], str]:
    """The rooms the user is invited to (since ``since``), and the next sync token.

    (Synapse caches a /sync answer for identical requests, so a later look
    must pass the token of the earlier one.)
    """
    params = {"timeout": "0", **({"since": since} if since else {})}
    async with homeserver.async_client(token) as client:
        synced = await client.get("/_matrix/client/v3/sync", params=params)
    assert synced.status_code == 200, synced.text
    return synced.json().get("rooms", {}).get("invite", {}), synced.json()["next_batch"]


async def texts_in(homeserver: Synapse, token: str, room_id: str) -> list[tuple[str, dict]]:
    async with homeserver.async_client(token) as client:
        response = await client.get(
            f"/_matrix/client/v3/rooms/{quote(room_id)}/messages",
            params={"dir": "b", "limit": "50"},
        )
    assert response.status_code == 200, response.text
    return [
        (event["sender"], event["content"])
        for event in reversed(response.json()["chunk"])
        if event["type"] == "m.room.message"
    ]


async def act(homeserver: Synapse, token: str, room_id: str, verb: str) -> None:
    async with homeserver.async_client(token) as client:
        response = await client.post(f"/_matrix/client/v3/rooms/{quote(room_id)}/{verb}", json={})
    assert response.status_code == 200, response.text


def test_accepts_matrix_users_but_not_our_own_or_fediverse_actors() -> None:
    ids = MatrixIds("example.org")
    messenger = MatrixDirectMessages(None, ids, OneGroup())  # type: ignore[arg-type]
    assert messenger.accepts("@dana:example.org")
    assert messenger.accepts("@dana:other.example:8448")
    assert not messenger.accepts(ids.bot)
    assert not messenger.accepts(ids.puppet("https://social.example/users/bob"))
    assert not messenger.accepts("https://social.example/users/bob")
    assert not messenger.accepts("@dana")
    assert not messenger.accepts("#room:example.org")


def test_message_content_is_plain_text_with_optional_html() -> None:
    assert message_content("hi") == {"msgtype": "m.text", "body": "hi"}
    assert message_content("hi", "<b>hi</b>") == {
        "msgtype": "m.text",
        "body": "hi",
        "format": "org.matrix.custom.html",
        "formatted_body": "<b>hi</b>",
    }


async def test_a_user_is_invited_to_one_direct_room_and_reads_each_message(
    homeserver: Synapse, messenger: MatrixDirectMessages, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    dana, token = await homeserver.aregister_user(unique("dana"), "secret")
    first, second = f"credential {secrets.token_hex(8)}", f"credential {secrets.token_hex(8)}"

    await messenger.send(GROUP_ID, dana, first, html=f"<code>{first}</code>")

    invited, _ = await invites(homeserver, token)
    assert len(invited) == 1
    room_id, invite = next(iter(invited.items()))
    own_member = [
        e
        for e in invite["invite_state"]["events"]
        if e["type"] == "m.room.member" and e["state_key"] == dana
    ]
    assert own_member[0]["content"]["is_direct"] is True  # Element lists it under People
    assert own_member[0]["sender"] == "@imago:localhost"
    assert (await m_direct(homeserver)) == {dana: [room_id]}

    await act(homeserver, token, room_id, "join")
    assert await texts_in(homeserver, token, room_id) == [
        (
            "@imago:localhost",
            {
                "msgtype": "m.text",
                "body": first,
                "format": "org.matrix.custom.html",
                "formatted_body": f"<code>{first}</code>",
            },
        )
    ]

    rooms_before = (await bot_get(homeserver, "v3/joined_rooms"))["joined_rooms"]
    await messenger.send(GROUP_ID, dana, second)
    assert (await bot_get(homeserver, "v3/joined_rooms"))["joined_rooms"] == rooms_before
    assert (await m_direct(homeserver)) == {dana: [room_id]}
    assert [body["body"] for _, body in await texts_in(homeserver, token, room_id)] == [
        first,
        second,
    ]
    async with homeserver.async_client(token) as client:
        joined = (await client.get("/_matrix/client/v3/joined_rooms")).json()["joined_rooms"]
    assert joined == [room_id]

    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert first not in logged and second not in logged


async def test_after_the_user_left_a_new_direct_room_is_made(
    homeserver: Synapse, messenger: MatrixDirectMessages
) -> None:
    erin, token = await homeserver.aregister_user(unique("erin"), "secret")
    await messenger.send(GROUP_ID, erin, "one")
    invited, since = await invites(homeserver, token)
    (old_room,) = invited.keys()
    await act(homeserver, token, old_room, "leave")  # rejects the invite

    await messenger.send(GROUP_ID, erin, "two")
    invited, _ = await invites(homeserver, token, since)
    (new_room,) = invited.keys()
    assert new_room != old_room
    assert (await m_direct(homeserver))[erin] == [old_room, new_room]
    await act(homeserver, token, new_room, "join")
    assert [body["body"] for _, body in await texts_in(homeserver, token, new_room)] == ["two"]


@pytest.mark.parametrize(
    "recipient",
    ["@nobody-here:localhost", "@bob:nonexistent.invalid"],
    ids=["unknown local user", "unknown server"],
)
async def test_an_unreachable_user_fails_without_leaving_a_room(
    homeserver: Synapse, messenger: MatrixDirectMessages, recipient: str
) -> None:
    rooms_before = (await bot_get(homeserver, "v3/joined_rooms"))["joined_rooms"]
    secret = f"credential {secrets.token_hex(8)}"
    with pytest.raises(DirectMessageFailed) as failed:
        await messenger.send(GROUP_ID, recipient, secret)
    assert secret not in str(failed.value)
    assert recipient in str(failed.value)
    assert (await bot_get(homeserver, "v3/joined_rooms"))["joined_rooms"] == rooms_before


async def test_refused_before_any_request(messenger: MatrixDirectMessages) -> None:
    with pytest.raises(DirectMessageFailed, match="not a Matrix user"):
        await messenger.send(GROUP_ID, "@imago:localhost", "secret")
    with pytest.raises(DirectMessageFailed, match="no live group"):
        await messenger.send(GROUP_ID + 1, "@dana:localhost", "secret")


async def test_a_homeserver_that_does_not_answer_fails_cleanly() -> None:
    from tests.support import free_port

    client = AppserviceClient(f"http://127.0.0.1:{free_port()}", "token", timeout=5)
    try:
        messenger = MatrixDirectMessages(client, MatrixIds("localhost"), OneGroup())
        with pytest.raises(DirectMessageFailed, match="could not be reached"):
            await messenger.send(GROUP_ID, "@dana:localhost", "secret")
    finally:
        await client.close()

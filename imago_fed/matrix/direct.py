"""Private messages from the bridge bot to one Matrix user, sent now, kept nowhere.

The :class:`~imago_fed.domain.ports.DirectMessenger` for Matrix user ids. What
goes through here are secrets (voting credentials), so nothing is queued,
stored or logged with its text: one call, one ``m.room.message``, or
:class:`~imago_fed.domain.ports.DirectMessageFailed` with a reason that never
quotes the text::

    send(group, @user:server, text)
      ├─ the group is live?  the user exists?  (profile: 404 -> failed, 5xx ->
      │                       their server is unreachable -> failed)
      ├─ the bot's m.direct account data lists a room with the user where
      │  the bot is joined, the user joined or invited, and nothing is
      │  encrypted?  ──> reuse it (a second message lands in the same room)
      │  else createRoom {is_direct, trusted_private_chat, invite: [user]}
      │       and append the room to m.direct[user] (what Element reads)
      └─ PUT m.room.message (m.text, optional HTML) with a random txn id

Every group's messages come from the one bot (the appservice's
``sender_localpart``, which also creates and runs every group's space), so a
user has one direct room with the bot, whichever group writes.

Why the checks before createRoom: Synapse accepts an invite to a local user
that does not exist, and when the invitee's server cannot be reached it
fails *after* creating the room, leaving the bot alone in it. The profile
look-up catches both cheaply; a failure it does not foresee still raises.

Encrypted rooms are skipped, not written to: the bot has no Olm device, and
a clear-text secret in a room the user believes encrypted would mislead.

What the homeserver keeps: the message is an event in the room, stored by
the user's homeserver (and ours) like any other Matrix message. Nothing of
it is kept by Imago (no table, no queue, no log line with the text). The
transaction id is random, never derived from the text.

Concurrent sends to one user in this process are serialised, so they share
one room; two processes racing on a first message may create two rooms
(both end up in m.direct; the newest is used afterwards).
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
import weakref
from typing import Any

import aiohttp

from imago_fed.domain.ports import DirectMessageFailed, GroupRepository
from imago_fed.matrix.client import AppserviceClient, HomeserverAway, MatrixError, path
from imago_fed.matrix.ids import MatrixIds

__all__ = ["MatrixDirectMessages", "message_content"]

log = logging.getLogger(__name__)
M_DIRECT = "m.direct"
_USER_ID = re.compile(r"@[^\s:@]+:[A-Za-z0-9.\-\[\]:]+")
_TRANSPORT_ERRORS = (OSError, TimeoutError, aiohttp.ClientError)


def message_content(text: str, html: str | None = None) -> dict[str, Any]:
    """The ``m.room.message`` content: ``m.text``, with ``formatted_body`` if HTML is given."""
    content: dict[str, Any] = {"msgtype": "m.text", "body": text}
    if html:
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = html
    return content


class MatrixDirectMessages:
    """Direct messages from the bridge bot; see the module docstring."""

    def __init__(self, client: AppserviceClient, ids: MatrixIds, groups: GroupRepository) -> None:
        self._client, self._ids, self._groups = client, ids, groups
        # One lock per recipient while someone holds or waits for it (weak values).
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def accepts(self, recipient: str) -> bool:
        """Matrix user ids, except the bridge's own users (the bot and the puppets)."""
        return bool(_USER_ID.fullmatch(recipient)) and not self._ids.is_ours(recipient)

    async def send(
        self, group_id: int, recipient: str, text: str, *, html: str | None = None
    ) -> None:
        if not self.accepts(recipient):
            raise DirectMessageFailed(f"{recipient!r} is not a Matrix user the bot can write to")
        if await self._groups.get_by_id(group_id) is None:
            raise DirectMessageFailed(f"no live group with id {group_id}")
        lock = self._locks.get(recipient)
        if lock is None:
            lock = self._locks[recipient] = asyncio.Lock()
        try:
            async with lock:
                await self._check_user(recipient)
                room_id = await self._direct_room(recipient)
                await self._client.send_message(
                    room_id, f"imago-dm-{uuid.uuid4().hex}", message_content(text, html)
                )
        except HomeserverAway as exc:  # a MatrixError, but nobody refused anything
            raise DirectMessageFailed(
                f"the homeserver could not be reached ({exc.message[:200]})"
            ) from exc
        except MatrixError as exc:
            raise DirectMessageFailed(
                f"the homeserver refused ({exc.status} {exc.errcode}: {exc.message[:200]})"
            ) from exc
        except _TRANSPORT_ERRORS as exc:
            raise DirectMessageFailed(
                f"the homeserver could not be reached ({type(exc).__name__})"
            ) from exc
        log.info("direct message sent", extra={"group_id": group_id, "recipient": recipient})

    # ----------------------------------------------------------- private
    async def _check_user(self, user_id: str) -> None:
        try:
            await self._client.request("GET", f"v3/profile/{path(user_id)}")
        except MatrixError as exc:
            if exc.status == 404:
                raise DirectMessageFailed(f"no Matrix user {user_id}") from exc
            if exc.status >= 500:
                raise DirectMessageFailed(
                    f"the server of {user_id} cannot be reached ({exc.status} {exc.errcode})"
                ) from exc
            # 401/403: the user's server keeps profiles private; the invite will tell.

    async def _direct_room(self, user_id: str) -> str:
        """A room in m.direct that still works for ``user_id``, or a new one."""
        for room_id in reversed((await self._m_direct()).get(user_id, [])):
            if await self._usable(room_id, user_id):
                return room_id
        created = await self._client.request(
            "POST",
            "v3/createRoom",
            {
                "is_direct": True,
                "preset": "trusted_private_chat",
                "visibility": "private",
                "invite": [user_id],
            },
        )
        room_id = str(created["room_id"])
        # Read again just before writing: the rooms of other users may have changed.
        direct = await self._m_direct()
        rooms = [r for r in direct.get(user_id, []) if r != room_id]
        direct[user_id] = [*rooms, room_id]
        await self._client.request(
            "PUT", f"v3/user/{path(self._ids.bot)}/account_data/{M_DIRECT}", direct
        )
        return room_id

    async def _m_direct(self) -> dict[str, list[str]]:
        try:
            data = await self._client.request(
                "GET", f"v3/user/{path(self._ids.bot)}/account_data/{M_DIRECT}"
            )
        except MatrixError as exc:
            if exc.status == 404:
                return {}
            raise
        return {
            user: [room for room in rooms if isinstance(room, str)]
            for user, rooms in data.items()
            if isinstance(user, str) and isinstance(rooms, list)
        }

    async def _usable(self, room_id: str, user_id: str) -> bool:
        """The bot is joined, the user joined or invited, and the room is not encrypted."""
        try:
            found = await self._client.request("GET", f"v3/rooms/{path(room_id)}/members")
        except MatrixError as exc:
            if exc.status in (403, 404):  # the bot was never in it, or the room is gone
                return False
            raise
        members: dict[str, str] = {}
        for event in found.get("chunk", []):
            if isinstance(event, dict) and isinstance(event.get("content"), dict):
                members[str(event.get("state_key"))] = str(event["content"].get("membership"))
        if members.get(self._ids.bot) != "join" or members.get(user_id) not in ("join", "invite"):
            return False
        try:
            await self._client.request("GET", f"v3/rooms/{path(room_id)}/state/m.room.encryption/")
        except MatrixError as exc:
            if exc.status == 404:
                return True
            raise
        return False

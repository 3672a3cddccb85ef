"""The Matrix side of a group's decisions on people and content (a ``MemberNetwork``).

    admit            unban where banned, invite into the space and every room
                     (they accept the invite: joined, they count as members)
    remove           banned from every room and the space, with the reason
                     (a kick they could undo by rejoining an open space)
    publish          the bot says the text in the `announcements` room
    remove_content   the event (or the bridged copy of a fediverse post)
                     redacted by the bot, the rooms' creator
    apply_permissions  `events_default` of general / announcements follow the
                     group's rights: 0 when members may, 50 (moderators) else

Every call is safe to repeat: transaction ids derive from the decision,
invites and bans of someone already invited or banned change nothing.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from imago_fed.domain.errors import Conflict
from imago_fed.domain.groups import Group
from imago_fed.domain.membership import Permissions, Right, member_network
from imago_fed.matrix import outbound
from imago_fed.matrix.client import MatrixError, path
from imago_fed.matrix.ids import transaction_id
from imago_fed.matrix.rooms import CHILD_KINDS, MODERATOR_LEVEL

if TYPE_CHECKING:
    from imago_fed.matrix.bridge import MatrixBridge

__all__ = ["MatrixMembers"]

#: The room each right governs, and the rights that are not about a room.
RIGHT_ROOMS = {Right.POST: "general", Right.ANNOUNCE: "announcements"}


class MatrixMembers:
    name = "matrix"

    def __init__(self, bridge: MatrixBridge) -> None:
        self._bridge = bridge
        self._client = bridge.client

    def recognises(self, member_id: str) -> bool:
        return member_network(member_id) == "matrix" and not self._bridge.ids.is_ours(member_id)

    def _order(self, rooms: dict[str, str]) -> list[str]:
        """The space first (the rooms are restricted to its members), then the rooms."""
        return [rooms["space"], *(rooms[k] for k in CHILD_KINDS if k in rooms)]

    async def admit(self, group: Group, member_id: str, *, reason: str) -> str:
        assert group.id is not None
        rooms = await self._bridge.rooms(group)
        for room_id in self._order(rooms):
            with contextlib.suppress(MatrixError):  # not banned: nothing to lift
                await self._client.request(
                    "POST", f"v3/rooms/{path(room_id)}/unban",
                    {"user_id": member_id, "reason": reason},
                )  # fmt: skip
            await self._client.invite(room_id, member_id)
        joined = await self._bridge.store.members(group.id, "joined")
        if member_id not in joined:
            now = self._bridge.clock.now()
            await self._bridge.store.set_member(group.id, member_id, True, now, state="invited")
        return f"invited {member_id} into the space and its {len(rooms) - 1} rooms"

    async def remove(self, group: Group, member_id: str, *, reason: str) -> str:
        assert group.id is not None
        rooms = await self._bridge.rooms(group)
        known = set(await self._bridge.store.members(group.id, "joined"))
        known |= set(await self._bridge.store.members(group.id, "invited"))
        known |= set(await self._bridge.store.members(group.id, "knocked"))
        if member_id not in known:
            raise Conflict(f"{member_id} is not a member of {group.slug} in Matrix")
        for room_id in reversed(self._order(rooms)):
            await self._client.request(
                "POST", f"v3/rooms/{path(room_id)}/ban", {"user_id": member_id, "reason": reason}
            )
        await self._bridge.store.set_member(group.id, member_id, False, self._bridge.clock.now())
        return f"banned {member_id} from the space and its {len(rooms) - 1} rooms ({reason})"

    async def publish(self, group: Group, key: str, text: str) -> str:
        rooms = await self._bridge.rooms(group)
        room_id = rooms["announcements"]
        content = {"msgtype": "m.text", "body": text}
        event_id = await self._client.send_message(room_id, transaction_id("publish", key), content)
        return f"said in the announcements room ({event_id})"

    async def remove_content(self, group: Group, ref: str, *, reason: str) -> str | None:
        assert group.id is not None
        rooms = await self._bridge.rooms(group)
        targets: list[tuple[str, str]] = []
        if ref.startswith("$"):
            for room_id in rooms.values():
                if await self._has_event(room_id, ref):
                    targets.append((room_id, ref))
                    break
        else:  # a fediverse post the bridge copied into the general room
            event_id = await self._bridge.store.event_for_object(ref, rooms["general"])
            if event_id:
                targets.append((rooms["general"], event_id))
        for room_id, event_id in targets:
            txn = transaction_id("moderate", event_id)
            await self._client.request(
                "PUT", f"v3/rooms/{path(room_id)}/redact/{path(event_id)}/{path(txn)}",
                {"reason": reason},
            )  # fmt: skip
        if not targets:
            return None
        return f"redacted {targets[0][1]} in Matrix"

    async def _has_event(self, room_id: str, event_id: str) -> bool:
        try:
            await self._client.request("GET", f"v3/rooms/{path(room_id)}/event/{path(event_id)}")
        except MatrixError as exc:
            if exc.status in (403, 404):
                return False
            raise
        return True

    async def apply_permissions(self, group: Group, permissions: Permissions) -> str | None:
        rooms = await self._bridge.rooms(group)
        changed = []
        for right, kind in RIGHT_ROOMS.items():
            wanted = MODERATOR_LEVEL if permissions.level(right) == "moderators" else 0
            room_id = rooms[kind]
            levels = await self._client.request(
                "GET", f"v3/rooms/{path(room_id)}/state/m.room.power_levels/"
            )
            if levels.get("events_default", 0) != wanted:
                await self._client.send_state(
                    room_id, "m.room.power_levels", "", {**levels, "events_default": wanted}
                )
                changed.append(f"{kind}: {'moderators' if wanted else 'members'} post")
        return "Matrix power levels: " + ", ".join(changed) if changed else None

    async def tell(self, group: Group, room_kind: str, text: str, key: str) -> None:
        """A notice from the bot in one of the group's rooms."""
        rooms = await self._bridge.rooms(group)
        await self._client.send_message(
            rooms[room_kind], transaction_id("tell", key), outbound.notice(text)
        )

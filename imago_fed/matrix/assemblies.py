"""Assemblies in Matrix: a room per assembly in the group's space, with its call.

    assembly_convened -> a room "<group>: Assembly - <title>" in the space
                         (restricted to the space's members), a Jitsi call
                         widget in it (Element shows it as the room's call),
                         and the agenda posted
    assembly_said     -> the chair's words, as notices in that room
    assembly_closed   -> the minutes, in that room and in announcements

The room is kept in the group's room map under the kind ``assembly:<id>``,
so events from it find their assembly: a member joining the room (or the
call, an MSC3401 call member event) is present; ``!imago`` commands there
apply to that assembly.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from imago_fed.domain.events import (
    AssemblyClosed,
    AssemblyConvened,
    AssemblySaid,
    GroupEvent,
    Kind,
    handles,
)
from imago_fed.matrix import outbound
from imago_fed.matrix.ids import transaction_id
from imago_fed.matrix.rooms import create_or_adopt

if TYPE_CHECKING:
    from imago_fed.matrix.bridge import MatrixBridge

__all__ = ["AssemblyRooms", "assembly_of_kind", "call_widget", "room_kind"]

PREFIX = "assembly:"
WIDGET_TYPE = "im.vector.modular.widgets"
LAYOUT_TYPE = "io.element.widgets.layout"


def room_kind(assembly_id: int) -> str:
    return f"{PREFIX}{assembly_id}"


def assembly_of_kind(kind: str) -> int | None:
    """The assembly a room belongs to, from its kind in the room map."""
    if kind.startswith(PREFIX) and kind[len(PREFIX) :].isdigit():
        return int(kind[len(PREFIX) :])
    return None


def call_widget(domain: str, room_id: str, title: str, creator: str) -> tuple[str, dict[str, Any]]:
    """(state key, content) of a Jitsi widget as Element writes one.

    The conference id is derived from the room id, so every client (and a
    second run of this code) opens the same call.
    """
    conference = "Imago" + hashlib.sha256(room_id.encode()).hexdigest()[:24]
    widget_id = f"imago_call_{conference[-12:]}"
    url = (
        f"https://{domain}/{conference}#"
        "userInfo.displayName=$matrix_display_name&config.prejoinPageEnabled=true"
    )
    return widget_id, {
        "type": "jitsi",
        "id": widget_id,
        "name": "Assembly call",
        "url": url,
        "creatorUserId": creator,
        "data": {
            "domain": domain,
            "conferenceId": conference,
            "roomName": title,
            "isAudioOnly": False,
            "url": f"https://{domain}/{quote(conference)}",
        },
    }


def _room_request(group_name: str, title: str, space_id: str, server: str) -> dict[str, Any]:
    return {
        "name": f"{group_name}: Assembly \u2013 {title}"[:250],
        "topic": f"Assembly \u201c{title}\u201d: !imago speak to ask for the floor, "
        "!imago move <motion>, !imago second <n>.",
        "preset": "private_chat",
        "visibility": "private",
        "power_level_content_override": {"events_default": 0, "invite": 0},
        "initial_state": [
            {"type": "m.space.parent", "state_key": space_id,
             "content": {"via": [server], "canonical": True}},
            {"type": "m.room.join_rules", "state_key": "",
             "content": {"join_rule": "restricted",
                         "allow": [{"type": "m.room_membership", "room_id": space_id}]}},
            {"type": "m.room.history_visibility", "state_key": "",
             "content": {"history_visibility": "shared"}},
            {"type": "m.room.guest_access", "state_key": "",
             "content": {"guest_access": "forbidden"}},
        ],
    }  # fmt: skip


class AssemblyRooms:
    """The Matrix bridge's handlers of assembly events."""

    def __init__(self, bridge: MatrixBridge, call_domain: str) -> None:
        self._bridge, self._call_domain = bridge, call_domain

    async def room_of(self, group_id: int, assembly_id: int) -> str | None:
        return (await self._bridge.store.rooms_of(group_id)).get(room_kind(assembly_id))

    @handles(Kind.ASSEMBLY_CONVENED)
    async def _convened(self, event: GroupEvent[AssemblyConvened]) -> None:
        bridge, data = self._bridge, event.data
        group = await bridge.groups.get_by_id(event.group_id)
        if group is None or group.id is None:
            return
        rooms = await bridge.rooms(group)
        kind = room_kind(data.assembly_id)
        room_id = rooms.get(kind)
        if room_id is None:
            alias_part = f"assembly{data.assembly_id}"
            request = _room_request(group.name, data.title, rooms["space"], bridge.ids.server_name)
            request["room_alias_name"] = bridge.ids.room_alias_localpart(group.slug, alias_part)
            alias = bridge.ids.room_alias(group.slug, alias_part)
            room_id, _ = await create_or_adopt(bridge.client, alias, request)
            await bridge.store.save_room(group.id, kind, room_id, alias, bridge.clock.now())
        await bridge.client.send_state(
            rooms["space"], "m.space.child", room_id,
            {"via": [bridge.ids.server_name], "order": f"50-{data.assembly_id:06d}"},
        )  # fmt: skip
        widget_id, widget = call_widget(self._call_domain, room_id, data.title, bridge.ids.bot)
        await bridge.client.send_state(room_id, WIDGET_TYPE, widget_id, widget)
        await bridge.client.send_state(
            room_id, LAYOUT_TYPE, "",
            {"widgets": {widget_id: {"container": "top", "index": 0, "width": 100,
                                     "height": 60}}},
        )  # fmt: skip
        starts = datetime.fromisoformat(data.starts_at)
        agenda = "\n".join(f"{n}. {item}" for n, item in enumerate(data.agenda, 1))
        text = (
            f"Assembly \u201c{data.title}\u201d, convened by {data.convened_by}, "
            f"opens {starts:%Y-%m-%d %H:%M} UTC. Agenda:\n{agenda}\n"
            "Join the call in this room. Commands: !imago speak (ask for the floor), "
            "!imago done (end your turn), !imago move <motion>, !imago second <n>; "
            "the chair: !imago next, !imago adjourn."
        )
        await bridge.client.send_message(
            room_id, transaction_id(event.dedupe_key, room_id), outbound.notice(text)
        )

    @handles(Kind.ASSEMBLY_SAID)
    async def _said(self, event: GroupEvent[AssemblySaid]) -> None:
        room_id = await self.room_of(event.group_id, event.data.assembly_id)
        if room_id is not None:
            await self._bridge.client.send_message(
                room_id, transaction_id(event.dedupe_key, room_id),
                outbound.notice(event.data.text),
            )  # fmt: skip

    @handles(Kind.ASSEMBLY_CLOSED)
    async def _closed(self, event: GroupEvent[AssemblyClosed]) -> None:
        rooms = await self._bridge.store.rooms_of(event.group_id)
        targets = [rooms.get(room_kind(event.data.assembly_id)), rooms.get("announcements")]
        for room_id in [r for r in targets if r]:
            content = {
                "msgtype": "m.notice",
                "body": event.data.minutes_text,
                "format": "org.matrix.custom.html",
                "formatted_body": event.data.minutes_html,
            }
            await self._bridge.client.send_message(
                room_id, transaction_id(event.dedupe_key, room_id), content
            )

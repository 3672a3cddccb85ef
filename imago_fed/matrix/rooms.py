"""A group's space and rooms: created lazily, adopted if they exist, never twice.

    space  #<prefix><slug>          m.space; public for open groups; only the
                                    bridge posts in it (events_default 100)
      ├─ general                    chat, bridged both ways with the fediverse
      ├─ decisions · resources      for later features (proposals, offers)
      └─ announcements              moderators post (events_default 50)

Child rooms are ``restricted`` to members of the space, and linked both ways
(``m.space.child`` in the space, ``m.space.parent`` in the room), with ``via``
= our configured server name: room ids carry no server name in room
version 12. The bot creates every room, so it is the creator (all-powerful)
and is never listed in ``power_level_content_override.users``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from imago_fed.domain.groups import Group
from imago_fed.domain.ports.bridge import RoomMap
from imago_fed.matrix.client import AppserviceClient, MatrixError, path
from imago_fed.matrix.ids import MatrixIds

__all__ = [
    "CHILD_KINDS",
    "create_or_adopt",
    "ensure_group_rooms",
    "sync_power_levels",
    "update_space_profile",
]

log = logging.getLogger(__name__)
CHILD_KINDS = ("general", "decisions", "resources", "announcements")
TITLES = {
    "general": "General",
    "decisions": "Decisions",
    "resources": "Resources",
    "announcements": "Announcements",
}


def _space_request(group: Group, ids: MatrixIds) -> dict[str, Any]:
    public = not group.manually_approves_followers
    request: dict[str, Any] = {
        "name": group.name,
        "topic": group.summary,
        "room_alias_name": ids.space_alias_localpart(group.slug),
        "creation_content": {"type": "m.space"},
        "preset": "public_chat" if public else "private_chat",
        "visibility": "public" if public else "private",
        "power_level_content_override": {"events_default": 100, "invite": 50},
        "initial_state": [
            {
                "type": "m.room.history_visibility",
                "state_key": "",
                "content": {"history_visibility": "world_readable" if public else "shared"},
            },
            {
                "type": "m.room.guest_access",
                "state_key": "",
                "content": {"guest_access": "forbidden"},
            },
        ],
    }
    if not public:  # invite-only groups: people knock, a moderator lets them in
        request["initial_state"].append(
            {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "knock"}}
        )
    return request


def _room_request(group: Group, kind: str, space_id: str, ids: MatrixIds) -> dict[str, Any]:
    via = [ids.server_name]
    return {
        "name": f"{group.name}: {TITLES[kind]}",
        "topic": group.summary,
        "room_alias_name": ids.room_alias_localpart(group.slug, kind),
        "preset": "private_chat",
        "visibility": "private",
        "power_level_content_override": {
            "events_default": 50 if kind == "announcements" else 0,
            "invite": 0,
        },
        "initial_state": [
            {
                "type": "m.space.parent",
                "state_key": space_id,
                "content": {"via": via, "canonical": True},
            },
            {
                "type": "m.room.join_rules",
                "state_key": "",
                "content": {
                    "join_rule": "restricted",
                    "allow": [{"type": "m.room_membership", "room_id": space_id}],
                },
            },
            {
                "type": "m.room.history_visibility",
                "state_key": "",
                "content": {"history_visibility": "shared"},
            },
            {
                "type": "m.room.guest_access",
                "state_key": "",
                "content": {"guest_access": "forbidden"},
            },
        ],
    }


async def create_or_adopt(
    client: AppserviceClient, alias: str, request: dict[str, Any]
) -> tuple[str, bool]:
    """(room id, created?) for ``alias``: an existing room is adopted."""
    existing = await client.resolve_alias(alias)
    if existing:
        return existing, False
    try:
        created = await client.request("POST", "v3/createRoom", request)
    except MatrixError as exc:
        # Taken between our look and our create: refused up front (M_ROOM_IN_USE),
        # or, when the other create took the alias while ours ran, a 409 after
        # the room was made (a stray room nobody is invited to). Either way:
        # the alias's room is the group's.
        if exc.errcode != "M_ROOM_IN_USE" and exc.status != 409:
            raise
        adopted = await client.resolve_alias(alias)  # another worker won the race
        if not adopted:
            raise
        return adopted, False
    return str(created["room_id"]), True


async def ensure_group_rooms(
    client: AppserviceClient, rooms: RoomMap, ids: MatrixIds, group: Group, now: datetime
) -> dict[str, str]:
    """The group's room ids by kind ('space' and CHILD_KINDS), creating what is missing."""
    assert group.id is not None
    known = await rooms.rooms_of(group.id)
    if "space" not in known:
        space_id, created = await create_or_adopt(
            client, ids.space_alias(group.slug), _space_request(group, ids)
        )
        await rooms.save_room(group.id, "space", space_id, ids.space_alias(group.slug), now)
        known["space"] = space_id
        # not "created": a LogRecord attribute, which ``extra`` may not overwrite
        log.info("group space ready", extra={"group": group.slug, "made_now": created})
    space_id = known["space"]
    for order, kind in enumerate(CHILD_KINDS):
        if kind in known:
            continue
        alias = ids.room_alias(group.slug, kind)
        room_id, _ = await create_or_adopt(client, alias, _room_request(group, kind, space_id, ids))
        await client.send_state(
            space_id,
            "m.space.child",
            room_id,
            {"via": [ids.server_name], "order": f"{order:02d}", "suggested": kind == "general"},
        )
        await rooms.save_room(group.id, kind, room_id, alias, now)
        known[kind] = room_id
    return known


async def update_space_profile(
    client: AppserviceClient, rooms: dict[str, str], group: Group
) -> None:
    """Name and topic follow the group's."""
    await client.send_state(rooms["space"], "m.room.name", "", {"name": group.name})
    await client.send_state(rooms["space"], "m.room.topic", "", {"topic": group.summary})


MODERATOR_LEVEL = 50


async def sync_power_levels(client: AppserviceClient, room_id: str, moderators: list[str]) -> None:
    """Group moderators get power level 50 in a room, former ones lose it.

    Levels other than 50 (admins at 100, anyone set by hand) are left alone,
    and the bot, the room's creator, is never listed (room version 12).
    """
    levels = await client.request("GET", f"v3/rooms/{path(room_id)}/state/m.room.power_levels/")
    users = dict(levels.get("users", {}))
    changed = False
    for user, level in list(users.items()):
        if level == MODERATOR_LEVEL and user not in moderators:
            del users[user]
            changed = True
    for user in moderators:
        if users.get(user, 0) < MODERATOR_LEVEL:
            users[user] = MODERATOR_LEVEL
            changed = True
    if changed:
        await client.send_state(room_id, "m.room.power_levels", "", {**levels, "users": users})

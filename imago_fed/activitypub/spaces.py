"""A group's Matrix space in its actor document, both ways.

Out: the group's actor names its space, so that another server can link it
into (or under) its own groups' spaces when the groups relate::

    "matrixSpace": {"matrixAlias": "#_imago_garden:matrix.a.example",
                    "matrixRoomId": "!Bq8xN0aRqk2vJbJrGfRzV1oWm6k",
                    "matrixServer": "matrix.a.example"}

``matrixAlias`` is always there when the instance runs the Matrix bridge; the
room id only once the space exists (room ids are opaque and, from room
version 12, carry no server name: ``matrixServer`` is the ``via`` to reach it
through). The terms live in our namespace and are declared inline
(``documents.CONTEXT``); docs/FEDERATION-GRAPH.md shows them.

In: :func:`parse_space` reads the same from any actor we fetch. A room id is
preferred; an alias alone is kept (the Matrix side resolves it through its
homeserver); anything malformed, or no server to reach it through, is no
space at all: the relation is then linked nowhere, as with a plain fediverse
group.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["parse_space", "space_property"]

# Matrix identifiers are at most 255 bytes; a server name is a host (DNS name,
# IPv4 or a bracketed IPv6 literal) with an optional port (spec: appendices).
_MAX = 255
_SERVER = re.compile(r"(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]{1,230})(?::[0-9]{1,5})?")
_ROOM_ID = re.compile(r"![\x21-\x7e]+")
_ALIAS = re.compile(r"#[\x21-\x39\x3b-\x7e]+:(.+)")


def space_property(alias: str, room_id: str | None, server: str) -> dict[str, Any]:
    """The ``matrixSpace`` value of a group's actor (``room_id`` None: not created yet)."""
    space = {"matrixAlias": alias, "matrixServer": server}
    if room_id:
        space["matrixRoomId"] = room_id
    return space


def _server(value: Any) -> str:
    if isinstance(value, str) and len(value) <= _MAX and _SERVER.fullmatch(value):
        return value
    return ""


def parse_space(document: dict[str, Any]) -> tuple[str, str]:
    """(room id or alias, server name) of the space a group's actor publishes;
    ("", "") when it publishes none we can use."""
    space = document.get("matrixSpace")
    if not isinstance(space, dict):
        return "", ""
    room_id, alias = space.get("matrixRoomId"), space.get("matrixAlias")
    alias_match = _ALIAS.fullmatch(alias) if isinstance(alias, str) and len(alias) <= _MAX else None
    server = _server(space.get("matrixServer"))
    if not server and alias_match:
        server = _server(alias_match.group(1))
    if not server:
        return "", ""
    if isinstance(room_id, str) and len(room_id) <= _MAX and _ROOM_ID.fullmatch(room_id):
        return room_id, server
    if alias_match:
        return str(alias), server
    return "", ""

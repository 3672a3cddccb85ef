"""The graph of groups in Matrix: sub-groups' spaces nest, announcements show up.

    relation_changed  accepted "other is our subgroup" (both groups here):
                        our space    m.space.child  <their space>  {"via": [server]}
                        their space  m.space.parent <our space>    {"via": [server]}
                      removed: both emptied (empty content unlinks);
                      every change: one sentence in the announcements room
    item_received     accept / released: the announcement in the announcements room
                      hold: the same, with the ``!imago release <id>`` moderators use

A remote sub-group has no space on our homeserver we could name, so only local
pairs nest; the sentence is said either way. The parent's event does the
linking (the child's own event, for the same edge, has ``other_is = parent``
and only says the sentence), so each edge is linked once. State events are
idempotent and messages carry transaction ids derived from the event, so
handling an event twice changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imago_fed.domain.events import GroupEvent, ItemReceived, Kind, RelationChanged, handles
from imago_fed.matrix import outbound
from imago_fed.matrix.ids import transaction_id

if TYPE_CHECKING:
    from imago_fed.matrix.bridge import MatrixBridge

__all__ = ["GraphEventsToMatrix"]

SHOWN_VERDICTS = frozenset({"accept", "hold", "released"})


class GraphEventsToMatrix:
    def __init__(self, bridge: MatrixBridge) -> None:
        self._bridge = bridge
        self._client = bridge.client

    async def _rooms_of(self, group_id: int) -> dict[str, str] | None:
        group = await self._bridge.groups.get_by_id(group_id)
        return None if group is None else await self._bridge.rooms(group)

    async def _say(self, event: GroupEvent[Any], room_id: str, content: dict[str, Any]) -> None:
        await self._client.send_message(room_id, transaction_id(event.dedupe_key, room_id), content)

    @handles(Kind.RELATION_CHANGED)
    async def _relation_changed(self, event: GroupEvent[RelationChanged]) -> None:
        rooms = await self._rooms_of(event.group_id)
        if rooms is None:
            return
        change = event.data
        await self._say(event, rooms["announcements"], outbound.notice(
            outbound.relation_text(change)))  # fmt: skip
        if change.other_is != "subgroup" or not change.other_slug:
            return
        if change.state not in ("accepted", "removed"):
            return
        child = await self._bridge.groups.get(change.other_slug)
        if child is None:
            return
        child_space = (await self._bridge.rooms(child))["space"]
        link: dict[str, Any] = {}  # empty content unlinks
        if change.state == "accepted":
            link = {"via": [self._bridge.ids.server_name]}
        await self._client.send_state(rooms["space"], "m.space.child", child_space, link)
        await self._client.send_state(child_space, "m.space.parent", rooms["space"], link)

    @handles(Kind.ITEM_RECEIVED)
    async def _item_received(self, event: GroupEvent[ItemReceived]) -> None:
        if event.data.verdict not in SHOWN_VERDICTS:
            return
        rooms = await self._rooms_of(event.group_id)
        if rooms is not None:
            await self._say(event, rooms["announcements"], outbound.item_content(event.data))

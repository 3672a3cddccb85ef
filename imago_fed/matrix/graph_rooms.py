"""The graph of groups in Matrix: sub-groups' spaces nest, announcements show up.

    relation_changed  accepted "other is our subgroup" (both groups here):
                        our space    m.space.child  <their space>  {"via": [server]}
                        their space  m.space.parent <our space>    {"via": [server]}
                      accepted with a group on another instance that publishes
                      its space (``other_space``, ``other_space_server``):
                        other is our subgroup:
                          our space  m.space.child  <their space>  {"via": [their server]}
                        other is our parent:
                          our space  m.space.parent <their space>  {"via": [their server]}
                      removed: the same state emptied (empty content unlinks);
                      every change: one sentence in the announcements room
    (relink)          the same links for a relation accepted earlier, said nowhere:
                      the other group published its space later, or the relation
                      predates linking (services/relations.py ``relink``)
    item_received     accept / released: the announcement in the announcements room
                      hold: the same, with the ``!imago release <id>`` moderators use

For a local pair the parent's event does the linking (the child's own event,
for the same edge, has ``other_is = parent`` and only says the sentence), so
each edge is linked once. Across instances each server writes only in its own
group's space, and the other server, told of the same edge by its own event,
writes the other half in the other space. The remote space is named by room id
(an alias is resolved through our homeserver, over federation); a remote group
that publishes no space (a plain fediverse group) is linked nowhere and only
the sentence is said. State events are idempotent and messages carry
transaction ids derived from the event, so handling an event twice changes
nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from imago_fed.domain.events import GroupEvent, ItemReceived, Kind, RelationChanged, handles
from imago_fed.matrix import outbound
from imago_fed.matrix.client import MatrixError
from imago_fed.matrix.ids import transaction_id

if TYPE_CHECKING:
    from imago_fed.matrix.bridge import MatrixBridge

__all__ = ["GraphEventsToMatrix"]

log = logging.getLogger(__name__)
SHOWN_VERDICTS = frozenset({"accept", "hold", "released"})
# What the other group is to ours -> the state event naming it in our space.
LINKED_REMOTE = {"subgroup": "m.space.child", "parent": "m.space.parent"}


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
        if not change.relink:  # a relink changes nothing worth saying
            await self._say(event, rooms["announcements"], outbound.notice(
                outbound.relation_text(change)))  # fmt: skip
        if change.state not in ("accepted", "removed"):
            return
        if change.other_slug:
            await self._link_local(change, rooms["space"])
        elif change.other_space and change.other_is in LINKED_REMOTE:
            await self._link_remote(change, rooms["space"])

    async def _link_local(self, change: RelationChanged, space: str) -> None:
        """Both halves, in both spaces: the parent's event does it."""
        if change.other_is != "subgroup":
            return
        child = await self._bridge.groups.get(change.other_slug)
        if child is None:
            return
        child_space = (await self._bridge.rooms(child))["space"]
        link: dict[str, Any] = {}  # empty content unlinks
        if change.state == "accepted":
            link = {"via": [self._bridge.ids.server_name]}
        await self._client.send_state(space, "m.space.child", child_space, link)
        await self._client.send_state(child_space, "m.space.parent", space, link)

    async def _link_remote(self, change: RelationChanged, space: str) -> None:
        """Our half only, in our space; the other server writes the other half."""
        other = change.other_space
        if other.startswith("#"):  # its server had not made the space when we read it
            try:
                resolved = await self._client.resolve_alias(other)
            except MatrixError as exc:  # its homeserver unreachable over federation
                resolved, error = None, str(exc)
            else:
                error = "no such alias"
            if not resolved:
                log.warning("remote space alias unresolvable",
                            extra={"alias": other, "error": error})  # fmt: skip
                return
            other = resolved
        link: dict[str, Any] = {}  # empty content unlinks
        if change.state == "accepted":
            link = {"via": [change.other_space_server]}
        await self._client.send_state(space, LINKED_REMOTE[change.other_is], other, link)

    @handles(Kind.ITEM_RECEIVED)
    async def _item_received(self, event: GroupEvent[ItemReceived]) -> None:
        if event.data.verdict not in SHOWN_VERDICTS:
            return
        rooms = await self._rooms_of(event.group_id)
        if rooms is not None:
            await self._say(event, rooms["announcements"], outbound.item_content(event.data))

"""Offers and needs in the group's ``resources`` room.

    intent_changed   first time: a notice with the intent in words and its fields
                     (``org.imago.intent``: id, ap_id, purpose, action, resource,
                     quantity, remaining, state); later: an edit of that notice
                     (``m.replace``), so the room keeps one message per intent
                     that always says where it stands
    match_suggested  a notice: the counterpart, its score and why

The message is remembered against the intent's Proposal id (the bridged
messages map), so an edit finds it and a repeated event sends nothing new;
each send carries a transaction id derived from the event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imago_fed.domain.events import GroupEvent, IntentChanged, Kind, MatchSuggested, handles
from imago_fed.matrix import outbound
from imago_fed.matrix.ids import transaction_id

if TYPE_CHECKING:
    from imago_fed.matrix.bridge import MatrixBridge

__all__ = ["ResourceRooms", "intent_content"]

FIELDS = "org.imago.intent"


def intent_content(intent: IntentChanged) -> dict[str, Any]:
    """The notice for an intent: its line in words and its fields."""
    return {
        "msgtype": "m.notice",
        "body": f"[{intent.intent_id}] {intent.text}",
        FIELDS: {
            "id": intent.intent_id, "ap_id": intent.ap_id, "purpose": intent.purpose,
            "action": intent.action, "name": intent.name, "resource": intent.resource,
            "quantity": intent.quantity, "remaining": intent.remaining, "state": intent.state,
        },
    }  # fmt: skip


def edit(original: str, new: dict[str, Any]) -> dict[str, Any]:
    return {
        **new,
        "body": "* " + new["body"],
        "m.new_content": new,
        "m.relates_to": {"rel_type": "m.replace", "event_id": original},
    }


class ResourceRooms:
    def __init__(self, bridge: MatrixBridge) -> None:
        self._bridge = bridge
        self._client, self._store = bridge.client, bridge.store

    async def _room(self, group_id: int) -> str | None:
        group = await self._bridge.groups.get_by_id(group_id)
        return None if group is None else (await self._bridge.rooms(group))["resources"]

    @handles(Kind.INTENT_CHANGED)
    async def _intent_changed(self, event: GroupEvent[IntentChanged]) -> None:
        room = await self._room(event.group_id)
        if room is None:
            return
        content = intent_content(event.data)
        txn = transaction_id(event.dedupe_key, room)
        original = await self._store.event_for_object(event.data.ap_id, room)
        if original is not None:
            await self._client.send_message(room, txn, edit(original, content))
            return
        event_id = await self._client.send_message(room, txn, content)
        await self._store.bridge(
            event_id=event_id, room_id=room, object_id=event.data.ap_id,
            group_id=event.group_id, origin="fediverse", now=self._bridge.clock.now(),
        )  # fmt: skip

    @handles(Kind.MATCH_SUGGESTED)
    async def _match_suggested(self, event: GroupEvent[MatchSuggested]) -> None:
        room = await self._room(event.group_id)
        if room is not None:
            await self._client.send_message(
                room, transaction_id(event.dedupe_key, room), outbound.notice(event.data.text)
            )

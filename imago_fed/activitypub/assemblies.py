"""An assembly's minutes in the fediverse: a Note by the group, to its followers.

Motions reach fediverse members on their own (each is a proposal, so a
Question); what this adds is the record once the assembly closes.
"""

from __future__ import annotations

from imago_fed.activitypub import outbound
from imago_fed.activitypub.documents import CONTEXT
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.publish import publish_to_followers
from imago_fed.activitypub.vocab import AS_PUBLIC
from imago_fed.domain.events import AssemblyClosed, GroupEvent, Kind, handles
from imago_fed.domain.ports import Clock, GroupRepository
from imago_fed.domain.ports.federation import Federation

__all__ = ["AssemblyMinutes"]


class AssemblyMinutes:
    def __init__(self, fed: Federation, ids: Ids, groups: GroupRepository, clock: Clock) -> None:
        self._fed, self._ids, self._groups, self._clock = fed, ids, groups, clock

    @handles(Kind.ASSEMBLY_CLOSED)
    async def on_group_event(self, event: GroupEvent[AssemblyClosed]) -> None:
        group = await self._groups.get_by_id(event.group_id)
        if group is None or group.id is None:
            return
        actor = self._ids.group(group.slug)
        followers = self._ids.group_collection(group.slug, "followers")
        note_id = f"{actor}/assemblies/{event.data.assembly_id}/minutes"
        now = self._clock.now()
        published = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        activity = {
            "@context": CONTEXT,
            "id": outbound.derived_id(self._ids, group.slug, "Create", event.dedupe_key),
            "type": "Create",
            "actor": actor,
            "to": [AS_PUBLIC],
            "cc": [followers],
            "object": {
                "id": note_id,
                "type": "Note",
                "attributedTo": actor,
                "content": event.data.minutes_html,
                "to": [AS_PUBLIC],
                "cc": [followers],
                "audience": actor,
                "published": published,
            },
            "published": published,
        }
        async with self._fed.transaction() as tx:
            await publish_to_followers(
                tx, group_id=group.id, activity=activity, object_id=note_id, now=now
            )

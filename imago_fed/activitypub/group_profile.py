"""Telling followers that the group itself changed: ``Update`` or ``Delete`` of the actor.

Mastodon refreshes a remote actor when it receives ``Update`` with the actor
document, and removes it on ``Delete`` of the actor; both come from the
group, signed with its key (still in the database after a soft delete).
"""

from __future__ import annotations

from typing import Any

from imago_fed.activitypub import documents, outbound
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.places import actor_fields
from imago_fed.activitypub.publish import publish_to_followers
from imago_fed.activitypub.vocab import AS_PUBLIC
from imago_fed.domain.events import GroupChanged, GroupDeleted, GroupEvent, Kind, handles
from imago_fed.domain.ports import Clock, GroupRepository
from imago_fed.domain.ports.federation import Federation
from imago_fed.domain.ports.media import GroupFaces
from imago_fed.services.proximity import Proximity

__all__ = ["GroupProfile"]


class GroupProfile:
    def __init__(
        self, fed: Federation, ids: Ids, groups: GroupRepository, clock: Clock,
        faces: GroupFaces | None = None, proximity: Proximity | None = None,
    ) -> None:  # fmt: skip
        self._fed, self._ids, self._groups, self._clock = fed, ids, groups, clock
        self._faces = faces  # avatar and header, when the media store is wired
        self._proximity = proximity  # the place and themes in the actor (places.py)

    @handles(Kind.GROUP_CHANGED, Kind.GROUP_DELETED)
    async def on_group_event(self, event: GroupEvent[GroupChanged | GroupDeleted]) -> None:
        data = event.data
        obj: dict[str, Any] | str  # the actor document, or only its id when deleted
        if isinstance(data, GroupChanged) and not data.created:
            group = await self._groups.get_by_id(event.group_id)
            if group is None:
                return
            slug = group.slug
            faces = await self._faces.faces_of(event.group_id) if self._faces else None
            body = documents.actor_document(
                group, self._ids, manually_approves=group.manually_approves_followers,
                discoverable=group.discoverable, faces=faces,
                graph=await actor_fields(self._proximity, slug),
            )  # fmt: skip
            body.pop("@context")
            kind, obj = "Update", body
        elif isinstance(data, GroupDeleted):
            slug = data.slug
            kind, obj = "Delete", self._ids.group(slug)
        else:
            return
        activity = {
            "@context": documents.CONTEXT,
            "id": outbound.derived_id(self._ids, slug, kind, event.dedupe_key),
            "type": kind,
            "actor": self._ids.group(slug),
            "object": obj,
            "to": [AS_PUBLIC],
            "cc": [self._ids.group_collection(slug, "followers")],
        }
        await publish_to_followers(
            self._fed, group_id=event.group_id, activity=activity, object_id=None,
            now=self._clock.now(),
        )  # fmt: skip

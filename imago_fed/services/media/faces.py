"""A group's faces: its avatar and its header picture.

    set(slug, role, bytes, alt) ──> images only ──> the library (checked,
        cleaned, kept) ──> group_faces ──> group event ``group_changed``
            activitypub/group_profile.py  Update(Group) with icon / image
            matrix/event_handlers.py      m.room.avatar of the space and rooms

Readers find the pictures with :meth:`GroupFacesService.of`.
"""

from __future__ import annotations

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.events import GroupChanged, GroupEvent
from imago_fed.domain.groups import GroupDirectory
from imago_fed.domain.media import Attachment, MediaRefused, alt_text, family, sniff
from imago_fed.domain.ports import Clock, GroupEventLog
from imago_fed.domain.ports.media import GroupFaces
from imago_fed.services.media.library import MediaLibrary, log

__all__ = ["ROLES", "GroupFacesService"]

ROLES = ("avatar", "header")
SOURCE = "directory"  # the same writer as the group's other profile changes


class GroupFacesService:
    def __init__(
        self,
        groups: GroupDirectory,
        library: MediaLibrary,
        faces: GroupFaces,
        events: GroupEventLog,
        clock: Clock,
    ) -> None:
        self._groups, self._library, self._faces = groups, library, faces
        self._events, self._clock = events, clock

    async def of(self, group_id: int) -> dict[str, Attachment]:
        return await self._faces.faces_of(group_id)

    async def set(
        self, slug: str, role: str, data: bytes, *, declared: str = "", alt: str = ""
    ) -> Attachment:
        """Make ``data`` the group's ``role`` picture; every network is told."""
        group = await self._groups.get(slug)
        assert group.id is not None
        _check_role(role)
        if family(sniff(data[:64]) or "") != "image":
            log.warning("media refused", extra={"reason": "a group picture must be an image",
                                                "origin": "upload", "size": len(data)})  # fmt: skip
            raise MediaRefused("a group picture must be an image (JPEG, PNG, GIF or WebP)")
        stored = await self._library.keep(data, declared=declared, origin="upload")
        now = self._clock.now()
        await self._faces.set_face(group.id, role, stored.id, alt_text(alt), now)
        await self._changed(group.id, f"face|{role}|{stored.id}|{now.isoformat()}")
        return stored.attachment(name=alt_text(alt))

    async def remove(self, slug: str, role: str) -> bool:
        group = await self._groups.get(slug)
        assert group.id is not None
        _check_role(role)
        removed = await self._faces.remove_face(group.id, role)
        if removed:
            await self._changed(group.id, f"face|{role}|removed|{self._clock.now().isoformat()}")
        return removed

    async def _changed(self, group_id: int, key: str) -> None:
        await self._events.record(GroupEvent(group_id, SOURCE, f"{key}|{group_id}", GroupChanged()))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")

"""Ports of the media area: where the bytes are, what we know of them, who fetches.

MediaBlobs       the bytes, named by their SHA-256 (a folder on disk, or a bucket)
MediaCatalogue   one row per file, and where each is known on each network
RemoteMedia      fetches a file from another server (the guarded client)
GroupFaces       each group's avatar and header
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from imago_fed.domain.media import Attachment, StoredMedia

__all__ = ["GroupFaces", "MediaBlobs", "MediaCatalogue", "RemoteMedia"]


class MediaBlobs(Protocol):
    async def put(self, media_id: str, data: bytes, media_type: str) -> None:
        """Keep ``data`` under ``media_id`` (a second put of the same id is a no-op)."""
        ...

    async def get(self, media_id: str) -> bytes | None:
        """The bytes, or None if they are not (or no longer) kept."""
        ...

    async def delete(self, media_id: str) -> None: ...


class MediaCatalogue(Protocol):
    async def add(self, media: StoredMedia, now: datetime) -> None:
        """Record a file (already recorded: only its last use moves)."""
        ...

    async def get(self, media_id: str) -> StoredMedia | None: ...

    async def touch(self, media_id: str, now: datetime) -> None:
        """A post carries the file again: its copy is kept longer."""
        ...

    async def link(self, network: str, ref: str, media_id: str, now: datetime) -> None:
        """Remember that ``ref`` (a URL, an mxc:// URI) on ``network`` is this file."""
        ...

    async def linked(self, network: str, ref: str) -> str | None:
        """The media id known as ``ref`` on ``network``, if any."""
        ...

    async def ref_of(self, media_id: str, network: str) -> str | None:
        """How ``network`` knows this file (its upload there), if it does."""
        ...

    async def unused_since(self, before: datetime, *, limit: int) -> list[str]:
        """Copies of other servers' files not used since ``before`` (never a group's
        face, never our members' own files), and thumbnails nothing points to."""
        ...

    async def forget(self, media_id: str) -> None: ...


class RemoteMedia(Protocol):
    async def fetch(self, url: str, *, max_bytes: int) -> tuple[bytes, str]:
        """(bytes, declared content type); MediaRefused when over ``max_bytes``,
        MediaUnavailable when the server cannot be reached or says no."""
        ...


class GroupFaces(Protocol):
    async def faces_of(self, group_id: int) -> dict[str, Attachment]:
        """The group's pictures by role (``avatar``, ``header``)."""
        ...

    async def set_face(
        self, group_id: int, role: str, media_id: str, alt: str, now: datetime
    ) -> None: ...

    async def remove_face(self, group_id: int, role: str) -> bool: ...

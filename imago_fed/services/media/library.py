"""The media library: the one way a file gets into our store, and out of it.

    keep(bytes, declared type)      an upload, a chat network's file
    fetch_remote(url, declared)     a fediverse attachment: fetched once per URL
        └─ check (domain/media.py: sniffed type, declared type, size cap)
           └─ image? clean_image (imaging.py): pixel cap, metadata out,
              thumbnail, blurhash   (in a thread: Pillow is CPU work)
              └─ blobs.put(sha256) · catalogue.add · catalogue.link(source)
    open(media_id)                  what /media/<id> serves
    prune(days)                     copies of others' files unused for that long go

Every refusal is logged here, once, with the reason and where the file came
from, and raised as :class:`MediaRefused` for the caller to skip the file;
nothing that arrives from outside can make it raise anything else but
:class:`MediaUnavailable` (try again later).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import timedelta

from imago_fed.domain.media import (
    ACCEPTED,
    MediaLimits,
    MediaRefused,
    StoredMedia,
    check,
    family,
    is_media_id,
    normalize_type,
)
from imago_fed.domain.ports import Clock
from imago_fed.domain.ports.media import MediaBlobs, MediaCatalogue, RemoteMedia
from imago_fed.services.media.imaging import clean_image

__all__ = ["FEDIVERSE", "MATRIX", "MediaLibrary"]

log = logging.getLogger(__name__)
FEDIVERSE, MATRIX = "fediverse", "matrix"  # networks in the catalogue's links
#: What servers call a file when they do not say what it is.
_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
#: Links naming whose picture a file is: (PERSON_AVATAR, chat user id) -> media.
PERSON_AVATAR = "person-avatar"


class MediaLibrary:
    def __init__(
        self,
        blobs: MediaBlobs,
        catalogue: MediaCatalogue,
        clock: Clock,
        limits: MediaLimits,
        remote: RemoteMedia | None = None,
    ) -> None:
        self.blobs, self.catalogue, self._clock = blobs, catalogue, clock
        self.limits, self._remote = limits, remote
        self._fetching: dict[str, tuple[asyncio.Lock, int]] = {}  # URL -> (lock, users)

    # ------------------------------------------------------------ in
    async def keep(
        self, data: bytes, *, declared: str = "", origin: str = "upload", source: str = ""
    ) -> StoredMedia:
        """Check, clean and store ``data``; the stored file (MediaRefused if refused)."""
        try:
            media_type = check(data[:64], len(data), self.limits, declared=declared)
            stored = await self._store(data, media_type, origin)
        except MediaRefused as exc:
            log.warning(
                "media refused",
                extra={"reason": exc.message, "origin": origin, "source": source[:300],
                       "declared": declared[:100], "size": len(data)},
            )  # fmt: skip
            raise
        log.info(
            "media kept",
            extra={"media": stored.id, "type": stored.media_type, "size": stored.size,
                   "origin": origin},
        )  # fmt: skip
        return stored

    async def fetch_remote(self, url: str, *, declared: str = "") -> StoredMedia:
        """The file at ``url``, fetched (guarded, capped) unless we already have it."""
        lock, users = self._fetching.get(url, (asyncio.Lock(), 0))
        self._fetching[url] = (lock, users + 1)  # the lock lives while anyone waits on it
        try:
            async with lock:
                known = await self.known(FEDIVERSE, url)
                if known is not None:
                    await self.catalogue.touch(known.id, self._clock.now())
                    return known
                if self._remote is None:
                    raise MediaRefused("this process fetches no remote media")
                named = normalize_type(declared)
                cap = self.limits.max_bytes(named if named in ACCEPTED else "")
                try:
                    data, served_as = await self._remote.fetch(url, max_bytes=cap)
                except MediaRefused as exc:
                    log.warning("media refused", extra={"reason": exc.message, "source": url[:300],
                                                        "origin": FEDIVERSE})  # fmt: skip
                    raise
                # What the server says outranks what the post said (unless it only says
                # "bytes"), and either must match the bytes.
                if normalize_type(served_as) in _GENERIC_TYPES:
                    served_as = ""
                stored = await self.keep(
                    data, declared=served_as or declared, origin=FEDIVERSE, source=url
                )
                await self.catalogue.link(FEDIVERSE, url, stored.id, self._clock.now())
                return stored
        finally:
            lock, users = self._fetching[url]
            if users == 1:
                del self._fetching[url]
            else:
                self._fetching[url] = (lock, users - 1)

    async def known(self, network: str, ref: str) -> StoredMedia | None:
        """The file ``network`` knows as ``ref``, if it is still in the store."""
        media_id = await self.catalogue.linked(network, ref)
        return await self.catalogue.get(media_id) if media_id else None

    async def remember(self, network: str, ref: str, media_id: str) -> None:
        await self.catalogue.link(network, ref, media_id, self._clock.now())

    async def ref_of(self, media_id: str, network: str) -> str | None:
        return await self.catalogue.ref_of(media_id, network)

    # ----------------------------------------------------------- out
    async def get(self, media_id: str) -> StoredMedia | None:
        return await self.catalogue.get(media_id) if is_media_id(media_id) else None

    async def open(self, media_id: str) -> tuple[StoredMedia, bytes] | None:
        """The file and its bytes, or None (unknown id, or its bytes are gone)."""
        stored = await self.get(media_id)
        if stored is None:
            return None
        data = await self.blobs.get(media_id)
        return (stored, data) if data is not None else None

    # ------------------------------------------------------ retention
    async def prune(self, *, days: int, limit: int = 100) -> int:
        """Forget copies of other servers' files unused for ``days`` (0: keep all).

        The bytes go first, then the row; the servers they came from still
        have them, and a post that carries one again fetches it again.
        """
        if days <= 0:
            return 0
        before = self._clock.now() - timedelta(days=days)
        gone = await self.catalogue.unused_since(before, limit=limit)
        for media_id in gone:
            await self.blobs.delete(media_id)
            await self.catalogue.forget(media_id)
        if gone:
            log.info("media pruned", extra={"count": len(gone), "days": days})
        return len(gone)

    # ------------------------------------------------------- private
    async def _store(self, data: bytes, media_type: str, origin: str) -> StoredMedia:
        if family(media_type) != "image":
            stored = StoredMedia(_sha256(data), media_type, len(data), origin=origin)
            await self._put(stored, data)
            return stored
        image = await asyncio.to_thread(clean_image, data, media_type, self.limits)
        thumbnail = StoredMedia(
            _sha256(image.thumbnail), image.thumbnail_type, len(image.thumbnail),
            image.thumbnail_width, image.thumbnail_height, origin="thumbnail",
        )  # fmt: skip
        await self._put(thumbnail, image.thumbnail)
        stored = StoredMedia(
            _sha256(image.data), media_type, len(image.data), image.width, image.height,
            image.blurhash, thumbnail_id=thumbnail.id, origin=origin,
        )  # fmt: skip
        await self._put(stored, image.data)
        return stored

    async def _put(self, stored: StoredMedia, data: bytes) -> None:
        await self.blobs.put(stored.id, data, stored.media_type)  # bytes first: a row means bytes
        await self.catalogue.add(stored, self._clock.now())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

"""Files between our media store and the homeserver's media repository.

    group -> Matrix   a stored file ──upload once (mxc remembered)──> m.image /
                      m.video / m.audio content, with info (mimetype, size,
                      w, h, thumbnail, blurhash); alt text is the body
    Matrix -> group   m.image / m.video / m.audio ──download (capped)──> the
                      media library (checked, cleaned) ──> an Attachment

:func:`media_content` and :func:`media_of_event` are pure; :class:`MatrixMedia`
does the uploads and downloads.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from imago_fed.domain.events import GroupEvent, PostShared
from imago_fed.domain.media import (
    Attachment,
    MediaRefused,
    MediaUnavailable,
    StoredMedia,
    alt_text,
    family,
)
from imago_fed.domain.ports.media import GroupFaces
from imago_fed.matrix.client import AppserviceClient, MatrixError, path
from imago_fed.matrix.ids import transaction_id
from imago_fed.services.media import MATRIX, PERSON_AVATAR, MediaLibrary

if TYPE_CHECKING:
    from imago_fed.matrix.bridge import MatrixBridge

__all__ = [
    "MEDIA_MSGTYPES",
    "MatrixMedia",
    "attachment_object_id",
    "media_content",
    "media_of_event",
    "send_attachments",
]

log = logging.getLogger(__name__)
MEDIA_MSGTYPES = {"m.image": "image", "m.video": "video", "m.audio": "audio"}
_EXTENSIONS = {
    "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
    "video/mp4": "mp4", "video/webm": "webm", "audio/mpeg": "mp3", "audio/ogg": "ogg",
    "audio/wav": "wav", "audio/flac": "flac",
}  # fmt: skip
BLURHASH_KEY = "xyz.amorgan.blurhash"  # MSC2448, read by Element and others


def filename(stored: StoredMedia) -> str:
    return f"{stored.id[:16]}.{_EXTENSIONS.get(stored.media_type, 'bin')}"


def media_content(
    stored: StoredMedia, mxc: str, *, alt: str = "",
    thumbnail: tuple[StoredMedia, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The content of the message that shows ``stored`` (uploaded as ``mxc``)."""
    kind = family(stored.media_type) or "file"
    info: dict[str, Any] = {"mimetype": stored.media_type, "size": stored.size}
    if stored.width and stored.height:
        info["w"], info["h"] = stored.width, stored.height
    if stored.blurhash:
        info[BLURHASH_KEY] = stored.blurhash
    if thumbnail is not None:
        small, small_mxc = thumbnail
        info["thumbnail_url"] = small_mxc
        info["thumbnail_info"] = {
            "mimetype": small.media_type, "size": small.size, "w": small.width, "h": small.height,
        }  # fmt: skip
    content: dict[str, Any] = {
        "msgtype": f"m.{kind}",
        "body": alt or filename(stored),  # without ``filename``, the body is the alt text
        "url": mxc,
        "info": info,
    }
    return content


def media_of_event(content: dict[str, Any]) -> tuple[str, str, str] | None:
    """(mxc URI, declared mimetype, alt text) of a media message, or None.

    An encrypted file (``file`` instead of ``url``) is not ours to read.
    """
    if content.get("msgtype") not in MEDIA_MSGTYPES:
        return None
    mxc = content.get("url")
    if not isinstance(mxc, str) or not mxc.startswith("mxc://"):
        return None
    info = content.get("info")
    mimetype = info.get("mimetype") if isinstance(info, dict) else None
    body, name = content.get("body"), content.get("filename")
    # With a ``filename`` that differs, the body is a caption (spec v1.10), else the name.
    alt = body if isinstance(name, str) and name and body != name else ""
    if not alt and isinstance(body, str) and not name and "." not in body[-6:]:
        alt = body  # a body that is no file name describes the picture
    return mxc, mimetype if isinstance(mimetype, str) else "", alt_text(alt)


class MatrixMedia:
    """Uploads a stored file once per homeserver; downloads a member's file into the store."""

    def __init__(
        self, client: AppserviceClient, library: MediaLibrary, faces: GroupFaces | None = None
    ) -> None:
        self._client, self.library, self._faces = client, library, faces

    async def mxc_of(self, stored: StoredMedia) -> str:
        """The file's ``mxc://`` URI, uploading it the first time."""
        known = await self.library.ref_of(stored.id, MATRIX)
        if known:
            return known
        opened = await self.library.open(stored.id)
        if opened is None:
            raise LookupError(f"media {stored.id} has no bytes in the store")
        mxc = await self._client.upload(opened[1], stored.media_type, filename(stored))
        await self.library.remember(MATRIX, mxc, stored.id)
        return mxc

    async def content(self, stored: StoredMedia, *, alt: str = "") -> dict[str, Any]:
        """The message content for a stored file, its thumbnail uploaded too."""
        thumbnail = None
        if stored.thumbnail_id:
            small = await self.library.get(stored.thumbnail_id)
            if small is not None:
                thumbnail = (small, await self.mxc_of(small))
        return media_content(stored, await self.mxc_of(stored), alt=alt, thumbnail=thumbnail)

    async def set_room_avatars(self, group_id: int, rooms: dict[str, str]) -> None:
        """Every room of the group shows the group's avatar (none: none)."""
        if self._faces is None:
            return
        avatar = (await self._faces.faces_of(group_id)).get("avatar")
        stored = await self.library.get(avatar.media_id) if avatar else None
        content: dict[str, Any] = {}
        if stored is not None:
            info = {"mimetype": stored.media_type, "size": stored.size}
            if stored.width and stored.height:
                info["w"], info["h"] = stored.width, stored.height
            content = {"url": await self.mxc_of(stored), "info": info}
        for room_id in rooms.values():
            try:
                current = await self._client.request(
                    "GET", f"v3/rooms/{path(room_id)}/state/m.room.avatar/"
                )
            except MatrixError as exc:
                if exc.status != 404:
                    raise
                current = {}
            if current.get("url") != content.get("url"):
                await self._client.send_state(room_id, "m.room.avatar", "", content)

    async def set_avatar(self, user_id: str, url: str) -> None:
        """A puppet shows its fediverse author's picture (fetched once, as any file).

        A picture we cannot have leaves the puppet without one: logged, not raised.
        """
        try:
            stored = await self.library.fetch_remote(url)
            if family(stored.media_type) != "image":
                return
            mxc = await self.mxc_of(stored)
            await self._client.request(
                "PUT", f"v3/profile/{path(user_id)}/avatar_url", {"avatar_url": mxc},
                as_user=user_id,
            )  # fmt: skip
        except MediaRefused:
            return  # the library logged why
        except (MediaUnavailable, MatrixError) as exc:
            log.warning("puppet picture not set", extra={"user": user_id, "error": str(exc)[:300]})

    async def remember_avatar(self, user_id: str) -> None:
        """Keep a member's Matrix picture as their fediverse Person's ``icon``.

        Downloaded once per ``mxc://`` URI; a member without one, or with one
        we refuse, keeps what they had. Never raises for the picture's sake.
        """
        try:
            profile = await self._client.request("GET", f"v3/profile/{path(user_id)}/avatar_url")
            mxc = profile.get("avatar_url")
            if not isinstance(mxc, str) or not mxc.startswith("mxc://"):
                return
            picture = await self.receive(mxc, "", "")
            if family(picture.media_type) == "image":
                await self.library.remember(PERSON_AVATAR, user_id, picture.media_id)
        except MediaRefused:
            return  # the library logged why
        except MatrixError as exc:
            log.info("member picture not read", extra={"user": user_id, "error": str(exc)[:300]})

    async def receive(self, mxc: str, declared: str, alt: str) -> Attachment:
        """A member's file, downloaded (capped) and kept; MediaRefused if refused."""
        known = await self.library.known(MATRIX, mxc)
        if known is None:
            data, served_as = await self._client.download(
                mxc, max_bytes=self.library.limits.max_bytes()
            )
            known = await self.library.keep(
                data, declared=declared or served_as, origin=MATRIX, source=mxc
            )
            await self.library.remember(MATRIX, mxc, known.id)
        return known.attachment(name=alt)


def attachment_object_id(object_id: str, index: int) -> str:
    """How the bridge map names the message showing a post's ``index``-th file."""
    return f"{object_id}#media-{index}"


async def send_attachments(
    bridge: MatrixBridge, event: GroupEvent[PostShared], room_id: str, group_id: int
) -> None:
    """The post's files, each fetched once, uploaded once, said once by the author's puppet.

    A refused file is logged (by the library) and passed over; a file that
    cannot be fetched now is logged and passed over too: the post's text,
    already in the room, links to the original.
    """
    assert bridge.media is not None
    post = event.data
    for index, attachment in enumerate(post.attachments):
        key = attachment_object_id(post.object_id, index)
        if await bridge.store.event_for_object(key, room_id):
            continue
        try:
            stored = await bridge.media.library.fetch_remote(
                attachment.url, declared=attachment.media_type
            )
        except MediaRefused:
            continue
        except MediaUnavailable as exc:
            log.warning(
                "attachment unavailable; skipped",
                extra={"url": attachment.url[:300], "error": str(exc)[:300]},
            )
            continue
        content = await bridge.media.content(stored, alt=attachment.name)
        event_id = await bridge.client.send_message(
            room_id, transaction_id(event.dedupe_key, str(index)), content,
            as_user=bridge.ids.puppet(post.author_id),
        )  # fmt: skip
        await bridge.store.bridge(
            event_id=event_id, room_id=room_id, object_id=key, group_id=group_id,
            origin="fediverse", now=bridge.clock.now(),
        )  # fmt: skip

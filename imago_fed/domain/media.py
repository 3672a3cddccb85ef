"""Media: the pictures (and short videos and sounds) that travel with posts.

The rules here are the ones every network shares, with no I/O:

* what a file *is* comes from its first bytes (:func:`sniff`), never from
  what a sender declares; a declared type that disagrees is refused
  (an SVG with a script inside, labelled ``image/png``, is still an SVG);
* only the types in :data:`ACCEPTED` are kept; SVG, HTML and everything
  else that a browser might run are not;
* each family has a size cap, and images a pixel cap (a small PNG can
  declare 100 000 x 100 000 pixels: a decompression bomb).

    bytes ──sniff──> media type ──check(declared, size, pixels)──> accepted | MediaRefused

What the other networks see of a file is an :class:`Attachment`: where it
is (``media_id`` once it is in our store, ``url`` while it is somewhere
else), its type, its alt text and its size in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

from imago_fed.domain.errors import InvalidInput

__all__ = [
    "ACCEPTED",
    "IMAGE_TYPES",
    "Attachment",
    "MediaLimits",
    "MediaRefused",
    "MediaUnavailable",
    "StoredMedia",
    "alt_text",
    "check",
    "check_pixels",
    "family",
    "is_media_id",
    "normalize_type",
    "sniff",
]

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
VIDEO_TYPES = frozenset({"video/mp4", "video/webm"})
AUDIO_TYPES = frozenset({"audio/mpeg", "audio/ogg", "audio/wav", "audio/flac"})
ACCEPTED = IMAGE_TYPES | VIDEO_TYPES | AUDIO_TYPES
#: Declared names that mean one of ours (what servers send in the wild).
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/mp3": "audio/mpeg",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/x-flac": "audio/flac",
    "application/ogg": "audio/ogg",
    "video/ogg": "audio/ogg",
    "audio/webm": "video/webm",
    "audio/mp4": "video/mp4",
    "audio/x-m4a": "video/mp4",
}
#: Alt text longer than this is cut (Mastodon keeps 1 500 characters).
MAX_ALT_LENGTH = 1500
#: How many attachments one post carries at most (Mastodon shows four).
MAX_ATTACHMENTS = 4


class MediaRefused(InvalidInput):
    """A file we will not keep; the message says why (it is logged as is)."""


@dataclass(frozen=True)
class MediaLimits:
    """The caps, from the ``[media]`` settings."""

    max_image_bytes: int = 10 * 1024 * 1024
    max_av_bytes: int = 40 * 1024 * 1024
    max_pixels: int = 40_000_000

    def max_bytes(self, media_type: str = "") -> int:
        """The cap for a type; the largest one while the type is unknown."""
        if media_type in IMAGE_TYPES:
            return self.max_image_bytes
        if media_type in ACCEPTED:
            return self.max_av_bytes
        return max(self.max_image_bytes, self.max_av_bytes)


@dataclass(frozen=True)
class Attachment:
    """A file attached to a post, as the networks describe it to each other.

    ``media_id`` is set once the file is in our store (the id is its
    SHA-256); ``url`` is where it was found on another server (empty for a
    file that came from no URL, such as an upload from a chat network).
    """

    media_type: str
    url: str = ""
    media_id: str = ""
    name: str = ""  # alt text
    width: int = 0
    height: int = 0
    blurhash: str = ""
    size: int = 0


@dataclass(frozen=True)
class StoredMedia:
    """A file in our store: ``id`` is the SHA-256 of its bytes (as served)."""

    id: str
    media_type: str
    size: int
    width: int = 0
    height: int = 0
    blurhash: str = ""
    thumbnail_id: str = ""  # a smaller image of it, itself stored ("" if none)
    origin: str = ""  # where it came from: "fediverse", "matrix", "upload", "thumbnail"

    def attachment(self, *, name: str = "", url: str = "") -> Attachment:
        return Attachment(
            media_type=self.media_type, url=url, media_id=self.id, name=name,
            width=self.width, height=self.height, blurhash=self.blurhash, size=self.size,
        )  # fmt: skip


class MediaUnavailable(Exception):
    """A remote file could not be had (network, status): may work later."""


def family(media_type: str) -> str:
    """``image``, ``video``, ``audio`` or ``""`` for a type we do not keep."""
    if media_type in IMAGE_TYPES:
        return "image"
    if media_type in VIDEO_TYPES:
        return "video"
    if media_type in AUDIO_TYPES:
        return "audio"
    return ""


def is_media_id(value: str) -> bool:
    """A SHA-256 in lower-case hex: the only names the store answers to."""
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def normalize_type(declared: str) -> str:
    """``image/JPG; charset=x`` -> ``image/jpeg``."""
    base = declared.split(";")[0].strip().lower()
    return _ALIASES.get(base, base)


def sniff(head: bytes) -> str | None:
    """The type the first bytes show (at least 16 are needed), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    return None


def check(head: bytes, size: int, limits: MediaLimits, *, declared: str = "") -> str:
    """The media type of a file, or :class:`MediaRefused` saying why not.

    ``head`` is the file's start, ``size`` its length, ``declared`` what
    the sender called it (empty: it said nothing).
    """
    found = sniff(head)
    if found is None:
        shown = normalize_type(declared) or "unknown"
        raise MediaRefused(f"unrecognised or refused file type (declared {shown})")
    if declared:
        named = normalize_type(declared)
        if named != found:
            raise MediaRefused(f"declared {named} but the bytes are {found}")
    if size > limits.max_bytes(found):
        raise MediaRefused(f"{size} bytes is over the {limits.max_bytes(found)} byte cap")
    return found


def check_pixels(width: int, height: int, limits: MediaLimits) -> None:
    """Refuse an image whose size in pixels would take too much memory to decode."""
    if width <= 0 or height <= 0:
        raise MediaRefused("the image has no size")
    if width * height > limits.max_pixels:
        raise MediaRefused(
            f"{width}x{height} pixels is over the {limits.max_pixels} pixel cap "
            "(a decompression bomb?)"
        )


def alt_text(value: object) -> str:
    """A usable alt text: a string, trimmed and cut to MAX_ALT_LENGTH."""
    return value.strip()[:MAX_ALT_LENGTH] if isinstance(value, str) else ""

"""What we do to an image before anyone sees it: check, clean, describe.

    bytes (type already sniffed) ──> header only: format, width x height
        ├─ over the pixel cap? refused before a single pixel is decoded
        ├─ decode in full (a truncated or corrupt file is refused here)
        ├─ metadata out: EXIF (GPS position, camera serial), XMP, comments
        │     JPEG, PNG: the segments/chunks are cut, pixels untouched
        │     (a file with nothing to cut keeps its exact bytes);
        │     a rotated JPEG and GIF/WebP with metadata: re-encoded by Pillow
        └─ thumbnail (at most 320 px a side) and blurhash (the blurred
           placeholder Mastodon paints while the image loads)

Pure computation on bytes in memory; Pillow does the decoding.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

import blurhash
from PIL import Image, ImageOps

from imago_fed.domain.media import MediaLimits, MediaRefused, check_pixels

__all__ = ["CleanImage", "clean_image", "strip_jpeg", "strip_png"]

THUMBNAIL_SIZE = (320, 320)
_PILLOW_FORMATS = {
    "JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp",
}  # fmt: skip
# JPEG segments kept: APP0 (JFIF), APP2 (ICC colour profile), APP14 (Adobe colour
# transform: without it some CMYK files decode wrongly). Every other APPn and COM goes.
_JPEG_KEEP_APP = frozenset({0xE0, 0xE2, 0xEE})
# What Pillow reads into ``info`` that describes the picture's owner, not its pixels.
_METADATA_KEYS = ("exif", "xmp", "XML:com.adobe.xmp", "comment", "extension")
# PNG chunks that carry words or places rather than pixels.
_PNG_DROP = frozenset({b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"})


@dataclass(frozen=True)
class CleanImage:
    data: bytes  # what we keep and serve
    width: int
    height: int
    blurhash: str
    thumbnail: bytes  # a JPEG (or PNG when the image has transparency)
    thumbnail_type: str
    thumbnail_width: int
    thumbnail_height: int


def clean_image(data: bytes, media_type: str, limits: MediaLimits) -> CleanImage:
    """Check and clean an image already sniffed as ``media_type``; MediaRefused if bad."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return _clean(data, media_type, limits)
        except MediaRefused:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise MediaRefused(f"decompression bomb: {exc}") from exc
        except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
            raise MediaRefused(f"the image cannot be decoded: {exc}") from exc


def _clean(data: bytes, media_type: str, limits: MediaLimits) -> CleanImage:
    image = Image.open(io.BytesIO(data))  # reads the header only
    if _PILLOW_FORMATS.get(image.format or "") != media_type:
        raise MediaRefused(f"the bytes decode as {image.format}, not {media_type}")
    check_pixels(image.width, image.height, limits)
    frames = getattr(image, "n_frames", 1)
    if image.width * image.height * frames > limits.max_pixels * 4:
        raise MediaRefused(f"{frames} frames of {image.width}x{image.height} is too much to decode")
    image.load()  # decodes the first frame: broken files fail here
    cleaned = _without_metadata(data, media_type, image)
    upright = ImageOps.exif_transpose(image) if media_type == "image/jpeg" else image
    width, height = upright.size
    thumbnail, thumb_type, thumb_size = _thumbnail(upright)
    return CleanImage(
        data=cleaned, width=width, height=height, blurhash=_blurhash(upright),
        thumbnail=thumbnail, thumbnail_type=thumb_type,
        thumbnail_width=thumb_size[0], thumbnail_height=thumb_size[1],
    )  # fmt: skip


def _without_metadata(data: bytes, media_type: str, image: Image.Image) -> bytes:
    if media_type == "image/jpeg":
        orientation = image.getexif().get(0x0112, 1)
        if orientation in (1, None):
            return strip_jpeg(data)
        upright = ImageOps.exif_transpose(image)  # the pixels turn; the tag goes
        return _encode(upright, "JPEG", quality=92, icc_profile=image.info.get("icc_profile"))
    if media_type == "image/png":
        return strip_png(data)
    if not any(key in image.info for key in _METADATA_KEYS):
        return data
    for key in _METADATA_KEYS:  # Pillow writes back what ``info`` still holds
        image.info.pop(key, None)
    if media_type == "image/gif":
        return _encode(image, "GIF", save_all=True, loop=image.info.get("loop", 0),
                       duration=image.info.get("duration", 100))  # fmt: skip
    return _encode(image, "WEBP", save_all=getattr(image, "n_frames", 1) > 1, lossless=True,
                   icc_profile=image.info.get("icc_profile"))  # fmt: skip


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **{k: v for k, v in options.items() if v is not None})
    return out.getvalue()


def strip_jpeg(data: bytes) -> bytes:
    """The JPEG without APPn segments (but APP0, APP2, APP14) and comments.

    Segments are walked up to the start of scan; the entropy-coded data
    after it is copied as is, so the pixels are exactly the same.
    """
    if not data.startswith(b"\xff\xd8"):
        raise MediaRefused("not a JPEG")
    out, pos = [b"\xff\xd8"], 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise MediaRefused("a broken JPEG segment")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the rest is image data
            out.append(data[pos:])
            return b"".join(out)
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise MediaRefused("a truncated JPEG segment")
        drop = marker == 0xFE or (0xE0 <= marker <= 0xEF and marker not in _JPEG_KEEP_APP)
        if not drop:
            out.append(data[pos:end])
        pos = end
    raise MediaRefused("a JPEG without image data")


def strip_png(data: bytes) -> bytes:
    """The PNG without its text, EXIF and time chunks (the rest byte for byte)."""
    signature = b"\x89PNG\r\n\x1a\n"
    if not data.startswith(signature):
        raise MediaRefused("not a PNG")
    out, pos = [signature], len(signature)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise MediaRefused("a truncated PNG chunk")
        if kind not in _PNG_DROP:
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            return b"".join(out)
    raise MediaRefused("a PNG without its end")


def _thumbnail(image: Image.Image) -> tuple[bytes, str, tuple[int, int]]:
    transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    small = image.convert("RGBA" if transparent else "RGB")
    small.thumbnail(THUMBNAIL_SIZE)
    if transparent:
        return _encode(small, "PNG", optimize=True), "image/png", small.size
    return _encode(small, "JPEG", quality=80), "image/jpeg", small.size


def _blurhash(image: Image.Image) -> str:
    small = image.convert("RGB")
    small.thumbnail((32, 32))
    width, height = small.size
    flattened = getattr(small, "get_flattened_data", small.getdata)
    pixels = list(flattened())
    rows = [[list(pixels[y * width + x]) for x in range(width)] for y in range(height)]
    return str(blurhash.encode(rows, components_x=4, components_y=3))

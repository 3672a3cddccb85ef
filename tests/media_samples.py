"""Files the media tests send: made here, with Pillow, so every byte is known."""

from __future__ import annotations

import io
import zlib

from PIL import Image

__all__ = ["SVG", "photo_with_gps", "plain_png", "png_bomb"]


def photo_with_gps() -> bytes:
    """A JPEG whose EXIF says where it was taken (GPS) and with which camera."""
    image = Image.new("RGB", (64, 48))
    for x in range(64):
        for y in range(48):
            image.putpixel((x, y), (x * 4, y * 5, 120))
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"  # Make
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # GPS
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def plain_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 160, 90)).save(out, "PNG")
    return out.getvalue()


def png_bomb(side: int = 30_000) -> bytes:
    """A valid PNG of side x side pixels that weighs a few kilobytes: zeros compress well."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = side.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0])  # 1-bit greyscale
    row = b"\x00" * (1 + side // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'

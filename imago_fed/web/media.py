"""``GET /media/<id>``: the files of our media store, to anyone.

Files are named by the SHA-256 of their bytes, so a name never changes
meaning: they are cached for a year. What a browser is told keeps a file a
file: its sniffed type (never the sender's word), ``nosniff``, and a
sandboxing Content-Security-Policy, so even a file that slipped past every
check could run nothing in our origin.
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from imago_fed.web.runtime import runtime

__all__ = ["media_files"]

media_files = Blueprint("media", __name__)
_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Access-Control-Allow-Origin": "*",
}


@media_files.get("/media/<media_id>")
async def media_file(media_id: str) -> Response:
    library = runtime().media
    opened = await library.open(media_id) if library is not None else None
    if opened is None:
        return Response("no such file\n", status=404, content_type="text/plain; charset=utf-8")
    stored, data = opened
    etag = f'"{stored.id}"'
    if request.headers.get("If-None-Match") == etag:
        return Response(b"", status=304, headers={**_HEADERS, "ETag": etag})
    return Response(
        data, status=200, content_type=stored.media_type,
        headers={**_HEADERS, "ETag": etag, "Content-Disposition": "inline"},
    )  # fmt: skip

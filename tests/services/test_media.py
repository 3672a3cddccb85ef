"""The media library over the real store (PostgreSQL, a folder) and the real client.

Files come from a loopback server picked on a free port, through the
federation client with the loopback allowance the other client tests use:
what is refused is refused for what it is, with one log line, and what is
kept is kept clean (no EXIF), once.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from PIL import Image

from imago_fed.activitypub.http import FediClient
from imago_fed.activitypub.media import FediverseMedia
from imago_fed.domain.media import MediaLimits, MediaRefused, MediaUnavailable
from imago_fed.services.media import FEDIVERSE, MediaLibrary
from imago_fed.services.media.imaging import clean_image, strip_png
from imago_fed.store.media import DiskBlobs, PgMediaCatalogue
from tests.media_samples import SVG, photo_with_gps, plain_png, png_bomb
from tests.receiver import Reply, Request, receiver

LOOPBACK = ipaddress.ip_network("127.0.0.1/32")


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@pytest.fixture
async def library(migrated_db: str, make_settings, tmp_path: Path) -> AsyncIterator[MediaLibrary]:
    settings = make_settings(IMAGO_FEDERATION_ALLOW_HTTP="true")
    http = FediClient(settings, allowed_networks=[LOOPBACK])
    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=4)
    try:
        yield MediaLibrary(
            DiskBlobs(tmp_path / "media"), PgMediaCatalogue(pool), Clock(),
            MediaLimits(max_image_bytes=2_000_000, max_pixels=10_000_000), FediverseMedia(http),
        )  # fmt: skip
    finally:
        await http.aclose()
        await pool.close()


def _png_with_text() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "48.85N 2.29E")
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def test_png_text_goes_and_the_pixels_stay() -> None:
    tagged = _png_with_text()
    assert b"Location" in tagged
    clean = strip_png(tagged)
    assert b"Location" not in clean
    assert Image.open(io.BytesIO(clean)).tobytes() == Image.open(io.BytesIO(tagged)).tobytes()
    assert strip_png(plain_png()) == plain_png()


def test_a_rotated_photo_is_turned_upright_and_loses_its_exif() -> None:
    image = Image.new("RGB", (30, 10), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees when shown
    exif[0x010F] = "Camera Maker"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    cleaned = clean_image(out.getvalue(), "image/jpeg", MediaLimits())
    assert (cleaned.width, cleaned.height) == (10, 30)
    assert not Image.open(io.BytesIO(cleaned.data)).getexif()
    assert b"Camera Maker" not in cleaned.data


def test_a_gif_comment_goes() -> None:
    out = io.BytesIO()
    Image.new("P", (5, 5)).save(out, "GIF", comment=b"taken at home, 12 Elm St")
    cleaned = clean_image(out.getvalue(), "image/gif", MediaLimits())
    assert b"Elm St" not in cleaned.data and cleaned.width == 5


def test_broken_and_lying_images_are_refused() -> None:
    photo = photo_with_gps()
    with pytest.raises(MediaRefused, match="cannot be decoded"):
        clean_image(photo[: len(photo) // 2], "image/jpeg", MediaLimits())
    with pytest.raises(MediaRefused, match="decode as PNG"):
        clean_image(plain_png(), "image/gif", MediaLimits())
    with pytest.raises(MediaRefused, match="decompression bomb"):
        clean_image(png_bomb(5000), "image/png", MediaLimits(max_pixels=1_000_000))


async def test_remote_files_are_checked_cleaned_and_fetched_once(
    library: MediaLibrary, caplog: pytest.LogCaptureFixture
) -> None:
    photo = photo_with_gps()
    big = b"\x89PNG\r\n\x1a\n" + bytes(3_000_000)
    files = {
        "/photo.jpg": (photo, "image/jpeg"),
        "/liar.png": (photo, "image/png"),  # a JPEG that says it is a PNG
        "/drawing.png": (SVG, "image/png"),
        "/bomb.png": (png_bomb(), "image/png"),
        "/big.png": (big, "image/png"),
        "/bytes": (plain_png(), "application/octet-stream"),  # a server that says nothing
    }

    async def serve(request: Request) -> Reply:
        body, media_type = files.get(request.target, (b"", ""))
        return Reply(200, {"Content-Type": media_type}, body) if body else Reply(404)

    async with receiver(serve) as server:
        url = f"{server.base_url}/photo.jpg"
        first, second = await asyncio.gather(
            library.fetch_remote(url, declared="image/jpeg"),
            library.fetch_remote(url, declared="image/jpeg"),
        )
        assert first == second and [r.target for r in server.requests] == ["/photo.jpg"]
        assert (first.width, first.height, first.origin) == (64, 48, FEDIVERSE)
        assert first.blurhash and first.thumbnail_id
        kept = await library.open(first.id)
        assert kept is not None and b"Exif" not in kept[1] and b"Camera Maker" not in kept[1]
        assert kept[0] == first and len(kept[1]) == first.size

        said_nothing = await library.fetch_remote(f"{server.base_url}/bytes", declared="image/png")
        assert said_nothing.media_type == "image/png"

        caplog.set_level(logging.WARNING, logger="imago_fed.services.media.library")
        expected = {
            "/liar.png": "declared image/png but the bytes are image/jpeg",
            "/drawing.png": "unrecognised",
            "/bomb.png": "decompression bomb",
            "/big.png": "byte cap",
        }
        for path, reason in expected.items():
            caplog.clear()
            with pytest.raises(MediaRefused, match=reason):
                await library.fetch_remote(f"{server.base_url}{path}", declared="image/png")
            [record] = [r for r in caplog.records if r.getMessage() == "media refused"]
            assert reason in record.reason  # type: ignore[attr-defined]
        with pytest.raises(MediaUnavailable):
            await library.fetch_remote(f"{server.base_url}/missing.png")
        assert await library.known(FEDIVERSE, f"{server.base_url}/liar.png") is None


async def test_a_fifty_megabyte_image_is_refused_before_it_is_read(
    library: MediaLibrary, caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[int] = []

    async def serve(request: Request) -> Reply:
        body = b"\xff\xd8\xff\xe0" + bytes(50 * 1024 * 1024)
        sent.append(len(body))
        return Reply(200, {"Content-Type": "image/jpeg"}, body)

    caplog.set_level(logging.WARNING, logger="imago_fed.services.media.library")
    async with receiver(serve) as server:
        with pytest.raises(MediaRefused, match="2000000 byte cap"):
            await library.fetch_remote(f"{server.base_url}/huge.jpg", declared="image/jpeg")
    assert [r for r in caplog.records if r.getMessage() == "media refused"]


async def test_private_addresses_stay_out_of_reach(migrated_db: str, make_settings, tmp_path):
    guarded = FediClient(make_settings(IMAGO_FEDERATION_ALLOW_HTTP="true"))  # no allowance
    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=2)
    library = MediaLibrary(
        DiskBlobs(tmp_path), PgMediaCatalogue(pool), Clock(), MediaLimits(),
        FediverseMedia(guarded),
    )  # fmt: skip
    try:
        async with receiver() as server:
            with pytest.raises(MediaRefused, match="refused address"):
                await library.fetch_remote(f"{server.base_url}/x.png")
            assert server.requests == []
    finally:
        await guarded.aclose()
        await pool.close()


async def test_uploads_are_kept_by_content(library: MediaLibrary, tmp_path: Path) -> None:
    png = plain_png()
    stored = await library.keep(png, declared="image/png")
    again = await library.keep(png)
    assert stored == again and stored.origin == "upload"
    path = tmp_path / "media" / stored.id[:2] / stored.id[2:4] / stored.id
    assert path.read_bytes() == png
    assert await library.open("0" * 64) is None and await library.open("../etc/passwd") is None


class Later(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(days=31)


async def test_copies_of_remote_files_are_pruned_after_their_time(library: MediaLibrary) -> None:
    photo = photo_with_gps()

    async def serve(request: Request) -> Reply:
        return Reply(200, {"Content-Type": "image/jpeg"}, photo)

    own = await library.keep(plain_png(), origin="matrix")  # our member's file: ours to keep
    async with receiver(serve) as server:
        copy = await library.fetch_remote(f"{server.base_url}/p.jpg")
    assert await library.prune(days=30) == 0  # not old yet
    later = MediaLibrary(library.blobs, library.catalogue, Later(), library.limits)
    assert await later.prune(days=0) == 0  # 0: kept for ever
    assert await later.prune(days=30) == 1  # the copy; its thumbnail next round
    assert await later.prune(days=30) == 1
    assert await later.prune(days=30) == 0
    assert await library.open(copy.id) is None and await library.blobs.get(copy.id) is None
    assert await library.open(own.id) is not None and await library.get(own.thumbnail_id)
    assert await library.known(FEDIVERSE, f"{server.base_url}/p.jpg") is None

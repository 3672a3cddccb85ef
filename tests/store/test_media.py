"""The media store on real PostgreSQL and a real folder: bytes, catalogue, links, faces."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from imago_fed.domain.media import StoredMedia
from imago_fed.store.media import DiskBlobs, PgGroupFaces, PgMediaCatalogue

NOW = datetime(2026, 12, 6, tzinfo=UTC)


@pytest.fixture
async def pool(migrated_db: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


async def test_blobs_are_written_whole_and_named_by_their_id(tmp_path: Path) -> None:
    blobs = DiskBlobs(tmp_path)
    media_id = "ab" + "0" * 62
    await blobs.put(media_id, b"bytes", "image/png")
    await blobs.put(media_id, b"bytes", "image/png")  # the same name is the same content
    assert (tmp_path / "ab" / "00" / media_id).read_bytes() == b"bytes"
    assert [p.name for p in (tmp_path / "ab" / "00").iterdir()] == [media_id]  # no leftovers
    assert await blobs.get(media_id) == b"bytes"
    assert await blobs.get("../../etc/passwd") is None
    with pytest.raises(ValueError):
        blobs.path("AB" + "0" * 62)
    await blobs.delete(media_id)
    assert await blobs.get(media_id) is None


async def test_catalogue_links_and_retention(pool: asyncpg.Pool) -> None:
    catalogue = PgMediaCatalogue(pool)
    thumb = StoredMedia("1" * 64, "image/jpeg", 10, 3, 2, origin="thumbnail")
    copy = StoredMedia("2" * 64, "image/png", 99, 30, 20, "LKO2", thumbnail_id=thumb.id,
                       origin="fediverse")  # fmt: skip
    own = StoredMedia("3" * 64, "image/png", 5, origin="matrix")
    for item in (thumb, copy, own):
        await catalogue.add(item, NOW)
    await catalogue.add(copy, NOW)  # again: no error
    assert await catalogue.get(copy.id) == copy and await catalogue.get("4" * 64) is None

    await catalogue.link("fediverse", "https://x.example/a.png", copy.id, NOW)
    await catalogue.link("matrix", "mxc://hs/abc", copy.id, NOW + timedelta(seconds=1))
    assert await catalogue.linked("fediverse", "https://x.example/a.png") == copy.id
    assert await catalogue.linked("matrix", "https://x.example/a.png") is None
    assert await catalogue.ref_of(copy.id, "matrix") == "mxc://hs/abc"

    later = NOW + timedelta(days=31)
    assert await catalogue.unused_since(later, limit=10) == [copy.id]  # never ours, nor its thumb
    await catalogue.touch(copy.id, NOW + timedelta(days=5))
    assert await catalogue.unused_since(NOW + timedelta(days=4), limit=10) == []
    await catalogue.forget(copy.id)
    assert await catalogue.linked("fediverse", "https://x.example/a.png") is None  # links go too
    assert await catalogue.unused_since(later, limit=10) == [thumb.id]  # now an orphan


async def test_group_faces_are_replaced_and_kept_from_pruning(pool: asyncpg.Pool) -> None:
    group_id = await pool.fetchval(
        "INSERT INTO groups (slug, name, summary, created_at, public_key_pem, private_key_sealed)"
        " VALUES ('garden', 'Garden', '', $1, 'pem', '\\x00') RETURNING id",
        NOW,
    )
    catalogue, faces = PgMediaCatalogue(pool), PgGroupFaces(pool)
    first = StoredMedia("5" * 64, "image/png", 7, 4, 4, origin="fediverse")
    second = StoredMedia("6" * 64, "image/jpeg", 8, 5, 5, "Lab", origin="upload")
    for item in (first, second):
        await catalogue.add(item, NOW)
    await faces.set_face(group_id, "avatar", first.id, "old", NOW)
    await faces.set_face(group_id, "avatar", second.id, "A sunflower", NOW)
    assert await faces.faces_of(group_id) == {"avatar": second.attachment(name="A sunflower")}
    await faces.set_face(group_id, "header", first.id, "", NOW)
    assert await catalogue.unused_since(NOW + timedelta(days=99), limit=10) == []  # in use
    assert await faces.remove_face(group_id, "header") is True
    assert await faces.remove_face(group_id, "header") is False
    assert set(await faces.faces_of(group_id)) == {"avatar"}

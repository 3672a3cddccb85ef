"""The media store: bytes on disk by their SHA-256, the catalogue in PostgreSQL.

    <media dir>/ab/cd/abcd…(64 hex)     the bytes, written to a temporary name
                                         and renamed: a reader never sees half
    media                                one row per file (type, size, pixels,
                                         blurhash, thumbnail, origin, last use)
    media_links (network, ref)           the URL it was fetched from, its mxc://
    group_faces (group, role)            avatar and header

Implements ``MediaBlobs`` (:class:`DiskBlobs`), ``MediaCatalogue`` and
``GroupFaces`` (``domain/ports/media.py``). The bytes are written before the
row, so a row always has its bytes; bytes without a row (a crash between
the two) are rewritten by the next put of the same file.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import datetime
from pathlib import Path

import asyncpg

from imago_fed.domain.media import Attachment, StoredMedia, is_media_id

__all__ = ["DiskBlobs", "PgGroupFaces", "PgMediaCatalogue"]

_COLUMNS = "id, media_type, size, width, height, blurhash, thumbnail_id, origin"


class DiskBlobs:
    """Files in a folder, two levels of sub-folders by the id's first hex digits."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, media_id: str) -> Path:
        if not is_media_id(media_id):
            raise ValueError(f"not a media id: {media_id!r}")
        return self.root / media_id[:2] / media_id[2:4] / media_id

    async def put(self, media_id: str, data: bytes, media_type: str) -> None:
        await asyncio.to_thread(self._write, self.path(media_id), data)

    async def get(self, media_id: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self.path(media_id).read_bytes)
        except (FileNotFoundError, ValueError):
            return None

    async def delete(self, media_id: str) -> None:
        await asyncio.to_thread(self.path(media_id).unlink, missing_ok=True)

    @staticmethod
    def _write(target: Path, data: bytes) -> None:
        if target.exists() and target.stat().st_size == len(data):
            return  # the same name is the same content
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o640)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _to_media(row: asyncpg.Record) -> StoredMedia:
    return StoredMedia(
        id=row["id"], media_type=row["media_type"], size=row["size"], width=row["width"],
        height=row["height"], blurhash=row["blurhash"], thumbnail_id=row["thumbnail_id"] or "",
        origin=row["origin"],
    )  # fmt: skip


class PgMediaCatalogue:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add(self, media: StoredMedia, now: datetime) -> None:
        await self._pool.execute(
            """
            INSERT INTO media (id, media_type, size, width, height, blurhash, thumbnail_id,
                               origin, created_at, last_used_at)
            VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, ''), $8, $9, $9)
            ON CONFLICT (id) DO UPDATE SET last_used_at = EXCLUDED.last_used_at
            """,
            media.id, media.media_type, media.size, media.width, media.height, media.blurhash,
            media.thumbnail_id, media.origin, now,
        )  # fmt: skip

    async def get(self, media_id: str) -> StoredMedia | None:
        row = await self._pool.fetchrow(f"SELECT {_COLUMNS} FROM media WHERE id = $1", media_id)
        return _to_media(row) if row else None

    async def link(self, network: str, ref: str, media_id: str, now: datetime) -> None:
        await self._pool.execute(
            """
            INSERT INTO media_links (network, ref, media_id, created_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (network, ref) DO UPDATE SET media_id = EXCLUDED.media_id
            """,
            network, ref, media_id, now,
        )  # fmt: skip

    async def touch(self, media_id: str, now: datetime) -> None:
        await self._pool.execute("UPDATE media SET last_used_at = $2 WHERE id = $1", media_id, now)

    async def linked(self, network: str, ref: str) -> str | None:
        value = await self._pool.fetchval(
            "SELECT media_id FROM media_links WHERE network = $1 AND ref = $2", network, ref
        )
        return str(value) if value is not None else None

    async def ref_of(self, media_id: str, network: str) -> str | None:
        value = await self._pool.fetchval(
            "SELECT ref FROM media_links WHERE media_id = $1 AND network = $2"
            " ORDER BY created_at DESC LIMIT 1",
            media_id, network,
        )  # fmt: skip
        return str(value) if value is not None else None

    async def unused_since(self, before: datetime, *, limit: int) -> list[str]:
        rows = await self._pool.fetch(
            """
            SELECT m.id FROM media m
            WHERE m.last_used_at < $1
              AND NOT EXISTS (SELECT 1 FROM group_faces f WHERE f.media_id = m.id)
              AND (m.origin = 'fediverse'
                   OR (m.origin = 'thumbnail'
                       AND NOT EXISTS (SELECT 1 FROM media p WHERE p.thumbnail_id = m.id)))
            ORDER BY m.last_used_at LIMIT $2
            """,
            before, limit,
        )  # fmt: skip
        return [row["id"] for row in rows]

    async def forget(self, media_id: str) -> None:
        await self._pool.execute("DELETE FROM media WHERE id = $1", media_id)


class PgGroupFaces:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def faces_of(self, group_id: int) -> dict[str, Attachment]:
        rows = await self._pool.fetch(
            f"""
            SELECT f.role, f.alt, {", ".join("m." + c.strip() for c in _COLUMNS.split(","))}
            FROM group_faces f JOIN media m ON m.id = f.media_id WHERE f.group_id = $1
            """,
            group_id,
        )
        return {row["role"]: _to_media(row).attachment(name=row["alt"]) for row in rows}

    async def set_face(
        self, group_id: int, role: str, media_id: str, alt: str, now: datetime
    ) -> None:
        await self._pool.execute(
            """
            INSERT INTO group_faces (group_id, role, media_id, alt, updated_at)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (group_id, role) DO UPDATE
                SET media_id = EXCLUDED.media_id, alt = EXCLUDED.alt,
                    updated_at = EXCLUDED.updated_at
            """,
            group_id, role, media_id, alt, now,
        )  # fmt: skip

    async def remove_face(self, group_id: int, role: str) -> bool:
        result = await self._pool.execute(
            "DELETE FROM group_faces WHERE group_id = $1 AND role = $2", group_id, role
        )
        return result != "DELETE 0"

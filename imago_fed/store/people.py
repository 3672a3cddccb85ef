"""Local Person actors standing for Matrix members (see activitypub/people.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from imago_fed.store.database import Db

__all__ = ["PgLocalPeople", "by_username", "create", "get"]


async def get(db: Db, user_id: str) -> dict[str, Any] | None:
    row = await db.fetchrow("SELECT * FROM matrix_people WHERE user_id = $1", user_id)
    return dict(row) if row else None


async def by_username(db: Db, username: str) -> dict[str, Any] | None:
    row = await db.fetchrow("SELECT * FROM matrix_people WHERE username = $1", username)
    return dict(row) if row else None


async def create(
    db: Db,
    *,
    user_id: str,
    base: str,
    display_name: str,
    public_pem: str,
    sealed_private: bytes,
    now: datetime,
) -> str:
    """Store a new person under ``base`` (or base_2, base_3 ...); return the username."""
    for n in range(1, 1000):
        username = base if n == 1 else f"{base}_{n}"
        row = await db.fetchrow(
            """
            INSERT INTO matrix_people (user_id, username, display_name, public_key_pem,
                                       private_key_sealed, created_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT DO NOTHING RETURNING username
            """,
            user_id, username, display_name, public_pem, sealed_private, now,
        )  # fmt: skip
        if row is not None:
            return row["username"]
        existing = await get(db, user_id)
        if existing is not None:  # created concurrently under some name
            return existing["username"]
    raise RuntimeError("no free username")  # pragma: no cover


class PgLocalPeople:
    """Implements :class:`imago_fed.domain.ports.federation.LocalPeople`."""

    def __init__(self, db: Db) -> None:
        self._db = db

    async def username_of(self, user_id: str) -> str | None:
        found = await get(self._db, user_id)
        return found["username"] if found else None

    async def create(
        self,
        *,
        user_id: str,
        base: str,
        display_name: str,
        public_pem: str,
        sealed_private: bytes,
        now: datetime,
    ) -> str:
        return await create(
            self._db, user_id=user_id, base=base, display_name=display_name,
            public_pem=public_pem, sealed_private=sealed_private, now=now,
        )  # fmt: skip

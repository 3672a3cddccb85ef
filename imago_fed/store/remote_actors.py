"""Cache of remote actors: their inboxes and public keys.

Keys are looked up by key id on every signed request, so the cache is what
keeps verification to one indexed read; a refetch replaces the row when a key
stops verifying (the remote actor rotated it).
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from imago_fed.domain.ports.federation import RemoteActor

__all__ = ["PgRemoteActors"]

_COLUMNS = (
    "uri, host, type, preferred_username, name, inbox, shared_inbox, key_id, public_key_pem,"
    " fetched_at, space, space_server"
)


# The avatar's URL, read from the stored document: icon (or its first) -> url
# (a string, a Link's href, or the first of a list).
_ICON = """
    COALESCE((
        SELECT CASE
            WHEN jsonb_typeof(i) = 'string' THEN i #>> '{}'
            WHEN jsonb_typeof(i->'url') = 'string' THEN i->>'url'
            WHEN jsonb_typeof(i->'url') = 'object' THEN i->'url'->>'href'
            WHEN jsonb_typeof(i->'url') = 'array'
                THEN COALESCE(i->'url'->0->>'href', i->'url'->>0)
        END
        FROM (SELECT CASE jsonb_typeof(document->'icon')
                  WHEN 'array' THEN document->'icon'->0 ELSE document->'icon' END AS i) AS icon
    ), '') AS icon
"""
_SELECT = f"{_COLUMNS}, {_ICON}"


def _actor(row: asyncpg.Record | None) -> RemoteActor | None:
    return RemoteActor(**dict(row)) if row else None


class PgRemoteActors:
    """Implements :class:`imago_fed.domain.ports.federation.RemoteActors`."""

    def __init__(self, db: asyncpg.Pool | asyncpg.Connection) -> None:
        self._db = db

    async def get_by_uri(self, uri: str) -> RemoteActor | None:
        return _actor(
            await self._db.fetchrow(f"SELECT {_SELECT} FROM remote_actors WHERE uri = $1", uri)
        )

    async def get_by_key_id(self, key_id: str) -> RemoteActor | None:
        return _actor(
            await self._db.fetchrow(
                f"SELECT {_SELECT} FROM remote_actors WHERE key_id = $1", key_id
            )
        )

    async def upsert(self, actor: RemoteActor, document: dict[str, Any]) -> None:
        await self._db.execute(
            f"""
            INSERT INTO remote_actors ({_COLUMNS}, document)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb)
            ON CONFLICT (uri) DO UPDATE SET
                host = EXCLUDED.host, type = EXCLUDED.type,
                preferred_username = EXCLUDED.preferred_username, name = EXCLUDED.name,
                inbox = EXCLUDED.inbox, shared_inbox = EXCLUDED.shared_inbox,
                key_id = EXCLUDED.key_id, public_key_pem = EXCLUDED.public_key_pem,
                fetched_at = EXCLUDED.fetched_at, space = EXCLUDED.space,
                space_server = EXCLUDED.space_server, document = EXCLUDED.document
            """,
            actor.uri, actor.host, actor.type, actor.preferred_username, actor.name, actor.inbox,
            actor.shared_inbox, actor.key_id, actor.public_key_pem, actor.fetched_at,
            actor.space, actor.space_server, json.dumps(document),
        )  # fmt: skip

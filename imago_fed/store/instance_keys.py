"""Signing keys: the instance's own, and the groups' (read for their deliveries).

The instance actor (``{base}/actor``) signs what no group sends: fetches on
nobody's behalf and deliveries queued without a group. Its key is made on
first use; when two processes race to make it, both end up with the one
stored first.
"""

from __future__ import annotations

from imago_fed.domain.groups import KeyPair
from imago_fed.domain.ports import KeyPairFactory
from imago_fed.store.database import Db

__all__ = ["INSTANCE_ACTOR", "PgSigningKeys"]


INSTANCE_ACTOR = "actor"
_SELECT = "SELECT public_key_pem, private_key_sealed FROM instance_keys WHERE name = $1"


class PgSigningKeys:
    """Implements :class:`imago_fed.domain.ports.federation.SigningKeys`."""

    def __init__(self, db: Db) -> None:
        self._db = db

    async def group_key(self, group_id: int) -> tuple[str, bytes] | None:
        # Soft-deleted groups too: their last Delete is signed with this key.
        row = await self._db.fetchrow(
            "SELECT slug, private_key_sealed FROM groups WHERE id = $1", group_id
        )
        return (row["slug"], row["private_key_sealed"]) if row else None

    async def instance_key(self, factory: KeyPairFactory) -> KeyPair:
        """The instance actor's pair (private half sealed), made if absent."""
        row = await self._db.fetchrow(_SELECT, INSTANCE_ACTOR)
        if row is None:
            made = await factory.new_keypair()
            await self._db.execute(
                """
                INSERT INTO instance_keys (name, public_key_pem, private_key_sealed)
                VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING
                """,
                INSTANCE_ACTOR,
                made.public_pem,
                made.sealed_private,
            )
            # ours, or the one a racing process stored
            row = await self._db.fetchrow(_SELECT, INSTANCE_ACTOR)
        return KeyPair(public_pem=row["public_key_pem"], sealed_private=row["private_key_sealed"])

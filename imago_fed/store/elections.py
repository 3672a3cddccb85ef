"""Elections in PostgreSQL (implements ``domain.ports.elections.ElectionStore``).

State changes are single guarded statements (``WHERE state = …``), so two
requests racing (a ballot and the close, two uploads of a key) cannot both
win. A ballot is inserted only while the election row, locked FOR SHARE,
is still open: the close (an UPDATE of that row) waits for it or refuses it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from imago_fed.domain.voting.elections import ElectionRecord, TrusteeSlot

__all__ = ["PgElectionStore"]


class PgElectionStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(
        self, proposal_id: int, uuid: str, electorate: Sequence[str],
        credentials: Sequence[str], trustees: Sequence[str], timestamp: int, now: datetime,
        threshold: int | None = None, credential_authority: str = "server",
    ) -> int:  # fmt: skip
        async with self._pool.acquire() as conn, conn.transaction():
            election_id: int = await conn.fetchval(
                """
                INSERT INTO elections (proposal_id, uuid, electorate, credentials, timestamp,
                                       created_at, threshold, credential_authority)
                VALUES ($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7, $8) RETURNING id
                """,
                proposal_id, uuid, json.dumps(list(electorate)),
                json.dumps(sorted(credentials)), timestamp, now, threshold, credential_authority,
            )  # fmt: skip
            await conn.executemany(
                "INSERT INTO election_trustees (election_id, position, member) VALUES ($1, $2, $3)",
                [(election_id, i, member) for i, member in enumerate(trustees, 1)],
            )
        return election_id

    async def get(self, election_id: int) -> ElectionRecord | None:
        row = await self._pool.fetchrow("SELECT * FROM elections WHERE id = $1", election_id)
        return await self._record(row) if row else None

    async def by_proposal(self, proposal_id: int) -> ElectionRecord | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM elections WHERE proposal_id = $1", proposal_id
        )
        return await self._record(row) if row else None

    async def _record(self, row: asyncpg.Record) -> ElectionRecord:
        slots = await self._pool.fetch(
            "SELECT position, member, public_key, decryption, cert, polynomial, verification"
            " FROM election_trustees WHERE election_id = $1 ORDER BY position",
            row["id"],
        )
        return ElectionRecord(
            id=row["id"],
            proposal_id=row["proposal_id"],
            uuid=row["uuid"],
            state=row["state"],
            electorate=tuple(json.loads(row["electorate"])),
            credentials=tuple(json.loads(row["credentials"])),
            timestamp=row["timestamp"],
            trustees=tuple(
                TrusteeSlot(
                    s["position"],
                    s["member"],
                    s["public_key"],
                    s["decryption"],
                    s["cert"],
                    s["polynomial"],
                    s["verification"],
                )
                for s in slots
            ),
            election=row["election"],
            encrypted_tally=row["encrypted_tally"],
            result=json.loads(row["result"]) if row["result"] else None,
            threshold=row["threshold"],
            credential_authority=row["credential_authority"],
        )

    async def set_trustee_key(self, election_id: int, position: int, key: str) -> bool:
        status = await self._pool.execute(
            """
            UPDATE election_trustees t SET public_key = $3
            FROM elections e
            WHERE t.election_id = $1 AND t.position = $2 AND t.public_key IS NULL
              AND e.id = t.election_id AND e.state = 'keys'
            """,
            election_id, position, key,
        )  # fmt: skip
        return status.endswith(" 1")

    async def set_ceremony(
        self, election_id: int, position: int, step: str, text: str, public_key: str | None = None
    ) -> bool:
        """A round's message of a t-of-n ceremony, once per trustee and round.

        ``step`` is a column name from a fixed list, never user input. The
        previous round must be complete for every trustee (checked in the
        same statement, so two uploads racing cannot skip a round).
        """
        previous = {"cert": None, "polynomial": "cert", "verification": "polynomial"}[step]
        complete = (
            f"AND NOT EXISTS (SELECT 1 FROM election_trustees o WHERE o.election_id = $1"
            f" AND o.{previous} IS NULL)"
            if previous
            else ""
        )
        status = await self._pool.execute(
            f"""
            UPDATE election_trustees t SET {step} = $3, public_key = coalesce($4, t.public_key)
            FROM elections e
            WHERE t.election_id = $1 AND t.position = $2 AND t.{step} IS NULL
              AND e.id = t.election_id AND e.state = 'keys' AND e.threshold IS NOT NULL
              {complete}
            """,
            election_id, position, text, public_key,
        )  # fmt: skip
        return status.endswith(" 1")

    async def set_credentials(self, election_id: int, credentials: Sequence[str]) -> bool:
        """An external authority's public credentials, once, before the box opens."""
        status = await self._pool.execute(
            """
            UPDATE elections SET credentials = $2::jsonb
            WHERE id = $1 AND state = 'keys' AND credential_authority = 'external'
              AND credentials = '[]'::jsonb
            """,
            election_id, json.dumps(sorted(credentials)),
        )  # fmt: skip
        return status.endswith(" 1")

    async def open(self, election_id: int, election: str) -> bool:
        status = await self._pool.execute(
            "UPDATE elections SET state = 'open', election = $2 WHERE id = $1 AND state = 'keys'",
            election_id, election,
        )  # fmt: skip
        return status.endswith(" 1")

    async def add_ballot(
        self, election_id: int, credential: str, tracker: str, raw: str, now: datetime
    ) -> bool:
        status = await self._pool.execute(
            """
            INSERT INTO election_ballots (election_id, credential, tracker, raw, cast_at)
            SELECT id, $2, $3, $4, $5 FROM elections WHERE id = $1 AND state = 'open' FOR SHARE
            """,
            election_id, credential, tracker, raw, now,
        )  # fmt: skip
        return status.endswith(" 1")

    async def ballots(self, election_id: int) -> list[str]:
        rows = await self._pool.fetch(
            "SELECT raw FROM election_ballots WHERE election_id = $1 ORDER BY id", election_id
        )
        return [r["raw"] for r in rows]

    async def add_audit(self, election_id: int, ciphertexts: str, now: datetime) -> None:
        await self._pool.execute(
            """
            INSERT INTO election_audits (election_id, ciphertexts, audited_at)
            VALUES ($1, $2, $3) ON CONFLICT DO NOTHING
            """,
            election_id, ciphertexts, now,
        )  # fmt: skip

    async def was_audited(self, election_id: int, ciphertexts: str) -> bool:
        found = await self._pool.fetchval(
            "SELECT 1 FROM election_audits WHERE election_id = $1 AND ciphertexts = $2",
            election_id, ciphertexts,
        )  # fmt: skip
        return found is not None

    async def close(self, election_id: int) -> bool:
        status = await self._pool.execute(
            "UPDATE elections SET state = 'tallied' WHERE id = $1 AND state = 'open'", election_id
        )
        return status.endswith(" 1")

    async def set_tally(self, election_id: int, encrypted_tally: str) -> None:
        await self._pool.execute(
            "UPDATE elections SET encrypted_tally = $2 WHERE id = $1 AND state = 'tallied'",
            election_id, encrypted_tally,
        )  # fmt: skip

    async def add_decryption(
        self, election_id: int, position: int, text: str, now: datetime
    ) -> bool:
        status = await self._pool.execute(
            """
            UPDATE election_trustees SET decryption = $3, decrypted_at = $4
            WHERE election_id = $1 AND position = $2 AND decryption IS NULL
            """,
            election_id, position, text, now,
        )  # fmt: skip
        return status.endswith(" 1")

    async def decryption_order(self, election_id: int) -> list[int]:
        """Positions in the order their partial decryptions arrived (the board's order)."""
        rows = await self._pool.fetch(
            "SELECT position FROM election_trustees WHERE election_id = $1"
            " AND decryption IS NOT NULL ORDER BY decrypted_at, position",
            election_id,
        )
        return [r["position"] for r in rows]

    async def finish(self, election_id: int, result: list[list[int]]) -> bool:
        status = await self._pool.execute(
            "UPDATE elections SET state = 'done', result = $2::jsonb"
            " WHERE id = $1 AND state = 'tallied'",
            election_id, json.dumps(result),
        )  # fmt: skip
        return status.endswith(" 1")

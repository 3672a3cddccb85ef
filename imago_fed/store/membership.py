"""Membership in PostgreSQL: invitations, the roster, and the decisions' effects.

The roster is not a table of its own: a member is an accepted follower
(``group_followers``) or a joined Matrix member (``matrix_members``), the
role comes from ``group_moderators``, so each network's own record stays
the one truth. ``use_invitation`` counts a use in one guarded UPDATE (valid,
not revoked, uses left) with the person's row, so two redemptions racing for
the last use cannot both win, and one person cannot use a code twice.

``decision_effects`` follow the EFFECT lifecycle (domain/membership.py):

    done | failed                       (the first attempt decided it)
    retry ──(worker, lease)──> retry | done | failed
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from imago_fed.domain.membership import EFFECT, Invitation
from imago_fed.domain.ports.membership import DueEffect

__all__ = ["PgEffectLedger", "PgMembershipStore"]

_INVITATION = "code, group_id, created_by, created_at, expires_at, max_uses, uses, revoked_at"


def _invitation(row: asyncpg.Record) -> Invitation:
    return Invitation(**dict(row))


class PgMembershipStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add_invitation(self, invitation: Invitation) -> None:
        await self._pool.execute(
            f"INSERT INTO invitations ({_INVITATION}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            invitation.code, invitation.group_id, invitation.created_by, invitation.created_at,
            invitation.expires_at, invitation.max_uses, invitation.uses, invitation.revoked_at,
        )  # fmt: skip

    async def invitation(self, code: str) -> Invitation | None:
        row = await self._pool.fetchrow(
            f"""
            SELECT {", ".join("i." + c for c in _INVITATION.split(", "))} FROM invitations i
            JOIN groups g ON g.id = i.group_id AND g.deleted_at IS NULL WHERE i.code = $1
            """,
            code,
        )
        return _invitation(row) if row else None

    async def invitations(self, group_id: int) -> list[Invitation]:
        rows = await self._pool.fetch(
            f"SELECT {_INVITATION} FROM invitations WHERE group_id = $1 "
            "ORDER BY created_at DESC, code LIMIT 500",
            group_id,
        )
        return [_invitation(r) for r in rows]

    async def revoke_invitation(self, group_id: int, code: str, now: datetime) -> bool:
        status = await self._pool.execute(
            "UPDATE invitations SET revoked_at = $3 "
            "WHERE group_id = $1 AND code = $2 AND revoked_at IS NULL",
            group_id, code, now,
        )  # fmt: skip
        return status.endswith(" 1")

    async def use_invitation(
        self, code: str, member_id: str, outcome: str, now: datetime
    ) -> Invitation | None:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                added = await conn.execute(
                    "INSERT INTO invitation_uses (code, member_id, used_at, outcome) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    code, member_id, now, outcome,
                )  # fmt: skip
                if not added.endswith(" 1"):
                    return None
                row = await conn.fetchrow(
                    f"""
                    UPDATE invitations SET uses = uses + 1
                    WHERE code = $1 AND revoked_at IS NULL AND expires_at > $2
                      AND uses < max_uses
                    RETURNING {_INVITATION}
                    """,
                    code,
                    now,
                )
                if row is None:
                    raise _Unusable  # rolls the use row back
                return _invitation(row)
        except (_Unusable, asyncpg.ForeignKeyViolationError):
            return None

    async def roster(self, group_id: int) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            """
            WITH mods AS (SELECT actor_uri FROM group_moderators WHERE group_id = $1)
            SELECT actor_uri AS id, 'fediverse' AS network, created_at AS since,
                   'member' AS state, actor_uri IN (SELECT actor_uri FROM mods) AS moderator
            FROM group_followers WHERE group_id = $1 AND state = 'accepted'
            UNION ALL
            SELECT user_id, 'matrix', joined_at,
                   CASE WHEN state = 'joined' THEN 'member' ELSE state END,
                   user_id IN (SELECT actor_uri FROM mods)
            FROM matrix_members WHERE group_id = $1 AND state IN ('joined', 'invited')
            ORDER BY since, id
            """,
            group_id,
        )
        return [
            {
                "id": r["id"],
                "network": r["network"],
                "role": "moderator" if r["moderator"] else "member",
                "state": r["state"],
                "since": r["since"].isoformat(),
            }
            for r in rows
        ]

    async def is_member(self, group_id: int, member_id: str) -> bool:
        return bool(
            await self._pool.fetchval(
                """
                SELECT EXISTS (SELECT 1 FROM group_followers WHERE group_id = $1
                               AND actor_uri = $2 AND state = 'accepted')
                    OR EXISTS (SELECT 1 FROM matrix_members WHERE group_id = $1
                               AND user_id = $2 AND state = 'joined')
                """,
                group_id,
                member_id,
            )
        )

    async def is_moderator(self, group_id: int, member_id: str) -> bool:
        return bool(
            await self._pool.fetchval(
                "SELECT 1 FROM group_moderators WHERE group_id = $1 AND actor_uri = $2",
                group_id,
                member_id,
            )
        )

    async def set_moderator(
        self, group_id: int, member_id: str, present: bool, now: datetime
    ) -> bool:
        if present:
            status = await self._pool.execute(
                "INSERT INTO group_moderators (group_id, actor_uri, added_at) "
                "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                group_id, member_id, now,
            )  # fmt: skip
        else:
            status = await self._pool.execute(
                "DELETE FROM group_moderators WHERE group_id = $1 AND actor_uri = $2",
                group_id,
                member_id,
            )
        return status.endswith(" 1")


class _Unusable(Exception):
    """Raised inside the transaction to roll the use row back."""


class PgEffectLedger:
    """``EffectLedger`` over the pool (see the module docstring for the states)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(
        self, proposal_id: int, name: str, state: str, outcome: str, *,
        next_attempt: datetime | None, now: datetime,
    ) -> None:  # fmt: skip
        status = await self._pool.execute(
            """
            UPDATE decision_effects SET state = $3, outcome = $4, next_attempt = $5,
                   attempts = attempts + 1, locked_until = NULL, updated_at = $6
            WHERE proposal_id = $1 AND name = $2 AND state = ANY($7::text[])
            """,
            proposal_id, name, state, outcome, next_attempt, now, EFFECT.sources(state),
        )  # fmt: skip
        if status.endswith(" 1"):
            return
        EFFECT.check_entry(state)
        inserted = await self._pool.execute(
            """
            INSERT INTO decision_effects (proposal_id, name, state, outcome, next_attempt,
                                          created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (proposal_id, name) DO NOTHING
            """,
            proposal_id, name, state, outcome, next_attempt, now,
        )  # fmt: skip
        if not inserted.endswith(" 1"):  # it exists in a state with no edge to ``state``
            current = await self._pool.fetchval(
                "SELECT state FROM decision_effects WHERE proposal_id = $1 AND name = $2",
                proposal_id,
                name,
            )
            EFFECT.check(current, state)

    async def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> list[DueEffect]:
        rows = await self._pool.fetch(
            """
            UPDATE decision_effects SET locked_until = $1 + $3::interval
            WHERE id IN (
                SELECT id FROM decision_effects
                WHERE state = 'retry' AND next_attempt <= $1
                  AND (locked_until IS NULL OR locked_until < $1)
                ORDER BY next_attempt LIMIT $2 FOR UPDATE SKIP LOCKED
            )
            RETURNING id, proposal_id, name, attempts
            """,
            now, limit, lease,
        )  # fmt: skip
        return [DueEffect(**dict(r)) for r in rows]

    async def of_proposal(self, proposal_id: int) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            """
            SELECT name, state, outcome, attempts, next_attempt, created_at, updated_at
            FROM decision_effects WHERE proposal_id = $1 ORDER BY id
            """,
            proposal_id,
        )
        return [
            {
                "name": r["name"],
                "state": r["state"],
                "outcome": r["outcome"],
                "attempts": r["attempts"],
                "next_attempt": r["next_attempt"].isoformat() if r["next_attempt"] else None,
                "updated_at": r["updated_at"].isoformat(),
            }
            for r in rows
        ]

    async def next_due(self) -> datetime | None:
        return await self._pool.fetchval(
            "SELECT min(next_attempt) FROM decision_effects WHERE state = 'retry'"
        )

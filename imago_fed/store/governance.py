"""Governance in PostgreSQL (implements ``domain.ports.governance.GovernanceStore``)."""

from __future__ import annotations

import builtins
import json
from datetime import datetime
from typing import Any

import asyncpg

from imago_fed.domain.errors import Conflict
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.delegation import Delegation
from imago_fed.domain.governance.proposals import PROPOSAL, Proposal, Transition
from imago_fed.domain.governance.protocols import protocol_from_dict, protocol_to_dict
from imago_fed.domain.governance.table import ControlTable
from imago_fed.domain.lifecycle import IllegalTransition

__all__ = ["PgGovernanceStore"]

_COLUMNS = (
    "id, group_id, action, title, options, protocol, params, topics, state, author,"
    " created_at, opened_at, closes_at, result"
)


def _proposal(row: asyncpg.Record) -> Proposal:
    return Proposal(
        id=row["id"],
        group_id=row["group_id"],
        action=ActionKind(row["action"]),
        title=row["title"],
        options=tuple(json.loads(row["options"])),
        protocol=protocol_from_dict(json.loads(row["protocol"])),
        params=json.loads(row["params"]),
        topics=tuple(row["topics"]),
        state=row["state"],
        author=row["author"],
        created_at=row["created_at"],
        opened_at=row["opened_at"],
        closes_at=row["closes_at"],
        result=json.loads(row["result"]),
    )


class PgGovernanceStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    # ------------------------------------------------------------- table
    async def table(self, group_id: int) -> ControlTable | None:
        rules = await self._pool.fetchval(
            "SELECT rules FROM control_tables WHERE group_id = $1", group_id
        )
        return ControlTable.from_dict(json.loads(rules)) if rules else None

    async def save_table(self, group_id: int, table: ControlTable, now: datetime) -> None:
        await self._pool.execute(
            """
            INSERT INTO control_tables (group_id, rules, updated_at) VALUES ($1, $2::jsonb, $3)
            ON CONFLICT (group_id) DO UPDATE SET rules = EXCLUDED.rules,
                updated_at = EXCLUDED.updated_at
            """,
            group_id, json.dumps(table.to_dict()), now,
        )  # fmt: skip

    # --------------------------------------------------------- proposals
    async def add(self, proposal: Proposal) -> Proposal:
        row = await self._pool.fetchrow(
            f"""
            INSERT INTO proposals (group_id, action, title, options, protocol, params, topics,
                                   state, author, created_at, opened_at, closes_at, result)
            VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11, $12,
                    $13::jsonb)
            RETURNING {_COLUMNS}
            """,
            proposal.group_id, proposal.action.value, proposal.title,
            json.dumps(list(proposal.options)), json.dumps(protocol_to_dict(proposal.protocol)),
            json.dumps(dict(proposal.params)), list(proposal.topics), proposal.state,
            proposal.author, proposal.created_at, proposal.opened_at, proposal.closes_at,
            json.dumps(dict(proposal.result)),
        )  # fmt: skip
        return _proposal(row)

    async def save(self, proposal: Proposal, transition: Transition) -> None:
        """Store a state change and its log line together.

        Only along the declared graph, and only from the state it was read in:
        a proposal another process moved meanwhile is not moved twice.
        """
        PROPOSAL.check(transition.from_state, transition.to_state)
        async with self._pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                """
                UPDATE proposals SET state = $2, opened_at = $3, closes_at = $4,
                    result = $5::jsonb WHERE id = $1 AND state = $6
                """,
                proposal.id, proposal.state, proposal.opened_at, proposal.closes_at,
                json.dumps(dict(proposal.result), default=str), transition.from_state,
            )  # fmt: skip
            if not status.endswith(" 1"):
                raise IllegalTransition(
                    f"proposal {proposal.id} is no longer {transition.from_state}"
                )
            await conn.execute(
                """
                INSERT INTO proposal_transitions (proposal_id, from_state, to_state, by, at, note)
                VALUES ($1, $2, $3, $4, $5, $6)
                """,
                proposal.id, transition.from_state, transition.to_state, transition.by,
                transition.at, transition.note,
            )  # fmt: skip

    async def get(self, proposal_id: int) -> Proposal | None:
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM proposals WHERE id = $1", proposal_id
        )
        return _proposal(row) if row else None

    async def list(self, group_id: int, state: str | None = None) -> builtins.list[Proposal]:
        rows = await self._pool.fetch(
            f"""
            SELECT {_COLUMNS} FROM proposals
            WHERE group_id = $1 AND ($2::text IS NULL OR state = $2) ORDER BY id DESC LIMIT 200
            """,
            group_id,
            state,
        )
        return [_proposal(r) for r in rows]

    async def open_proposals(self) -> builtins.list[Proposal]:
        rows = await self._pool.fetch(f"SELECT {_COLUMNS} FROM proposals WHERE state = 'open'")
        return [_proposal(r) for r in rows]

    async def transitions(self, proposal_id: int) -> builtins.list[dict[str, Any]]:
        rows = await self._pool.fetch(
            """
            SELECT from_state, to_state, by, at, note FROM proposal_transitions
            WHERE proposal_id = $1 ORDER BY id
            """,
            proposal_id,
        )
        return [{**dict(r), "at": r["at"].isoformat()} for r in rows]

    # ------------------------------------------------------------- votes
    async def record_vote(
        self, proposal_id: int, voter: str, ballot: tuple[int, ...], network: str,
        *, counted: bool, reason: str, at: datetime,
    ) -> None:  # fmt: skip
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """
                INSERT INTO vote_log (proposal_id, voter, ballot, network, counted, reason, at)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                """,
                proposal_id, voter, list(ballot), network, counted, reason, at,
            )  # fmt: skip
            if counted:
                await conn.execute(
                    """
                    INSERT INTO votes (proposal_id, voter, ballot, network, cast_at)
                    VALUES ($1, $2, $3, $4, $5)
                    ON CONFLICT (proposal_id, voter) DO UPDATE SET ballot = EXCLUDED.ballot,
                        network = EXCLUDED.network, cast_at = EXCLUDED.cast_at
                    """,
                    proposal_id, voter, list(ballot), network, at,
                )  # fmt: skip

    async def ballots(self, proposal_id: int) -> dict[str, tuple[int, ...]]:
        rows = await self._pool.fetch(
            "SELECT voter, ballot FROM votes WHERE proposal_id = $1", proposal_id
        )
        return {r["voter"]: tuple(r["ballot"]) for r in rows}

    async def vote_log(self, proposal_id: int) -> builtins.list[dict[str, Any]]:
        rows = await self._pool.fetch(
            """
            SELECT voter, ballot, network, counted, reason, at FROM vote_log
            WHERE proposal_id = $1 ORDER BY id
            """,
            proposal_id,
        )
        return [{**dict(r), "ballot": list(r["ballot"]), "at": r["at"].isoformat()} for r in rows]

    # ------------------------------------------------------- delegations
    async def delegations(self, group_id: int) -> builtins.list[Delegation]:
        rows = await self._pool.fetch(
            "SELECT delegator, delegate, scope FROM delegations WHERE group_id = $1 ORDER BY 1, 3",
            group_id,
        )
        return [Delegation(r["delegator"], r["delegate"], r["scope"]) for r in rows]

    async def set_delegation(self, group_id: int, delegation: Delegation, now: datetime) -> None:
        await self._pool.execute(
            """
            INSERT INTO delegations (group_id, delegator, delegate, scope, created_at)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (group_id, delegator, scope) DO UPDATE SET delegate = EXCLUDED.delegate
            """,
            group_id, delegation.delegator, delegation.delegate, delegation.scope, now,
        )  # fmt: skip

    async def revoke_delegation(self, group_id: int, delegator: str, scope: str) -> bool:
        status = await self._pool.execute(
            "DELETE FROM delegations WHERE group_id = $1 AND delegator = $2 AND scope = $3",
            group_id, delegator, scope,
        )  # fmt: skip
        return status.endswith(" 1")

    # ---------------------------------------------------------- members
    async def members(self, group_id: int, as_of: datetime | None = None) -> builtins.list[str]:
        """Eligible voters: accepted followers and Matrix members, a linked pair once.

        ``as_of``: only those who were already members then (and still are).
        """
        rows = await self._pool.fetch(
            """
            SELECT actor_uri AS id FROM group_followers
            WHERE group_id = $1 AND state = 'accepted' AND ($2::timestamptz IS NULL
                                                            OR created_at <= $2)
            UNION
            SELECT coalesce(l.actor_uri, m.user_id) FROM matrix_members m
                LEFT JOIN identity_links l ON l.matrix_user = m.user_id
            WHERE m.group_id = $1 AND m.state = 'joined'
              AND ($2::timestamptz IS NULL OR m.joined_at <= $2)
            ORDER BY 1
            """,
            group_id, as_of,
        )  # fmt: skip
        return [r["id"] for r in rows]

    async def canonical(self, voter: str) -> str:
        """A Matrix account linked to a fediverse account votes as the latter."""
        linked = await self._pool.fetchval(
            "SELECT actor_uri FROM identity_links WHERE matrix_user = $1", voter
        )
        return linked or voter

    async def link(self, matrix_user: str, actor_uri: str, now: datetime) -> None:
        try:
            await self._pool.execute(
                """
                INSERT INTO identity_links (matrix_user, actor_uri, linked_at) VALUES ($1, $2, $3)
                ON CONFLICT (matrix_user) DO UPDATE SET actor_uri = EXCLUDED.actor_uri
                """,
                matrix_user, actor_uri, now,
            )  # fmt: skip
        except asyncpg.UniqueViolationError as exc:  # actor_uri is unique: one person each
            raise Conflict(
                f"{actor_uri} is linked to another Matrix account", field="actor"
            ) from exc

    async def claim(self, side: str, matrix_user: str, actor_uri: str, now: datetime) -> bool:
        """Record one side's claim; True when both sides now agree (and link them)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """
                INSERT INTO identity_claims (side, matrix_user, actor_uri, claimed_at)
                VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING
                """,
                side, matrix_user, actor_uri, now,
            )  # fmt: skip
            both = await conn.fetchval(
                """
                SELECT count(DISTINCT side) = 2 FROM identity_claims
                WHERE matrix_user = $1 AND actor_uri = $2
                """,
                matrix_user,
                actor_uri,
            )
            if both:
                await conn.execute(
                    """
                    INSERT INTO identity_links (matrix_user, actor_uri, linked_at)
                    VALUES ($1, $2, $3)
                    ON CONFLICT (matrix_user) DO UPDATE SET actor_uri = EXCLUDED.actor_uri
                    """,
                    matrix_user, actor_uri, now,
                )  # fmt: skip
        return bool(both)

    # --------------------------------------------------------- sub-groups
    async def subgroups(self, group_id: int) -> dict[str, int]:
        """Groups linked as sub-groups of this one: slug -> id."""
        rows = await self._pool.fetch(
            """
            SELECT g.slug, g.id FROM group_links l JOIN groups g ON g.id = l.child_id
            WHERE l.parent_id = $1 AND l.kind = 'subgroup' AND g.deleted_at IS NULL
            """,
            group_id,
        )
        return {r["slug"]: r["id"] for r in rows}

    async def link_subgroup(self, parent_id: int, child_id: int, now: datetime) -> bool:
        status = await self._pool.execute(
            """
            INSERT INTO group_links (parent_id, child_id, kind, created_at)
            VALUES ($1, $2, 'subgroup', $3) ON CONFLICT DO NOTHING
            """,
            parent_id, child_id, now,
        )  # fmt: skip
        return status.endswith(" 1")

"""Rows the store's tests need as a starting point (a proposal under a group)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import asyncpg

from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.proposals import YES_NO, Proposal
from imago_fed.domain.governance.protocols import Democracy
from imago_fed.store.governance import PgGovernanceStore

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
VOTE = Democracy(Fraction(1, 4), Fraction(1, 2), timedelta(days=3))


def draft(group_id: int, title: str = "Block spam.example", **fields: Any) -> Proposal:
    """A draft moderation proposal decided by a vote; ``fields`` replace any field."""
    return replace(Proposal(group_id, ActionKind.MODERATE, title, VOTE, YES_NO, "admin", NOW),
                   **fields)  # fmt: skip


async def add_proposal(pool: asyncpg.Pool, group_id: int, **fields: Any) -> int:
    stored = await PgGovernanceStore(pool).add(draft(group_id, **fields))
    assert stored.id is not None
    return stored.id

"""What the store's tests build on: stored keys, groups (the ``add_group`` fixture in
conftest.py), a proposal under a group."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import asyncpg

from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.proposals import YES_NO, Proposal
from imago_fed.domain.governance.protocols import Democracy
from imago_fed.domain.groups import KeyPair
from imago_fed.store.governance import PgGovernanceStore

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)

# A group's key pair, as stored: the tests here never sign with it.
STORED_KEYS = KeyPair("-----BEGIN PUBLIC KEY-----\nPEM\n", b"sealed")

#: The ``add_group`` fixture: ``await add_group("slug", manual=..., policy=...)`` -> its id.
AddGroup = Callable[..., Awaitable[int]]
VOTE = Democracy(Fraction(1, 4), Fraction(1, 2), timedelta(days=3))


def draft(group_id: int, title: str = "Block spam.example", **fields: Any) -> Proposal:
    """A draft moderation proposal decided by a vote; ``fields`` replace any field."""
    return replace(Proposal(group_id, ActionKind.MODERATE, title, VOTE, YES_NO, "admin", NOW),
                   **fields)  # fmt: skip


async def add_proposal(pool: asyncpg.Pool, group_id: int, **fields: Any) -> int:
    stored = await PgGovernanceStore(pool).add(draft(group_id, **fields))
    assert stored.id is not None
    return stored.id


class NoDatabase:
    """A pool stand-in whose every use fails the test: a lifecycle guard must refuse
    an undeclared state before any SQL is sent."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the store reached the database ({name})")

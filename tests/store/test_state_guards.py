"""The store changes ``state`` only along the declared lifecycles.

An undeclared transition raises before any SQL is sent (no database needed);
the guarded UPDATEs themselves run in the delivery, inbox and Matrix tests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from imago_fed.domain.lifecycle import IllegalTransition
from imago_fed.store import follows, matrix
from imago_fed.store.inbox import PgInbox

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class NoDatabase:
    """Any query is a failure of the test: the guard must refuse first."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the store reached the database ({name})")


async def test_an_inbound_activity_cannot_end_in_an_undeclared_state() -> None:
    with pytest.raises(IllegalTransition):
        await PgInbox(NoDatabase()).finish(1, "delivered")
    with pytest.raises(IllegalTransition):
        await PgInbox(NoDatabase()).finish(1, "queued ")
    with pytest.raises(IllegalTransition):
        await PgInbox(NoDatabase()).store(
            activity={"id": "x"}, actor_uri="a", group_id=None, now=NOW, state="done"
        )


async def test_a_matrix_event_cannot_end_in_an_undeclared_state() -> None:
    with pytest.raises(IllegalTransition):
        await matrix.finish_event(NoDatabase(), 1, "sent")


async def test_follows_move_only_along_their_graphs() -> None:
    with pytest.raises(IllegalTransition):
        await follows.add_follower(NoDatabase(), 1, "a", "f", "rejected", NOW)
    with pytest.raises(IllegalTransition):
        await follows.set_following_state(NoDatabase(), "f", "a", "pending")

"""Membership in PostgreSQL (store/membership.py): invitations used within their
terms (even when raced), the roster from both networks, and the effects ledger."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from imago_fed.domain.lifecycle import IllegalTransition
from imago_fed.domain.membership import Invitation
from imago_fed.store import follows, matrix
from imago_fed.store.membership import PgEffectLedger, PgMembershipStore
from tests.store.helpers import AddGroup, add_proposal

NOW = datetime(2026, 5, 1, tzinfo=UTC)
AL = "https://a.example/users/al"


def _invitation(group_id: int, code: str = "garden-1", uses: int = 2) -> Invitation:
    return Invitation(code, group_id, "admin", NOW, NOW + timedelta(days=7), uses)


async def test_an_invitation_is_used_within_its_terms(pool: asyncpg.Pool, add_group: AddGroup):
    garden, store = await add_group(), PgMembershipStore(pool)
    await store.add_invitation(_invitation(garden))
    assert await store.invitation("garden-1") == _invitation(garden)
    used = await store.use_invitation("garden-1", AL, "joined", NOW)
    assert used is not None and used.uses == 1
    assert await store.use_invitation("garden-1", AL, "joined", NOW) is None  # not twice
    assert await store.use_invitation("garden-1", "@bo:example.org", "joined",
                                      NOW + timedelta(days=8)) is None  # expired  # fmt: skip
    assert await store.use_invitation("nope", AL, "joined", NOW) is None  # unknown code
    assert await store.revoke_invitation(garden, "garden-1", NOW)
    assert not await store.revoke_invitation(garden, "garden-1", NOW)
    assert await store.use_invitation("garden-1", "@bo:example.org", "joined", NOW) is None
    (listed,) = await store.invitations(garden)
    assert (listed.uses, listed.revoked_at) == (1, NOW)


async def test_racing_for_the_last_use_one_wins(pool: asyncpg.Pool, add_group: AddGroup):
    garden, store = await add_group(), PgMembershipStore(pool)
    await store.add_invitation(_invitation(garden, uses=1))
    results = await asyncio.gather(
        *(store.use_invitation("garden-1", f"@m{n}:example.org", "joined", NOW) for n in range(5))
    )
    assert len([r for r in results if r is not None]) == 1
    invitation = await store.invitation("garden-1")
    assert invitation is not None and invitation.uses == 1
    uses = await pool.fetchval("SELECT count(*) FROM invitation_uses")
    assert uses == 1  # the refused ones left no row


async def test_a_deleted_groups_invitation_is_gone(pool: asyncpg.Pool, add_group: AddGroup):
    garden, store = await add_group(), PgMembershipStore(pool)
    await store.add_invitation(_invitation(garden))
    await pool.execute("UPDATE groups SET deleted_at = now() WHERE id = $1", garden)
    assert await store.invitation("garden-1") is None


async def test_the_roster_joins_both_networks_with_roles(pool: asyncpg.Pool, add_group):
    garden, store = await add_group(), PgMembershipStore(pool)
    await follows.add_follower(pool, garden, AL, "f1", "accepted", NOW)
    await follows.add_follower(pool, garden, "https://b.example/u/pending", "f2", "pending", NOW)
    await matrix.set_member(pool, garden, "@hazel:example.org", True, NOW + timedelta(hours=1))
    await matrix.set_member(pool, garden, "@kim:example.org", True, NOW + timedelta(hours=2),
                            state="invited")  # fmt: skip
    await matrix.set_member(pool, garden, "@lou:example.org", True, NOW, state="knocked")
    assert await store.set_moderator(garden, "@hazel:example.org", True, NOW)
    assert not await store.set_moderator(garden, "@hazel:example.org", True, NOW)
    roster = await store.roster(garden)
    assert [(m["id"], m["network"], m["role"], m["state"]) for m in roster] == [
        (AL, "fediverse", "member", "member"),
        ("@hazel:example.org", "matrix", "moderator", "member"),
        ("@kim:example.org", "matrix", "member", "invited"),
    ]
    assert await store.is_member(garden, AL) and await store.is_member(garden, "@hazel:example.org")
    assert not await store.is_member(garden, "@kim:example.org")  # invited, not joined yet
    assert await store.is_moderator(garden, "@hazel:example.org")
    assert await store.set_moderator(garden, "@hazel:example.org", False, NOW)
    assert not await store.is_moderator(garden, "@hazel:example.org")


async def test_effects_are_recorded_retried_once_at_a_time_and_end(pool: asyncpg.Pool, add_group):
    garden, ledger = await add_group(), PgEffectLedger(pool)
    proposal = await add_proposal(pool, garden)
    await ledger.record(proposal, "invite", "done", "invited", next_attempt=None, now=NOW)
    await ledger.record(proposal, "space", "retry", "homeserver down",
                        next_attempt=NOW + timedelta(seconds=10), now=NOW)  # fmt: skip
    assert await ledger.next_due() == NOW + timedelta(seconds=10)
    assert await ledger.claim_due(NOW, limit=10, lease=timedelta(minutes=1)) == []  # not yet
    later = NOW + timedelta(seconds=11)
    (due,) = await ledger.claim_due(later, limit=10, lease=timedelta(minutes=1))
    assert (due.proposal_id, due.name, due.attempts) == (proposal, "space", 1)
    assert await ledger.claim_due(later, limit=10, lease=timedelta(minutes=1)) == []  # leased
    await ledger.record(proposal, "space", "done", "joined", next_attempt=None, now=later)
    assert await ledger.next_due() is None
    effects = await ledger.of_proposal(proposal)
    assert [(e["name"], e["state"], e["outcome"], e["attempts"]) for e in effects] == [
        ("invite", "done", "invited", 1), ("space", "done", "joined", 2),
    ]  # fmt: skip
    with pytest.raises(IllegalTransition):  # a finished effect does not run again
        await ledger.record(proposal, "invite", "retry", "again", next_attempt=NOW, now=NOW)

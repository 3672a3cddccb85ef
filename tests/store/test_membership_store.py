"""Invitations, the roster and the effect ledger on the real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from imago_fed.app import build_runtime
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.lifecycle import IllegalTransition
from imago_fed.domain.membership import Invitation
from imago_fed.store import follows
from imago_fed.store.matrix import set_member
from imago_fed.store.membership import PgEffectLedger, PgMembershipStore
from imago_fed.web.runtime import Runtime

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


@pytest.fixture
async def rt(migrated_db: str, make_settings) -> AsyncIterator[Runtime]:
    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=6)
    try:
        yield build_runtime(make_settings(migrated_db), pool)
    finally:
        await pool.close()


async def test_the_last_use_of_an_invitation_goes_to_one_person_only(rt: Runtime) -> None:
    group = await rt.groups.create("garden", "Garden")
    store = PgMembershipStore(rt.pool)  # type: ignore[arg-type]
    await store.add_invitation(
        Invitation("c0de-one", group.id or 0, "admin", NOW, NOW + timedelta(days=1), max_uses=2)
    )
    people = [f"@p{n}:matrix.example" for n in range(6)]
    used = await asyncio.gather(*(store.use_invitation("c0de-one", p, "x", NOW) for p in people))
    assert sum(u is not None for u in used) == 2
    found = await store.invitation("c0de-one")
    assert found is not None and found.uses == 2
    winner = next(p for p, u in zip(people, used, strict=True) if u is not None)
    assert await store.use_invitation("c0de-one", winner, "x", NOW) is None  # once a person
    # expired and revoked codes are not used
    await store.add_invitation(
        Invitation("c0de-two", group.id or 0, "admin", NOW, NOW + timedelta(hours=1), 5)
    )
    assert await store.use_invitation("c0de-two", "@a:m.example", "x", NOW + timedelta(hours=2)) \
        is None  # fmt: skip
    assert await store.revoke_invitation(group.id or 0, "c0de-two", NOW)
    assert not await store.revoke_invitation(group.id or 0, "c0de-two", NOW)
    assert await store.use_invitation("c0de-two", "@a:m.example", "x", NOW) is None
    assert await store.use_invitation("no-such-code", "@a:m.example", "x", NOW) is None
    assert [i.code for i in await store.invitations(group.id or 0)] == ["c0de-one", "c0de-two"]
    await rt.groups.delete("garden")
    assert await store.invitation("c0de-one") is None  # a deleted group's codes are gone


async def test_the_roster_lists_both_networks_with_roles(rt: Runtime) -> None:
    group = await rt.groups.create("garden", "Garden")
    gid = group.id or 0
    store = PgMembershipStore(rt.pool)  # type: ignore[arg-type]
    ann = "https://a.example/users/ann"
    await follows.add_follower(rt.pool, gid, ann, ann + "#f", "accepted", NOW)  # type: ignore[arg-type]
    await follows.add_follower(rt.pool, gid, "https://p.example/u/pat", "f2", "pending", NOW)  # type: ignore[arg-type]
    await set_member(rt.pool, gid, "@bob:m.example", True, NOW + timedelta(hours=1))  # type: ignore[arg-type]
    await set_member(rt.pool, gid, "@cid:m.example", True, NOW, state="invited")  # type: ignore[arg-type]
    await store.set_moderator(gid, "@bob:m.example", True, NOW)
    roster = await store.roster(gid)
    assert [(m["id"], m["network"], m["role"], m["state"]) for m in roster] == [
        ("@cid:m.example", "matrix", "member", "invited"),
        (ann, "fediverse", "member", "member"),
        ("@bob:m.example", "matrix", "moderator", "member"),
    ]
    assert await store.is_member(gid, ann) and await store.is_member(gid, "@bob:m.example")
    assert not await store.is_member(gid, "@cid:m.example")  # invited: not yet in
    assert not await store.is_member(gid, "https://p.example/u/pat")
    assert await store.is_moderator(gid, "@bob:m.example")


async def test_the_effect_ledger_follows_its_lifecycle(rt: Runtime) -> None:
    group = await rt.groups.create("garden", "Garden")
    proposal = await rt.governance.propose(
        group.id or 0, action=ActionKind.PUBLISH_OFFER, title="Van", author="admin"
    )
    pid = proposal.id or 0
    ledger = PgEffectLedger(rt.pool)  # type: ignore[arg-type]
    await ledger.record(pid, "lend", "retry", "down", next_attempt=NOW, now=NOW)
    await ledger.record(pid, "note", "done", "ok", next_attempt=None, now=NOW)
    assert await ledger.next_due() == NOW
    [due] = await ledger.claim_due(NOW, limit=10, lease=timedelta(minutes=5))
    assert (due.name, due.attempts) == ("lend", 1)
    assert await ledger.claim_due(NOW, limit=10, lease=timedelta(minutes=5)) == []  # leased
    await ledger.record(pid, "lend", "done", "lent", next_attempt=None, now=NOW)
    with pytest.raises(IllegalTransition):  # done is final
        await ledger.record(pid, "lend", "retry", "again?", next_attempt=NOW, now=NOW)
    shown = {e["name"]: (e["state"], e["attempts"]) for e in await ledger.of_proposal(pid)}
    assert shown == {"lend": ("done", 2), "note": ("done", 1)}

"""Elections in PostgreSQL (store/elections.py): every step a single guarded statement,
so racing requests (two keys for one slot, a ballot and the close) cannot both win."""

from __future__ import annotations

import asyncio

import asyncpg

from imago_fed.store.elections import PgElectionStore
from tests.store.helpers import NOW, AddGroup, add_proposal

VOTERS = ("https://a.example/u/al", "@hazel:example.org")


async def _election(pool: asyncpg.Pool, add_group: AddGroup, slug: str = "garden",
                    **options: object) -> int:  # fmt: skip
    proposal = await add_proposal(pool, await add_group(slug), title="Choose a treasurer")
    return await PgElectionStore(pool).create(
        proposal, f"uuid-{slug}", VOTERS, ["cred-b", "cred-a"],
        ["@t1:example.org", "@t2:example.org"], 1_700_000_000, NOW, **options,
    )  # fmt: skip


async def test_an_election_is_created_with_its_trustee_slots(pool: asyncpg.Pool, add_group):
    store = PgElectionStore(pool)
    election_id = await _election(pool, add_group)
    record = await store.get(election_id)
    assert record is not None
    assert (record.uuid, record.state, record.electorate, record.credentials) == (
        "uuid-garden", "keys", VOTERS, ("cred-a", "cred-b"),
    )  # fmt: skip
    assert [(t.position, t.member, t.public_key) for t in record.trustees] == [
        (1, "@t1:example.org", None), (2, "@t2:example.org", None),
    ]  # fmt: skip
    assert (record.threshold, record.credential_authority, record.result) == (None, "server", None)
    assert await store.by_proposal(record.proposal_id) == record
    assert await store.get(election_id + 1) is None


async def test_a_trustee_key_is_taken_once_and_only_before_the_box_opens(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    store = PgElectionStore(pool)
    election_id = await _election(pool, add_group)
    uploads = await asyncio.gather(*(store.set_trustee_key(election_id, 1, f"key-{n}")
                                     for n in range(3)))  # fmt: skip
    assert sorted(uploads) == [False, False, True]
    assert await store.open(election_id, '{"election": 1}')
    assert not await store.open(election_id, '{"election": 2}')
    assert not await store.set_trustee_key(election_id, 2, "too late")
    record = await store.get(election_id)
    assert record is not None and record.election == '{"election": 1}'
    assert [t.public_key is not None for t in record.trustees] == [True, False]


async def test_ballots_go_in_only_while_the_box_is_open(pool: asyncpg.Pool, add_group) -> None:
    store = PgElectionStore(pool)
    election_id = await _election(pool, add_group)
    assert not await store.add_ballot(election_id, "cred-a", "t0", "early", NOW)
    await store.open(election_id, "{}")
    assert await store.add_ballot(election_id, "cred-a", "t1", "first", NOW)
    assert await store.add_ballot(election_id, "cred-a", "t2", "revote", NOW)
    assert await store.close(election_id)
    assert not await store.close(election_id)
    assert not await store.add_ballot(election_id, "cred-b", "t3", "late", NOW)
    assert await store.ballots(election_id) == ["first", "revote"]


async def test_a_ballot_racing_the_close_is_either_in_or_refused(pool: asyncpg.Pool, add_group):
    store = PgElectionStore(pool)
    election_id = await _election(pool, add_group)
    await store.open(election_id, "{}")
    for n in range(10):
        accepted, closed = await asyncio.gather(
            store.add_ballot(election_id, "cred-a", f"t{n}", f"ballot {n}", NOW),
            store.close(election_id) if n == 9 else asyncio.sleep(0, False),
        )
        if n == 9:
            assert closed
    ballots = await store.ballots(election_id)
    assert len(ballots) == 9 + int(accepted)  # the last one only if it came before the close


async def test_the_tally_and_each_trustees_decryption_once(pool: asyncpg.Pool, add_group):
    store = PgElectionStore(pool)
    election_id = await _election(pool, add_group)
    await store.set_tally(election_id, "too early")  # not tallied yet: ignored
    await store.open(election_id, "{}")
    await store.close(election_id)
    await store.set_tally(election_id, "encrypted tally")
    assert await store.add_decryption(election_id, 1, "share 1", NOW)
    assert not await store.add_decryption(election_id, 1, "share 1 again", NOW)
    record = await store.get(election_id)
    assert record is not None and record.encrypted_tally == "encrypted tally"
    assert [t.decryption for t in record.trustees] == ["share 1", None]


async def test_audits_are_remembered(pool: asyncpg.Pool, add_group: AddGroup) -> None:
    store = PgElectionStore(pool)
    election_id = await _election(pool, add_group)
    assert not await store.was_audited(election_id, "ciphertexts")
    await store.add_audit(election_id, "ciphertexts", NOW)
    await store.add_audit(election_id, "ciphertexts", NOW)
    assert await store.was_audited(election_id, "ciphertexts")
    assert not await store.was_audited(election_id, "other")


async def test_a_threshold_ceremony_goes_round_by_round(pool: asyncpg.Pool, add_group) -> None:
    store = PgElectionStore(pool)
    election_id = await _election(pool, add_group, threshold=2)
    assert not await store.set_ceremony(election_id, 1, "polynomial", "p1")  # certs first
    assert await store.set_ceremony(election_id, 1, "cert", "c1")
    assert not await store.set_ceremony(election_id, 1, "cert", "c1 again")
    assert not await store.set_ceremony(election_id, 1, "polynomial", "p1")  # t2's cert missing
    assert await store.set_ceremony(election_id, 2, "cert", "c2")
    assert await store.set_ceremony(election_id, 1, "polynomial", "p1")
    assert await store.set_ceremony(election_id, 2, "polynomial", "p2")
    assert await store.set_ceremony(election_id, 1, "verification", "v1", public_key="pk1")
    record = await store.get(election_id)
    assert record is not None
    assert [(t.cert, t.polynomial, t.verification, t.public_key) for t in record.trustees] == [
        ("c1", "p1", "v1", "pk1"), ("c2", "p2", None, None),
    ]  # fmt: skip

    plain = await PgElectionStore(pool).create(  # no threshold: no ceremony
        await add_proposal(pool, await add_group("bikes")), "uuid-plain", VOTERS, [], ["@t:x"], 1,
        NOW,
    )  # fmt: skip
    assert not await store.set_ceremony(plain, 1, "cert", "c")


async def test_external_credentials_are_set_once_before_opening(pool: asyncpg.Pool, add_group):
    store = PgElectionStore(pool)
    proposal = await add_proposal(pool, await add_group())
    election_id = await store.create(proposal, "uuid-3", VOTERS, [], ["@t:x"], 1, NOW,
                                     credential_authority="external")  # fmt: skip
    assert await store.set_credentials(election_id, ["z", "y"])
    assert not await store.set_credentials(election_id, ["other"])
    record = await store.get(election_id)
    assert record is not None and record.credentials == ("y", "z")
    server = await _election(pool, add_group, "bikes")  # the server made these: not replaceable
    assert not await store.set_credentials(server, ["x"])

"""The elections service over in-memory ports: a whole secret vote, no PostgreSQL.

Real crypto (the Belenios group, real proofs), fake store, fake clock, fake
messengers: setup, private delivery, trustee key, ballots, close, partial
decryption, verified result, proposal concluded; and the ticker's close_due.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from imago_fed.commands.ballot import encrypt_ballot
from imago_fed.domain.errors import Conflict, InvalidInput
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.counting import count_choices
from imago_fed.domain.governance.service import Governance
from imago_fed.domain.governance.table import default_table, parse_changes
from imago_fed.domain.ports.elections import ElectionStore
from imago_fed.domain.ports.messaging import DirectMessageFailed
from imago_fed.domain.voting.crypto import (
    Election,
    generate_single,
    partial_decrypt,
    verify_archive_bytes,
)
from imago_fed.domain.voting.crypto.encoding import compact, sha256_b64
from imago_fed.services.elections import Elections
from imago_fed.services.elections.base import GROUP
from imago_fed.services.elections.board import parse_tally
from imago_fed.services.execution import Executor
from tests.fakes.governance import (
    T0,
    FakeClock,
    MemoryBlocks,
    MemoryElectionStore,
    MemoryEventLog,
    MemoryGovernanceStore,
)

GROUP_ID = 1
MEMBERS = ["https://a.example/u/ann", "https://b.example/u/bob", "@cat:matrix.example"]
SECRET_PLURALITY = {"protocol": "democracy", "method": "plurality", "secret": True,
                    "quorum": "1/2", "duration_s": 3600}  # fmt: skip


@dataclass
class Postbox:
    """A DirectMessenger for fediverse ids; one address always fails."""

    sent: dict[str, str] = field(default_factory=dict)
    broken: str = ""

    def accepts(self, recipient: str) -> bool:
        return recipient.startswith("https://")

    async def send(self, group_id: int, recipient: str, text: str) -> None:
        if recipient == self.broken:
            raise DirectMessageFailed("their server refused it")
        self.sent[recipient] = text


@dataclass
class World:
    governance_store: MemoryGovernanceStore = field(default_factory=MemoryGovernanceStore)
    store: MemoryElectionStore = field(default_factory=MemoryElectionStore)
    clock: FakeClock = field(default_factory=FakeClock)
    postbox: Postbox = field(default_factory=Postbox)

    def services(self) -> tuple[Governance, Elections]:
        executor = Executor(self.governance_store, MemoryBlocks(), self.clock)
        governance = Governance(
            self.governance_store, MemoryEventLog(), executor, self.clock, count_choices
        )
        store: ElectionStore = self.store
        elections = Elections(store, governance, self.clock, [self.postbox], "https://h.example/")
        return governance, elections


@pytest.fixture
async def world() -> World:
    w = World()
    for member in MEMBERS:
        w.governance_store.join(GROUP_ID, member)
    table = default_table().amended(parse_changes({"spend": SECRET_PLURALITY}))
    await w.governance_store.save_table(GROUP_ID, table, T0)
    return w


async def test_a_secret_vote_from_setup_to_the_verified_result(world: World) -> None:
    governance, elections = world.services()
    proposal = await governance.propose(
        GROUP_ID, action=ActionKind.SPEND, title="Which tool?", author=MEMBERS[0],
        options=["saw", "drill"],
    )  # fmt: skip
    assert proposal.id is not None
    with pytest.raises(InvalidInput, match="trustees must be members"):
        await elections.setup(proposal.id, ["https://x.example/u/eve"])
    record, credentials = await elections.setup(proposal.id, [MEMBERS[0]])
    assert sorted(credentials) == sorted(MEMBERS) and record.state == "keys"
    with pytest.raises(Conflict, match="already has an election"):
        await elections.setup(proposal.id, [MEMBERS[0]])

    world.postbox.broken = MEMBERS[1]
    delivery, undelivered = await elections.deliver(record.id, credentials)
    assert delivery.delivered == (MEMBERS[0],)
    assert set(delivery.failed) == {MEMBERS[1], MEMBERS[2]}  # refused; no channel to Matrix
    assert undelivered == {m: credentials[m] for m in MEMBERS[1:]}
    notice = world.postbox.sent[MEMBERS[0]]
    assert credentials[MEMBERS[0]] in notice
    assert f"https://h.example/elections/{record.id}/trackers" in notice
    assert f"https://h.example/elections/{record.id}/booth#{credentials[MEMBERS[0]]}" in notice

    x, public = generate_single(GROUP)
    opened = await elections.add_trustee_key(record.id, 1, compact(public.to_json(GROUP)))
    assert opened.state == "open" and opened.election is not None

    params = await elections.describe(record.id)
    choices = {MEMBERS[0]: [1], MEMBERS[1]: [1], MEMBERS[2]: [0]}
    trackers = [
        await elections.cast(record.id, encrypt_ballot(params, credentials[m], c))
        for m, c in choices.items()
    ]
    _, entries = await elections.board(record.id)
    assert [e.tracker for e in entries] == trackers and all(e.counted for e in entries)

    tallied = await elections.close(record.id)
    assert tallied.state == "tallied"
    election = Election.parse(opened.election)
    share = partial_decrypt(GROUP, election.fingerprint, x, parse_tally(tallied).ciphertexts)
    done = await elections.add_decryption(record.id, 1, share.to_json(GROUP))

    assert done.state == "done" and done.result == [[1, 2]]
    assert verify_archive_bytes(await elections.archive(record.id)).ok
    concluded = await governance.get(proposal.id)
    assert concluded.state == "executed"
    assert concluded.result["tally"]["winner"] == "drill"
    assert concluded.result["tally"]["election"] == record.id


async def test_at_its_end_a_proposal_without_an_open_box_expires(world: World) -> None:
    governance, elections = world.services()
    proposal = await governance.propose(
        GROUP_ID, action=ActionKind.SPEND, title="t", author=MEMBERS[0], options=["a", "b"]
    )
    assert proposal.id is not None
    assert await elections.close_due() == 0  # not due yet
    assert await governance.tick() == 0  # a secret vote is never counted by the ticker
    world.clock.advance(timedelta(hours=2))
    assert await elections.close_due() == 1
    expired = await governance.get(proposal.id)
    assert expired.state == "expired"
    assert expired.result["tally"]["reason"] == "no election was set up"


async def test_an_audited_ballot_is_never_cast_and_a_cast_one_never_audited(world: World) -> None:
    governance, elections = world.services()
    proposal = await governance.propose(
        GROUP_ID, action=ActionKind.SPEND, title="Which tool?", author=MEMBERS[0],
        options=["saw", "drill"],
    )  # fmt: skip
    assert proposal.id is not None
    record, credentials = await elections.setup(proposal.id, [MEMBERS[0]])
    _, public = generate_single(GROUP)
    await elections.add_trustee_key(record.id, 1, compact(public.to_json(GROUP)))
    params = await elections.describe(record.id)

    opened = encrypt_ballot(params, credentials[MEMBERS[0]], [1])
    assert await elections.audit(record.id, opened) == sha256_b64(opened)
    with pytest.raises(Conflict, match="audited"):
        await elections.cast(record.id, opened)
    respelled = json.dumps(json.loads(opened), indent=1)  # another text, same ciphertexts
    with pytest.raises(Conflict, match="audited"):
        await elections.cast(record.id, respelled)

    fresh = encrypt_ballot(params, credentials[MEMBERS[0]], [1])
    tracker = await elections.cast(record.id, fresh)
    with pytest.raises(Conflict, match="cast already"):
        await elections.audit(record.id, fresh)
    with pytest.raises(InvalidInput, match="ballot refused"):
        await elections.audit(record.id, '{"answers": []}')
    _, entries = await elections.board(record.id)
    assert [e.tracker for e in entries] == [tracker]

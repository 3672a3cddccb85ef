"""In-memory GovernanceStore, ElectionStore, GroupBlocks and friends.

What they are for: running ``Governance`` and ``Elections`` use cases in
milliseconds, no database. What they are not: a second implementation of
the SQL's concurrency guarantees (a guarded write is a dict check here).
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from imago_fed.domain.errors import Conflict
from imago_fed.domain.events import GroupEvent
from imago_fed.domain.governance.delegation import Delegation
from imago_fed.domain.governance.proposals import Proposal, Transition
from imago_fed.domain.governance.table import ControlTable
from imago_fed.domain.groups import Group
from imago_fed.domain.voting.elections import ElectionRecord, TrusteeSlot

__all__ = [
    "FakeClock",
    "MemoryBlocks",
    "MemoryElectionStore",
    "MemoryEventLog",
    "MemoryGovernanceStore",
    "RecordingFollower",
]

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class FakeClock:
    """A clock that moves only when a test says so."""

    current: datetime = T0

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@dataclass
class MemoryEventLog:
    """Records events; a repeated dedupe key is ignored, as in the real log."""

    events: list[GroupEvent] = field(default_factory=list)

    async def record(self, event: GroupEvent) -> None:
        if all(e.dedupe_key != event.dedupe_key for e in self.events):
            self.events.append(event)

    def kinds(self) -> list[str]:
        return [str(e.kind) for e in self.events]


class MemoryGovernanceStore:
    """Implements ``GovernanceStore``; members are set by the test (``join``)."""

    def __init__(self) -> None:
        self.tables: dict[int, ControlTable] = {}
        self.proposals: dict[int, Proposal] = {}
        self.log: dict[int, list[Transition]] = {}
        self.votes: dict[int, dict[str, tuple[int, ...]]] = {}
        self.vote_records: dict[int, list[dict[str, Any]]] = {}
        self.delegation_rows: dict[int, dict[tuple[str, str], Delegation]] = {}
        self.joined: dict[int, dict[str, datetime]] = {}
        self.links: dict[str, str] = {}  # matrix user -> actor
        self.claims: set[tuple[str, str, str]] = set()
        self.subgroup_links: dict[int, dict[str, int]] = {}
        self._ids = itertools.count(1)

    def join(self, group_id: int, member: str, at: datetime = T0) -> None:
        self.joined.setdefault(group_id, {})[member] = at

    # ------------------------------------------------------------- table
    async def table(self, group_id: int) -> ControlTable | None:
        return self.tables.get(group_id)

    async def save_table(self, group_id: int, table: ControlTable, now: datetime) -> None:
        self.tables[group_id] = table

    # --------------------------------------------------------- proposals
    async def add(self, proposal: Proposal) -> Proposal:
        stored = replace(proposal, id=next(self._ids))
        assert stored.id is not None
        self.proposals[stored.id] = stored
        return stored

    async def save(self, proposal: Proposal, transition: Transition) -> None:
        assert proposal.id is not None
        self.proposals[proposal.id] = proposal
        self.log.setdefault(proposal.id, []).append(transition)

    async def get(self, proposal_id: int) -> Proposal | None:
        return self.proposals.get(proposal_id)

    async def list(self, group_id: int, state: str | None = None) -> builtins.list[Proposal]:
        found = [
            p for p in self.proposals.values()
            if p.group_id == group_id and (state is None or p.state == state)
        ]  # fmt: skip
        return sorted(found, key=lambda p: p.id or 0, reverse=True)[:200]

    async def open_proposals(self) -> builtins.list[Proposal]:
        return [p for p in self.proposals.values() if p.state == "open"]

    async def transitions(self, proposal_id: int) -> builtins.list[dict[str, Any]]:
        return [
            {"from_state": t.from_state, "to_state": t.to_state, "by": t.by,
             "at": t.at.isoformat(), "note": t.note}
            for t in self.log.get(proposal_id, [])
        ]  # fmt: skip

    # ------------------------------------------------------------- votes
    async def record_vote(
        self, proposal_id: int, voter: str, ballot: tuple[int, ...], network: str,
        *, counted: bool, reason: str, at: datetime,
    ) -> None:  # fmt: skip
        self.vote_records.setdefault(proposal_id, []).append(
            {"voter": voter, "ballot": list(ballot), "network": network, "counted": counted,
             "reason": reason, "at": at.isoformat()}
        )  # fmt: skip
        if counted:
            self.votes.setdefault(proposal_id, {})[voter] = ballot

    async def ballots(self, proposal_id: int) -> dict[str, tuple[int, ...]]:
        return dict(self.votes.get(proposal_id, {}))

    async def vote_log(self, proposal_id: int) -> builtins.list[dict[str, Any]]:
        return list(self.vote_records.get(proposal_id, []))

    # ------------------------------------------------------- delegations
    async def delegations(self, group_id: int) -> builtins.list[Delegation]:
        rows = self.delegation_rows.get(group_id, {})
        return [rows[k] for k in sorted(rows)]

    async def set_delegation(self, group_id: int, delegation: Delegation, now: datetime) -> None:
        key = (delegation.delegator, delegation.scope)
        self.delegation_rows.setdefault(group_id, {})[key] = delegation

    async def revoke_delegation(self, group_id: int, delegator: str, scope: str) -> bool:
        return self.delegation_rows.get(group_id, {}).pop((delegator, scope), None) is not None

    # ---------------------------------------------------------- members
    async def members(self, group_id: int, as_of: datetime | None = None) -> builtins.list[str]:
        joined = self.joined.get(group_id, {})
        found = {self.links.get(m, m) for m, at in joined.items() if as_of is None or at <= as_of}
        return sorted(found)

    async def canonical(self, voter: str) -> str:
        return self.links.get(voter, voter)

    async def link(self, matrix_user: str, actor_uri: str, now: datetime) -> None:
        if any(a == actor_uri and m != matrix_user for m, a in self.links.items()):
            raise Conflict(f"{actor_uri} is linked to another Matrix account", field="actor")
        self.links[matrix_user] = actor_uri

    async def claim(self, side: str, matrix_user: str, actor_uri: str, now: datetime) -> bool:
        self.claims.add((side, matrix_user, actor_uri))
        both = {s for s, m, a in self.claims if (m, a) == (matrix_user, actor_uri)} == {
            "matrix", "fediverse",
        }  # fmt: skip
        if both:
            self.links[matrix_user] = actor_uri
        return both

    # -------------------------------------------------------- sub-groups
    async def subgroups(self, group_id: int) -> dict[str, int]:
        return dict(self.subgroup_links.get(group_id, {}))

    async def link_subgroup(self, parent_id: int, child_id: int, now: datetime) -> bool:
        links = self.subgroup_links.setdefault(parent_id, {})
        slug = f"group{child_id}"
        if slug in links:
            return False
        links[slug] = child_id
        return True


@dataclass
class MemoryBlocks:
    """Implements ``GroupBlocks``: (group, kind, value) -> reason."""

    blocks: dict[tuple[int, str, str], str] = field(default_factory=dict)

    async def add(
        self, group_id: int, kind: str, value: str, *, reason: str, now: datetime
    ) -> None:
        self.blocks[(group_id, kind, value)] = reason

    async def remove(self, group_id: int, kind: str, value: str) -> bool:
        return self.blocks.pop((group_id, kind, value), None) is not None


@dataclass
class RecordingFollower:
    """Implements ``FollowRequester``: remembers who each group asked to follow."""

    requested: list[tuple[str, str]] = field(default_factory=list)

    async def follow(self, group: Group, handle_or_url: str) -> Mapping[str, Any]:
        self.requested.append((group.slug, handle_or_url))
        return {"actor": handle_or_url}


class MemoryElectionStore:
    """Implements ``ElectionStore`` with the same state guards as the SQL."""

    def __init__(self) -> None:
        self.records: dict[int, ElectionRecord] = {}
        self.ballot_rows: dict[int, list[str]] = {}
        self.audits: set[tuple[int, str]] = set()
        self.decrypted: dict[int, list[int]] = {}
        self._ids = itertools.count(1)

    def _slot(self, election_id: int, position: int) -> TrusteeSlot | None:
        return next((s for s in self.records[election_id].trustees if s.position == position), None)

    def _set_slot(self, election_id: int, slot: TrusteeSlot) -> None:
        record = self.records[election_id]
        trustees = tuple(slot if s.position == slot.position else s for s in record.trustees)
        self.records[election_id] = replace(record, trustees=trustees)

    async def create(
        self, proposal_id: int, uuid: str, electorate: Sequence[str],
        credentials: Sequence[str], trustees: Sequence[str], timestamp: int, now: datetime,
        threshold: int | None = None, credential_authority: str = "server",
    ) -> int:  # fmt: skip
        election_id = next(self._ids)
        self.records[election_id] = ElectionRecord(
            id=election_id, proposal_id=proposal_id, uuid=uuid, state="keys",
            electorate=tuple(electorate), credentials=tuple(sorted(credentials)),
            timestamp=timestamp,
            trustees=tuple(TrusteeSlot(i, m) for i, m in enumerate(trustees, 1)),
            threshold=threshold, credential_authority=credential_authority,
        )  # fmt: skip
        self.ballot_rows[election_id] = []
        self.decrypted[election_id] = []
        return election_id

    async def get(self, election_id: int) -> ElectionRecord | None:
        return self.records.get(election_id)

    async def by_proposal(self, proposal_id: int) -> ElectionRecord | None:
        return next((r for r in self.records.values() if r.proposal_id == proposal_id), None)

    async def set_credentials(self, election_id: int, credentials: Sequence[str]) -> bool:
        record = self.records[election_id]
        if record.state != "keys" or record.credentials:
            return False
        self.records[election_id] = replace(record, credentials=tuple(sorted(credentials)))
        return True

    async def set_trustee_key(self, election_id: int, position: int, key: str) -> bool:
        slot = self._slot(election_id, position)
        if slot is None or slot.public_key is not None:
            return False
        self._set_slot(election_id, replace(slot, public_key=key))
        return True

    async def set_ceremony(
        self, election_id: int, position: int, step: str, text: str, public_key: str | None = None
    ) -> bool:
        slot = self._slot(election_id, position)
        if slot is None or getattr(slot, step) is not None:
            return False
        changed = (
            replace(slot, cert=text) if step == "cert"
            else replace(slot, polynomial=text) if step == "polynomial"
            else replace(slot, verification=text)
        )  # fmt: skip
        if public_key is not None:
            changed = replace(changed, public_key=public_key)
        self._set_slot(election_id, changed)
        return True

    async def open(self, election_id: int, election: str) -> bool:
        record = self.records[election_id]
        if record.state != "keys":
            return False
        self.records[election_id] = replace(record, state="open", election=election)
        return True

    async def add_ballot(
        self, election_id: int, credential: str, tracker: str, raw: str, now: datetime
    ) -> bool:
        if self.records[election_id].state != "open":
            return False
        self.ballot_rows[election_id].append(raw)
        return True

    async def ballots(self, election_id: int) -> list[str]:
        return list(self.ballot_rows.get(election_id, []))

    async def add_audit(self, election_id: int, ciphertexts: str, now: datetime) -> None:
        self.audits.add((election_id, ciphertexts))

    async def was_audited(self, election_id: int, ciphertexts: str) -> bool:
        return (election_id, ciphertexts) in self.audits

    async def close(self, election_id: int) -> bool:
        record = self.records[election_id]
        if record.state != "open":
            return False
        self.records[election_id] = replace(record, state="tallied")
        return True

    async def set_tally(self, election_id: int, encrypted_tally: str) -> None:
        record = self.records[election_id]
        if record.state == "tallied":
            self.records[election_id] = replace(record, encrypted_tally=encrypted_tally)

    async def add_decryption(
        self, election_id: int, position: int, text: str, now: datetime
    ) -> bool:
        slot = self._slot(election_id, position)
        if slot is None or slot.decryption is not None:
            return False
        self._set_slot(election_id, replace(slot, decryption=text))
        self.decrypted[election_id].append(position)
        return True

    async def decryption_order(self, election_id: int) -> list[int]:
        return list(self.decrypted.get(election_id, []))

    async def finish(self, election_id: int, result: list[list[int]]) -> bool:
        record = self.records[election_id]
        if record.state != "tallied":
            return False
        self.records[election_id] = replace(record, state="done", result=result)
        return True

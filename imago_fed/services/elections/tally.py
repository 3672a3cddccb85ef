"""Closing the box and decrypting the tally: the trustees' work, checked on arrival.

close ──> EndBallots + encrypted tally on the board ──> tallied
add_decryption (each trustee, proofs checked) ──> the last one needed:
  result computed ──> whole board verified ──> proposal concluded
"""

from __future__ import annotations

import asyncio
import json
import logging

from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.governance.proposals import Outcome
from imago_fed.domain.voting.crypto import (
    Election,
    FormatError,
    PartialDecryption,
    TrusteePublicKey,
    combine_factors,
    compute_result,
    verify_archive_bytes,
)
from imago_fed.domain.voting.elections import ElectionRecord, secret_outcome
from imago_fed.services.elections.base import GROUP, ElectionsBase
from imago_fed.services.elections.board import (
    board_bytes,
    encrypted_tally,
    parse_tally,
    tally_json,
    trustee_kinds,
)

__all__ = ["ElectionTally"]

log = logging.getLogger(__name__)


class ElectionTally(ElectionsBase):
    async def close(self, election_id: int) -> ElectionRecord:
        """End the ballots and put the encrypted tally on the board."""
        record = await self.get(election_id)
        if record.state == "open":
            if not await self._store.close(election_id):
                raise Conflict("the election changed meanwhile; try again")
        elif record.state != "tallied" or record.encrypted_tally is not None:
            raise Conflict(f"the election is {record.state}")
        assert record.election is not None
        election = Election.parse(record.election)
        raws = await self._store.ballots(election_id)
        encrypted = await asyncio.to_thread(encrypted_tally, election, record, raws)
        await self._store.set_tally(election_id, tally_json(encrypted))
        return await self.get(election_id)

    async def close_due(self) -> int:
        """At a secret proposal's end: close its ballot box (the trustees then decrypt);
        a proposal whose election never opened (no election, or keys missing) expires."""
        changed = 0
        for proposal in await self._governance.due_secret_proposals():
            assert proposal.id is not None
            record = await self._store.by_proposal(proposal.id)
            if record is not None and record.state == "open":
                await self.close(record.id)
                changed += 1
            elif record is None or record.state == "keys":
                reason = "no election was set up" if record is None else "trustee keys missing"
                await self._governance.conclude_external(
                    proposal.id, Outcome("expired", {"reason": reason})
                )
                changed += 1
        return changed

    async def add_decryption(self, election_id: int, position: int, text: str) -> ElectionRecord:
        """A trustee's partial decryption, proofs checked; the last one decides."""
        record = await self.get(election_id)
        if record.state == "done":
            raise Conflict("the tally is already decrypted")
        if record.state != "tallied" or record.encrypted_tally is None or record.election is None:
            raise Conflict("there is no encrypted tally to decrypt")
        slot = next((s for s in record.trustees if s.position == position), None)
        if slot is None or slot.public_key is None:
            raise NotFound(f"no trustee {position}")
        election, encrypted = Election.parse(record.election), parse_tally(record)
        try:
            share = PartialDecryption.parse(GROUP, text.strip().splitlines()[0])
        except (IndexError, FormatError) as exc:
            raise InvalidInput(f"not a partial decryption: {exc}", field="decryption") from exc
        public = TrusteePublicKey.parse(GROUP, json.loads(slot.public_key)).public_key
        failure = await asyncio.to_thread(
            share.verify, GROUP, election.fingerprint, public, encrypted.ciphertexts
        )
        if failure is not None:
            raise InvalidInput(f"decryption proof fails: {failure}", field="decryption")
        now = self._clock.now()
        if not await self._store.add_decryption(election_id, position, share.to_json(GROUP), now):
            raise Conflict(f"trustee {position} has already decrypted")
        record = await self.get(election_id)
        needed = record.threshold or len(record.trustees)
        if sum(1 for s in record.trustees if s.decryption) >= needed:
            await self._finish(record)
            record = await self.get(election_id)
        return record

    async def _finish(self, record: ElectionRecord) -> None:
        encrypted = parse_tally(record)
        shares = {
            s.position: PartialDecryption.parse(GROUP, s.decryption)
            for s in record.trustees
            if s.decryption
        }
        factors = combine_factors(GROUP, trustee_kinds(record), shares)
        result = await asyncio.to_thread(
            compute_result, GROUP, encrypted.ciphertexts, factors, encrypted.total_weight
        )
        if not await self._store.finish(record.id, result):
            return  # another request finished it
        done = await self.get(record.id)
        archive = board_bytes(
            done,
            await self._store.ballots(record.id),
            await self._store.decryption_order(record.id),
        )
        report = await asyncio.to_thread(verify_archive_bytes, archive)
        if not report.ok:  # never expected: every part was checked on arrival
            failure = report.failures[0]
            log.error("election %s board fails %s: %s", record.id, failure.name, failure.detail)
            return
        proposal = await self._governance.get(record.proposal_id)
        outcome = secret_outcome(
            proposal, electorate=len(record.electorate), voters=encrypted.num_tallied,
            result=result,
        )  # fmt: skip
        outcome.tally["election"] = record.id
        await self._governance.conclude_external(record.proposal_id, outcome)

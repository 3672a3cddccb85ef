"""The public board: what it holds, rebuilt from the stored rows on every request.

It is written in the order belenios-tool writes it (election, trustees,
credentials, ballots, then EndBallots, the encrypted tally, the partial
decryptions in order of arrival, the result); what is appended never
reorders what came before, so an auditor's earlier copy stays a prefix.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from imago_fed.domain.errors import NotFound
from imago_fed.domain.voting.crypto import (
    BallotChecker,
    BoardWriter,
    Election,
    EncryptedTally,
    PartialDecryption,
    PublicCredentials,
    PublicKey,
    SingleTrustee,
    TrusteePublicKey,
    tally,
)
from imago_fed.domain.voting.crypto.ceremony import assemble
from imago_fed.domain.voting.crypto.encoding import compact
from imago_fed.domain.voting.elections import ElectionRecord, method_of
from imago_fed.services.elections.base import GROUP, ElectionsBase

__all__ = [
    "PublicBoard",
    "board_bytes",
    "encrypted_tally",
    "parse_tally",
    "tally_json",
    "trustee_kinds",
]


class PublicBoard(ElectionsBase):
    async def archive(self, election_id: int) -> bytes:
        """The public board as belenios-tool writes it (``election verify`` reads it)."""
        record = await self.get(election_id)
        return board_bytes(
            record,
            await self._store.ballots(election_id),
            await self._store.decryption_order(election_id),
        )

    async def describe(self, election_id: int) -> dict[str, Any]:
        """What voters and trustees fetch: parameters, state, trustees, result."""
        record = await self.get(election_id)
        proposal = await self._governance.get(record.proposal_id)
        return {
            "id": record.id,
            "proposal_id": record.proposal_id,
            "uuid": record.uuid,
            "state": record.state,
            "method": method_of(proposal),
            "options": list(proposal.options),
            "election": record.election,
            "voters": len(record.electorate),
            "threshold": record.threshold,
            "ceremony_step": record.ceremony_step,
            "credential_authority": record.credential_authority,
            "trustees": [
                {
                    "position": s.position,
                    "member": s.member,
                    "key": s.public_key is not None,
                    "decrypted": s.decryption is not None,
                }
                for s in record.trustees
            ],
            "result": record.result,
        }


def board_bytes(
    record: ElectionRecord, ballots: Sequence[str], decryption_order: Sequence[int]
) -> bytes:
    """The archive of ``record`` with its ``ballots`` and its trustees' decryptions."""
    if record.election is None:
        raise NotFound("no board yet: trustee keys are missing")
    election = Election.parse(record.election)
    board = BoardWriter(
        election, trustee_kinds(record), record.credentials, timestamp=record.timestamp
    )
    for raw in ballots:
        board.add_ballot(raw)
    if record.encrypted_tally is not None:
        board.end_ballots()
        board.add_encrypted_tally(parse_tally(record))
        slots = {s.position: s for s in record.trustees}
        for position in decryption_order:
            text = slots[position].decryption or ""
            board.add_partial_decryption(position, PartialDecryption.parse(GROUP, text))
    if record.result is not None:
        board.add_result(record.result)
    return board.to_bytes()


def trustee_kinds(record: ElectionRecord, *, check: bool = False) -> list[Any]:
    """The board's trustees: n Single keys, or one Pedersen item (checked in full
    when ``check``; once built into the election it is only read back)."""
    if record.threshold is None:
        return [
            SingleTrustee(TrusteePublicKey.parse(GROUP, json.loads(s.public_key or "null")))
            for s in record.trustees
        ]
    parts = [
        [json.loads(getattr(s, step) or "null") for s in record.trustees]
        for step in ("cert", "polynomial", "verification")
    ]
    return [assemble(GROUP, record.threshold, *parts, check=check)]


def encrypted_tally(
    election: Election, record: ElectionRecord, raws: Sequence[str]
) -> EncryptedTally:
    """Re-check the stored ballots (each passed on arrival) and multiply them."""
    checker = BallotChecker(
        election,
        PublicKey(GROUP, election.public_key),
        PublicCredentials(GROUP, record.credentials, check_members=False),
    )
    return tally(GROUP, [q.width for q in election.questions], [checker.check(r) for r in raws])


def tally_json(encrypted: EncryptedTally) -> str:
    """How the encrypted tally is stored (and read back by :func:`parse_tally`)."""
    return compact(
        {
            "num_tallied": encrypted.num_tallied,
            "total_weight": encrypted.total_weight,
            "ciphertexts": json.loads(encrypted.to_json(GROUP)),
        }
    )


def parse_tally(record: ElectionRecord) -> EncryptedTally:
    value = json.loads(record.encrypted_tally or "{}")
    return EncryptedTally(
        EncryptedTally.parse_ciphertexts(GROUP, json.dumps(value["ciphertexts"])),
        int(value["num_tallied"]),
        int(value["total_weight"]),
    )

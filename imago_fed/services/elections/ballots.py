"""The ballot box: ballots checked in full before they are stored; trackers to look up.

A ballot carries no identity, only a credential's signature, which is why
the box can be public. The last ballot per credential counts; earlier ones
stay on the board, marked replaced.
"""

from __future__ import annotations

import asyncio

from imago_fed.domain.errors import Conflict, InvalidInput
from imago_fed.domain.voting.crypto import (
    BallotChecker,
    BallotRejected,
    CheckedBallot,
    Election,
    PublicCredentials,
    PublicKey,
    ciphertexts_fingerprint,
)
from imago_fed.domain.voting.elections import BoardEntry, ElectionRecord, board_entries
from imago_fed.services.elections.base import GROUP, ElectionsBase

__all__ = ["BallotBox"]


class BallotBox(ElectionsBase):
    async def cast(self, election_id: int, raw: str) -> str:
        """Check a ballot in full, store it, return its tracker (sha256 of the ballot)."""
        fingerprint = _fingerprint(raw)
        if fingerprint and await self._store.was_audited(election_id, fingerprint):
            raise Conflict(
                "this ballot was audited: its randomness is public, so casting it would "
                "reveal the vote; encrypt a fresh ballot"
            )
        checked = await self._checked(election_id, raw)
        if not await self._store.add_ballot(
            election_id, checked.credential, checked.tracker, raw, self._clock.now()
        ):
            raise Conflict("the ballot box is closed")
        return checked.tracker

    async def audit(self, election_id: int, raw: str) -> str:
        """Record that the booth is about to open this ballot; return its tracker.

        The booth calls this before it reveals the randomness (the Benaloh
        challenge), so the box can refuse the ballot for ever after. Only a
        valid ballot for an open box is recorded, and never one already cast:
        auditing cannot be used to strike someone's ballot off the board.
        """
        checked = await self._checked(election_id, raw)
        fingerprint = _fingerprint(raw)
        cast = await self._store.ballots(election_id)
        if any(_fingerprint(other) == fingerprint for other in cast):
            raise Conflict("this ballot was cast already: it can no longer be audited")
        await self._store.add_audit(election_id, fingerprint, self._clock.now())
        return checked.tracker

    async def _checked(self, election_id: int, raw: str) -> CheckedBallot:
        """The ballot checked in full against an open box, or the reason it is refused."""
        record = await self.get(election_id)
        if record.state != "open" or record.election is None:
            raise Conflict("the ballot box is not open")
        proposal = await self._governance.get(record.proposal_id)
        now = self._clock.now()
        if proposal.closes_at is not None and now >= proposal.closes_at:
            raise Conflict("voting has ended")
        election = Election.parse(record.election)
        checker = BallotChecker(
            election,
            PublicKey(GROUP, election.public_key),
            PublicCredentials(GROUP, record.credentials, check_members=False),
        )
        try:
            checked = await asyncio.to_thread(checker.check, raw)
        except BallotRejected as exc:
            raise InvalidInput(
                f"ballot refused ({exc.check}): {exc.detail}", field="ballot"
            ) from exc
        except (ValueError, KeyError, TypeError, IndexError) as exc:  # shapes check() missed
            raise InvalidInput(f"ballot refused (ballot.format): {exc!r}", field="ballot") from exc
        return checked

    async def board(self, election_id: int) -> tuple[ElectionRecord, list[BoardEntry]]:
        """The election and its accepted ballots' trackers, each counted or replaced."""
        record = await self.get(election_id)
        raws = await self._store.ballots(election_id)
        return record, await asyncio.to_thread(board_entries, raws)


def _fingerprint(raw: str) -> str:
    """The ciphertexts' fingerprint, or "" for text that is no ballot (check() says why)."""
    try:
        return ciphertexts_fingerprint(raw)
    except (ValueError, KeyError, TypeError):
        return ""

"""The elections port: where a secret vote's election, trustees and ballots are kept.

The store changes state only by guarded writes, hence the booleans: False
means the row was not in the state the write expected (a second upload, a
ballot racing the close), and the service turns that into a Conflict.

    create ─> keys ─(set_trustee_key | set_ceremony, set_credentials)─> open
          ─(add_ballot ...)─> close ─> tallied ─(set_tally, add_decryption ...)─> finish ─> done
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from imago_fed.domain.voting.elections import ElectionRecord

__all__ = ["ElectionStore"]


class ElectionStore(Protocol):
    async def create(
        self, proposal_id: int, uuid: str, electorate: Sequence[str],
        credentials: Sequence[str], trustees: Sequence[str], timestamp: int, now: datetime,
        threshold: int | None = None, credential_authority: str = "server",
    ) -> int:  # fmt: skip
        """A new election in state ``keys``, trustees numbered from 1; its id."""
        ...

    async def get(self, election_id: int) -> ElectionRecord | None: ...

    async def by_proposal(self, proposal_id: int) -> ElectionRecord | None: ...

    async def set_credentials(self, election_id: int, credentials: Sequence[str]) -> bool:
        """An external authority's public credentials; False if already set."""
        ...

    async def set_trustee_key(self, election_id: int, position: int, key: str) -> bool:
        """A single trustee's public key; False if it has one already."""
        ...

    async def set_ceremony(
        self, election_id: int, position: int, step: str, text: str, public_key: str | None = None
    ) -> bool:
        """A threshold trustee's message for ``step``; False if it sent that one already."""
        ...

    async def open(self, election_id: int, election: str) -> bool:
        """Store the built election and open the ballot box."""
        ...

    async def add_ballot(
        self, election_id: int, credential: str, tracker: str, raw: str, now: datetime
    ) -> bool:
        """Store a checked ballot while the box is open; False once it is closed."""
        ...

    async def ballots(self, election_id: int) -> list[str]:
        """The accepted ballots in the order they were cast (replaced ones included)."""
        ...

    async def add_audit(self, election_id: int, ciphertexts: str, now: datetime) -> None:
        """Remember a ballot the booth audited (by its ciphertexts' fingerprint)."""
        ...

    async def was_audited(self, election_id: int, ciphertexts: str) -> bool:
        """Whether a ballot with these ciphertexts was audited, so must never count."""
        ...

    async def close(self, election_id: int) -> bool:
        """Open -> tallied; False if the election was not open."""
        ...

    async def set_tally(self, election_id: int, encrypted_tally: str) -> None: ...

    async def add_decryption(
        self, election_id: int, position: int, text: str, now: datetime
    ) -> bool:
        """A trustee's checked partial decryption; False if it decrypted already."""
        ...

    async def decryption_order(self, election_id: int) -> list[int]:
        """Trustee positions in the order their decryptions arrived (the board's order)."""
        ...

    async def finish(self, election_id: int, result: list[list[int]]) -> bool:
        """Tallied -> done with the result; False if another request finished it."""
        ...

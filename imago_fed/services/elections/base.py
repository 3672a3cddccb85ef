"""What every phase of an election shares: its collaborators, and reading one election."""

from __future__ import annotations

from collections.abc import Sequence

from imago_fed.domain.errors import NotFound
from imago_fed.domain.governance.service import Governance
from imago_fed.domain.ports.clock import Clock
from imago_fed.domain.ports.elections import ElectionStore
from imago_fed.domain.ports.messaging import DirectMessenger
from imago_fed.domain.voting.crypto import BELENIOS_2048
from imago_fed.domain.voting.elections import ElectionRecord

__all__ = ["GROUP", "ElectionsBase"]

GROUP = BELENIOS_2048


class ElectionsBase:
    """The state the phases (setup, ballots, tally, board) share; no use case of its own."""

    def __init__(
        self, store: ElectionStore, governance: Governance, clock: Clock,
        messengers: Sequence[DirectMessenger] = (), election_url: str = "",
    ) -> None:  # fmt: skip
        """``election_url`` is the public base of ``/elections/<id>`` (for the notices)."""
        self._store, self._governance, self._clock = store, governance, clock
        self._messengers, self._election_url = tuple(messengers), election_url.rstrip("/")

    async def for_proposal(self, proposal_id: int) -> ElectionRecord | None:
        """The election of a secret proposal, if one was set up (group pages link to it)."""
        return await self._store.by_proposal(proposal_id)

    async def get(self, election_id: int) -> ElectionRecord:
        record = await self._store.get(election_id)
        if record is None:
            raise NotFound(f"no election {election_id}")
        return record

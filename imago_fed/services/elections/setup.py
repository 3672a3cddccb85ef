"""Setting an election up: electorate, credentials, trustee keys, then the box opens.

    setup ──> keys ──(every trustee key or the t-of-n ceremony,
                      and the public credentials)──> _open_when_ready ──> open

The server is the credential authority unless told otherwise: it makes one
private credential per voter, keeps only the public half, and ``deliver``
sends each private one straight to its voter (no queue, no row, no log).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.ports.messaging import DirectMessageFailed
from imago_fed.domain.voting.crypto import (
    Election,
    FormatError,
    PublicCredentials,
    TrusteeError,
    TrusteePublicKey,
    generate_credential,
    public_credential,
)
from imago_fed.domain.voting.crypto.ceremony import (
    cert_fingerprint,
    check_cert,
    check_polynomial,
    check_verification,
)
from imago_fed.domain.voting.crypto.credentials import format_public_credential
from imago_fed.domain.voting.crypto.election import new_uuid
from imago_fed.domain.voting.crypto.encoding import compact
from imago_fed.domain.voting.crypto.trustees import combine_keys
from imago_fed.domain.voting.elections import ElectionRecord, method_of, questions_for
from imago_fed.services.elections.base import GROUP, ElectionsBase
from imago_fed.services.elections.board import trustee_kinds

__all__ = ["DELIVERY_CONCURRENCY", "Delivery", "ElectionSetup", "credential_notice"]

log = logging.getLogger(__name__)
DELIVERY_CONCURRENCY = 8


def credential_notice(title: str, election_url: str, credential: str) -> str:
    """The private message that carries a voter's credential, with how to vote."""
    return (
        f"Your voting credential for the secret vote \u201c{title}\u201d:\n\n"
        f"    {credential}\n\n"
        "Keep it to yourself: anyone holding it can vote in your place, and the server "
        "does not keep it, so it cannot be sent again. Vote in your browser at\n"
        # the fragment (after #) fills the booth's field; browsers never send it to a server
        f"    {election_url}/booth#{credential}\n"
        "or save it to a file and vote with\n"
        f"    imago-fed ballot --election {election_url} --credential FILE --choices '[...]'\n"
        f"Your ballot is encrypted on your device; check its tracker at {election_url}/trackers"
    )


@dataclass(frozen=True)
class Delivery:
    """What happened to each voter's credential at setup."""

    delivered: tuple[str, ...] = ()
    failed: dict[str, str] = field(default_factory=dict)  # member -> reason


class ElectionSetup(ElectionsBase):
    async def setup(
        self, proposal_id: int, trustees: Sequence[str], threshold: int | None = None,
        *, external_credentials: bool = False,
    ) -> tuple[ElectionRecord, dict[str, str]]:  # fmt: skip
        """The election of a secret proposal, and each voter's private credential (once).

        With ``threshold`` t the trustees make one t-of-n key between them
        (any t decrypt, so a lost trustee does not lose the election). With
        ``external_credentials`` no credential is made here (none returned):
        an outside authority uploads the public ones (:meth:`set_credentials`).
        """
        proposal = await self._governance.get(proposal_id)
        method_of(proposal)
        if proposal.state != "open":
            raise Conflict(f"the proposal is {proposal.state}")
        if getattr(proposal.protocol, "electorate", "members") != "members":
            raise InvalidInput(
                "secret votes of a sub-group are not supported yet", field="proposal"
            )
        if await self._store.by_proposal(proposal_id) is not None:
            raise Conflict("this proposal already has an election")
        # the electorate: members when the proposal opened (who joined since cannot
        # vote on it: joining to sway a vote in progress is what this prevents)
        members = await self._governance.members(proposal.group_id, proposal.created_at)
        if not trustees or len(set(trustees)) != len(trustees) or len(trustees) > 10:
            raise InvalidInput("name 1 to 10 distinct trustees", field="trustees")
        strangers = [t for t in trustees if t not in members]
        if strangers:
            raise InvalidInput(f"trustees must be members: {strangers[0]}", field="trustees")
        if threshold is not None and not (len(trustees) >= 2 and 1 <= threshold <= len(trustees)):
            raise InvalidInput(
                f"a threshold is 1..{len(trustees)} of at least 2 trustees", field="threshold"
            )
        uuid = new_uuid()
        privates = {} if external_credentials else {m: generate_credential() for m in members}
        publics = await asyncio.to_thread(
            lambda: [
                format_public_credential(GROUP, public_credential(GROUP, uuid, c))
                for c in privates.values()
            ]
        )
        now = self._clock.now()
        election_id = await self._store.create(
            proposal_id, uuid, members, publics, trustees, int(now.timestamp()), now, threshold,
            "external" if external_credentials else "server",
        )  # fmt: skip
        return await self.get(election_id), privates

    async def deliver(
        self, election_id: int, credentials: dict[str, str]
    ) -> tuple[Delivery, dict[str, str]]:
        """Send each credential privately to its voter, now; keep none.

        Returns what happened and the credentials that could not be sent
        (the caller hands those out another way, once). Which messenger is
        tried: the first that accepts the member id (a Matrix user id, or a
        fediverse actor, linked Matrix accounts voting as the latter).
        """
        record = await self.get(election_id)
        proposal = await self._governance.get(record.proposal_id)
        url = f"{self._election_url}/elections/{election_id}"
        gate = asyncio.Semaphore(DELIVERY_CONCURRENCY)

        async def one(member: str, credential: str) -> str | None:
            messenger = next((m for m in self._messengers if m.accepts(member)), None)
            if messenger is None:
                return "no private channel reaches this member"
            async with gate:
                try:
                    text = credential_notice(proposal.title, url, credential)
                    await messenger.send(proposal.group_id, member, text)
                except DirectMessageFailed as exc:
                    return str(exc) or type(exc).__name__
            return None

        members = list(credentials)
        reasons = await asyncio.gather(*(one(m, credentials[m]) for m in members))
        failed = {m: r for m, r in zip(members, reasons, strict=True) if r is not None}
        for member, reason in failed.items():
            log.warning("election %s: credential not delivered to %s: %s",
                        election_id, member, reason)  # fmt: skip
        delivered = tuple(m for m in members if m not in failed)
        log.info("election %s: %d credentials delivered privately, %d not",
                 election_id, len(delivered), len(failed))  # fmt: skip
        return Delivery(delivered, failed), {m: credentials[m] for m in failed}

    async def add_trustee_key(self, election_id: int, position: int, text: str) -> ElectionRecord:
        """Trustee ``position``'s ID.pubkey; the last one opens the ballot box."""
        record = await self.get(election_id)
        if record.state != "keys":
            raise Conflict("the trustees' keys are already set")
        if record.threshold is not None:
            raise Conflict(
                "these trustees make a threshold key: upload their cert, polynomial "
                "and verification rounds"
            )
        if not any(s.position == position for s in record.trustees):
            raise NotFound(f"no trustee {position}")
        try:
            key = TrusteePublicKey.parse(GROUP, json.loads(text))
        except (ValueError, FormatError) as exc:
            raise InvalidInput(f"not a trustee public key: {exc}", field="key") from exc
        if not await asyncio.to_thread(key.check, GROUP):
            raise InvalidInput("the key's proof of knowledge does not verify", field="key")
        if not await self._store.set_trustee_key(
            election_id, position, compact(key.to_json(GROUP))
        ):
            raise Conflict(f"trustee {position} already has a key")
        return await self._open_when_ready(election_id)

    async def set_credentials(self, election_id: int, text: str) -> ElectionRecord:
        """An external credential authority's public credentials (its ``.pubcreds``).

        One per voter of the electorate snapshot, each in the group, none
        repeated, weight 1 (a member's secret vote weighs one); the server
        never learns which voter holds which.
        """
        record = await self.get(election_id)
        if record.credential_authority != "external":
            raise Conflict("the server made this election's credentials itself")
        if record.state != "keys" or record.credentials:
            raise Conflict("the public credentials are already set")
        try:
            lines = json.loads(text)
            if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
                raise FormatError("a JSON list of public credentials")
            # belenios-tool 2.0 writes "g^s,weight,login" (weight possibly empty): the
            # login is the authority's business (it ties a voter to a credential), so
            # it is dropped here
            lines = [",".join(p for p in line.split(",")[:2] if p) for line in lines]
            publics = await asyncio.to_thread(PublicCredentials, GROUP, lines)
        except (ValueError, FormatError) as exc:
            raise InvalidInput(f"not public credentials: {exc}", field="credentials") from exc
        if len(publics) != len(record.electorate):
            raise InvalidInput(
                f"{len(publics)} public credentials for {len(record.electorate)} voters",
                field="credentials",
            )
        if any(w != 1 for w in publics.weights.values()):
            raise InvalidInput("every credential weighs 1 in a secret vote", field="credentials")
        if not await self._store.set_credentials(election_id, list(publics.weights)):
            raise Conflict("the public credentials are already set")
        return await self._open_when_ready(election_id)

    async def add_ceremony(
        self, election_id: int, position: int, step: str, text: str
    ) -> ElectionRecord:
        """Trustee ``position``'s message for round ``step`` of a t-of-n key.

        Each is checked before it is stored (signatures, proofs, shapes); the
        last verification assembles the key and opens the ballot box.
        """
        record = await self.get(election_id)
        if record.threshold is None:
            raise Conflict("these trustees upload single keys, not threshold rounds")
        if record.ceremony_step != step:
            now = record.ceremony_step or record.state
            raise Conflict(f"the key ceremony is not at the {step} round (it is at {now})")
        slot = next((s for s in record.trustees if s.position == position), None)
        if slot is None:
            raise NotFound(f"no trustee {position}")
        try:
            message = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f"not JSON: {exc}", field=step) from exc
        public_key = None
        try:
            if step == "cert":
                others = [json.loads(s.cert) for s in record.trustees if s.cert]
                await asyncio.to_thread(check_cert, GROUP, message, others)
            elif step == "polynomial":
                certs = [json.loads(s.cert or "null") for s in record.trustees]
                await asyncio.to_thread(
                    check_polynomial, GROUP, certs, position, message, record.threshold
                )
            else:
                polys = [json.loads(s.polynomial or "null") for s in record.trustees]
                key = await asyncio.to_thread(check_verification, GROUP, polys, position, message)
                public_key = compact(key.to_json(GROUP))
        except TrusteeError as exc:
            raise InvalidInput(f"{exc.check}: {exc.detail}", field=step) from exc
        stored = await self._store.set_ceremony(
            election_id, position, step, compact(message), public_key
        )
        if not stored:
            raise Conflict(f"trustee {position} has already sent its {step}")
        return await self._open_when_ready(election_id)

    async def ceremony(self, election_id: int) -> dict[str, Any]:
        """Everything a trustee's machine needs for its next round (all of it public)."""
        record = await self.get(election_id)
        if record.threshold is None:
            raise NotFound("this election has no threshold key ceremony")
        return {
            "uuid": record.uuid,
            "group": GROUP.name,
            "threshold": record.threshold,
            "step": record.ceremony_step,
            "state": record.state,
            "trustees": [
                {
                    "position": s.position,
                    "member": s.member,
                    "cert": json.loads(s.cert) if s.cert else None,
                    "fingerprint": cert_fingerprint(json.loads(s.cert)) if s.cert else None,
                    "polynomial": json.loads(s.polynomial) if s.polynomial else None,
                    "verification": json.loads(s.verification) if s.verification else None,
                }
                for s in record.trustees
            ],
        }

    async def _open_when_ready(self, election_id: int) -> ElectionRecord:
        """Build the election and open the box once the key and the credentials are in."""
        record = await self.get(election_id)
        if record.state == "keys" and record.keys_complete and record.credentials:
            await self._store.open(election_id, await self._build(record))
            record = await self.get(election_id)
        return record

    async def _build(self, record: ElectionRecord) -> str:
        proposal = await self._governance.get(record.proposal_id)
        kinds = await asyncio.to_thread(trustee_kinds, record, check=True)
        y = combine_keys(GROUP, kinds)
        election = Election.build(
            uuid=record.uuid,
            name=proposal.title,
            description=f"Secret vote on proposal {proposal.id}",
            group=GROUP,
            public_key=y,
            questions=questions_for(method_of(proposal), proposal.options),
        )
        return election.raw

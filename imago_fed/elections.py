"""Secret ballots for proposals: the server's side of a Belenios election.

    setup      electorate snapshot (the members when the proposal opened),
               one private credential each (never stored: the server is the
               credential authority but keeps only g^s), trustees named;
               ``deliver`` sends each credential straight to its voter in a
               private message (Matrix bot DM, fediverse direct Note); only
               the ones that could not be delivered are returned, once
               With an external credential authority the server makes
               none: the authority (``imago-fed credentials generate``, or
               ``belenios-tool setup generate-credentials``) sends each
               voter theirs and uploads only the public list
    keys       each trustee uploads the ID.pubkey of ``imago-fed trustee
               keygen``; with every key (and the public credentials) in,
               the election is built (y = the product of the keys) and the
               ballot box opens
    ballots    checked in full (proofs, credential, signature) before they
               are stored; the last ballot per credential counts
    close      EndBallots and the encrypted tally go on the board
    decrypt    each trustee runs ``imago-fed trustee decrypt`` on the
               board and uploads the partial decryption; its proofs are
               checked on arrival; with all of them the result is computed,
               the whole board is verified, and the proposal concluded

Trustees are either n Single trustees (every one of them must decrypt) or,
when the setup names a ``threshold`` t, one t-of-n Pedersen key that the
trustees make on their own machines in three rounds
(``imago-fed trustee threshold cert|polynomial|verification``; see
``domain/voting/crypto/ceremony.py``): the server relays their messages and
checks each on arrival, and any t of them decrypt. It never holds a share.

The board is rebuilt from the stored rows on every request, in the order
belenios-tool writes it; what is appended (ballots, then partial
decryptions in order of arrival) never reorders what came before.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.governance.proposals import Outcome
from imago_fed.domain.governance.service import Governance
from imago_fed.domain.ports import Clock, DirectMessageFailed, DirectMessenger
from imago_fed.domain.ports.elections import ElectionStore
from imago_fed.domain.voting.crypto import (
    BELENIOS_2048,
    BallotChecker,
    BallotRejected,
    BoardWriter,
    Election,
    EncryptedTally,
    FormatError,
    PartialDecryption,
    PublicCredentials,
    PublicKey,
    SingleTrustee,
    TrusteeError,
    TrusteePublicKey,
    combine_factors,
    compute_result,
    generate_credential,
    public_credential,
    tally,
    verify_archive_bytes,
)
from imago_fed.domain.voting.crypto.ceremony import (
    assemble,
    cert_fingerprint,
    check_cert,
    check_polynomial,
    check_verification,
)
from imago_fed.domain.voting.crypto.credentials import format_public_credential
from imago_fed.domain.voting.crypto.election import new_uuid
from imago_fed.domain.voting.crypto.encoding import compact
from imago_fed.domain.voting.crypto.trustees import combine_keys
from imago_fed.domain.voting.elections import (
    ElectionRecord,
    method_of,
    questions_for,
    secret_outcome,
)

__all__ = ["Delivery", "Elections", "credential_notice"]

log = logging.getLogger(__name__)
GROUP = BELENIOS_2048
DELIVERY_CONCURRENCY = 8


def credential_notice(title: str, election_url: str, credential: str) -> str:
    """The private message that carries a voter's credential, with how to vote."""
    return (
        f"Your voting credential for the secret vote \u201c{title}\u201d:\n\n"
        f"    {credential}\n\n"
        "Keep it to yourself: anyone holding it can vote in your place, and the server "
        "does not keep it, so it cannot be sent again. Save it to a file and vote with\n"
        f"    imago-fed ballot --election {election_url} --credential FILE --choices '[...]'\n"
        f"Your ballot is encrypted on your machine; check its tracker at {election_url}/trackers"
    )


@dataclass(frozen=True)
class Delivery:
    """What happened to each voter's credential at setup."""

    delivered: tuple[str, ...] = ()
    failed: dict[str, str] = field(default_factory=dict)  # member -> reason


class Elections:
    def __init__(
        self, store: ElectionStore, governance: Governance, clock: Clock,
        messengers: Sequence[DirectMessenger] = (), election_url: str = "",
    ) -> None:  # fmt: skip
        """``election_url`` is the public base of ``/elections/<id>`` (for the notices)."""
        self._store, self._governance, self._clock = store, governance, clock
        self._messengers, self._election_url = tuple(messengers), election_url.rstrip("/")

    async def get(self, election_id: int) -> ElectionRecord:
        record = await self._store.get(election_id)
        if record is None:
            raise NotFound(f"no election {election_id}")
        return record

    # ------------------------------------------------------------- setup
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

    async def _open_when_ready(self, election_id: int) -> ElectionRecord:
        """Build the election and open the box once the key and the credentials are in."""
        record = await self.get(election_id)
        if record.state == "keys" and record.keys_complete and record.credentials:
            await self._store.open(election_id, await self._build(record))
            record = await self.get(election_id)
        return record

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

    async def _build(self, record: ElectionRecord) -> str:
        proposal = await self._governance.get(record.proposal_id)
        kinds = await asyncio.to_thread(_kinds, record, check=True)
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

    # ----------------------------------------------------------- ballots
    async def cast(self, election_id: int, raw: str) -> str:
        """Check a ballot in full, store it, return its tracker (sha256 of the ballot)."""
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
        if not await self._store.add_ballot(
            election_id, checked.credential, checked.tracker, raw, now
        ):
            raise Conflict("the ballot box is closed")
        return checked.tracker

    # ------------------------------------------------------------- tally
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
        encrypted = await asyncio.to_thread(_tally, election, record, raws)
        await self._store.set_tally(election_id, _tally_json(encrypted))
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
        election, encrypted = Election.parse(record.election), _parse_tally(record)
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
        encrypted = _parse_tally(record)
        shares = {
            s.position: PartialDecryption.parse(GROUP, s.decryption)
            for s in record.trustees
            if s.decryption
        }
        factors = combine_factors(GROUP, _kinds(record), shares)
        result = await asyncio.to_thread(
            compute_result, GROUP, encrypted.ciphertexts, factors, encrypted.total_weight
        )
        if not await self._store.finish(record.id, result):
            return  # another request finished it
        report = await asyncio.to_thread(verify_archive_bytes, await self.archive(record.id))
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

    # ------------------------------------------------------------- board
    async def archive(self, election_id: int) -> bytes:
        """The public board as belenios-tool writes it (``election verify`` reads it)."""
        record = await self.get(election_id)
        if record.election is None:
            raise NotFound("no board yet: trustee keys are missing")
        election = Election.parse(record.election)
        board = BoardWriter(
            election, _kinds(record), record.credentials, timestamp=record.timestamp
        )
        for raw in await self._store.ballots(election_id):
            board.add_ballot(raw)
        if record.encrypted_tally is not None:
            board.end_ballots()
            board.add_encrypted_tally(_parse_tally(record))
            slots = {s.position: s for s in record.trustees}
            for position in await self._store.decryption_order(election_id):
                text = slots[position].decryption or ""
                board.add_partial_decryption(position, PartialDecryption.parse(GROUP, text))
        if record.result is not None:
            board.add_result(record.result)
        return board.to_bytes()

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


def _kinds(record: ElectionRecord, *, check: bool = False) -> list[Any]:
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


def _tally(election: Election, record: ElectionRecord, raws: Sequence[str]) -> EncryptedTally:
    """Re-check the stored ballots (each passed on arrival) and multiply them."""
    checker = BallotChecker(
        election,
        PublicKey(GROUP, election.public_key),
        PublicCredentials(GROUP, record.credentials, check_members=False),
    )
    return tally(GROUP, [q.width for q in election.questions], [checker.check(r) for r in raws])


def _tally_json(encrypted: EncryptedTally) -> str:
    return compact(
        {
            "num_tallied": encrypted.num_tallied,
            "total_weight": encrypted.total_weight,
            "ciphertexts": json.loads(encrypted.to_json(GROUP)),
        }
    )


def _parse_tally(record: ElectionRecord) -> EncryptedTally:
    value = json.loads(record.encrypted_tally or "{}")
    return EncryptedTally(
        EncryptedTally.parse_ciphertexts(GROUP, json.dumps(value["ciphertexts"])),
        int(value["num_tallied"]),
        int(value["total_weight"]),
    )

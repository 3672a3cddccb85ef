"""Forging boards for negative tests: edit one payload, re-hash everything.

Editing bytes inside a tar is caught at once (``archive.hashes``). A forger
who knows the format rewrites the board instead: new member names, payload
references and event chain. ``rewrite`` does that, so the test reaches the
cryptographic check that has to catch the forgery.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from imago_fed.domain.voting.crypto import BELENIOS_2048, Election, derive_secret
from imago_fed.domain.voting.crypto.archive import ArchiveWriter, parse_archive
from imago_fed.domain.voting.crypto.encoding import compact, sha256_b64
from imago_fed.domain.voting.crypto.proofs import proof_json, schnorr_prove

# role -> edit(body, index) -> new body; roles: election, trustees, credentials,
# ballot, tally, sized, partial_decryption, owner, result.
Edit = Callable[[str, str, int], str]


def rewrite(data: bytes, edit: Edit) -> bytes:
    archive = parse_archive(data)
    writer = ArchiveWriter(archive.timestamp)
    counters: dict[str, int] = {}

    def edited(role: str, digest: str) -> str:
        index = counters.get(role, 0)
        counters[role] = index + 1
        return edit(role, archive.get(digest).decode(), index)

    for _, event in archive.events:
        if event.type == "Setup":
            setup = json.loads(archive.get(event.payload))
            new = {
                "election": writer.add_data(edited("election", setup["election"])),
                "trustees": writer.add_data(edited("trustees", setup["trustees"])),
                "credentials": writer.add_data(edited("credentials", setup["credentials"])),
            }
            writer.add_event("Setup", writer.add_data(compact(new)))
        elif event.type in ("Ballot", "Result"):
            role = "ballot" if event.type == "Ballot" else "result"
            writer.add_event(event.type, writer.add_data(edited(role, event.payload)))
        elif event.type == "EncryptedTally":
            sized = json.loads(edited("sized", event.payload))
            sized["encrypted_tally"] = writer.add_data(edited("tally", sized["encrypted_tally"]))
            writer.add_event(event.type, writer.add_data(compact(sized)))
        elif event.type == "PartialDecryption":
            owned = json.loads(edited("owner", event.payload))
            owned["payload"] = writer.add_data(edited("partial_decryption", owned["payload"]))
            writer.add_event(event.type, writer.add_data(compact(owned)))
        else:
            writer.add_event(event.type, event.payload)
    return writer.to_bytes()


def only(role: str, index: int, change: Callable[[str], str]) -> Edit:
    """An edit that changes the ``index``-th payload of ``role`` and nothing else."""

    def edit(r: str, body: str, i: int) -> str:
        return change(body) if (r, i) == (role, index) else body

    return edit


def resigned(election: Election, credential: str, change: Callable[[dict], None]) -> Callable:
    """Edit a ballot (BELENIOS-2048), then sign it again with the voter's credential.

    Without a new signature the signed hash no longer matches and the
    ballot fails there, before any proof of it is looked at.
    """

    def edit(body: str) -> str:
        ballot = json.loads(body)
        change(ballot)
        del ballot["signature"]
        signed = sha256_b64(compact(ballot))
        secret = derive_secret(BELENIOS_2048, election.uuid, credential)
        proof = schnorr_prove(BELENIOS_2048, secret, f"sig|{signed}|")
        ballot["signature"] = {"hash": signed, "proof": proof_json(proof)}
        return compact(ballot)

    return edit

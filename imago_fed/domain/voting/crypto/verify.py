"""Universal verification of a Belenios archive: what an auditor runs.

    archive.format         a tar, BELENIOS header first, canonical events
    archive.hashes         every member is named by the SHA-256 of its bytes
    archive.chain          heights 0, 1, …; each event names its parent's hash
    archive.events         Setup, Ballot*, EndBallots, EncryptedTally,
                           PartialDecryption*, Result (the board may stop early)
    archive.layout         members in the order belenios-tool writes them,
                           nothing missing, nothing extra
    setup.election         the election parses (version 1, a known group)
    trustees.*             .pok: proofs of knowledge; for Pedersen items also
                           .certificate, .coefexps (signed), .verification_key,
                           .threshold
    setup.public_key       y = product of the trustees' sub-keys
    setup.credentials      public credentials: group members, no duplicates
    ballot.*               per ballot (see ballots.py), naming ballot and place
    tally.encrypted        the published tally is the product of the last
                           ballot of each credential, to its weight
    tally.counts           num_tallied and total_weight
    decryption.owner       each partial decryption belongs to a trustee
    decryption.proof       every decryption factor's proof
    decryption.threshold   enough shares for each Pedersen item (and
    decryption.missing     every Single trustee's)
    result                 g^result = beta / F for every answer

``verify_archive_bytes`` is pure; ``verify_archive(path)`` reads the file.
Ballots are independent, so their checks can be spread over processes by
passing ``mapper`` (any ``map``-like callable, see imago_fed.commands.election);
the membership tests of the listed credentials ride in the same pass, each
with the first ballot that shows it (``BallotChecker.check_chunk``), and
are reported as ``setup.credentials`` before any ballot, as if run first.
Shuffles (non-homomorphic questions) are not supported and say so.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from imago_fed.domain.voting.crypto.archive import Archive, ArchiveError, parse_archive
from imago_fed.domain.voting.crypto.ballots import BallotChecker, CheckedBallot
from imago_fed.domain.voting.crypto.credentials import MembershipCheck, PublicCredentials
from imago_fed.domain.voting.crypto.election import Election
from imago_fed.domain.voting.crypto.elgamal import PublicKey
from imago_fed.domain.voting.crypto.encoding import FormatError
from imago_fed.domain.voting.crypto.tally import (
    EncryptedTally,
    PartialDecryption,
    check_result,
    combine_factors,
    tally,
)
from imago_fed.domain.voting.crypto.trustees import (
    Kind,
    PedersenTrustees,
    TrusteeError,
    check_trustees,
    combine_keys,
    owner_keys,
    parse_trustees,
)

__all__ = ["Check", "Mapper", "Report", "verify_archive", "verify_archive_bytes"]

Outcome = CheckedBallot | tuple[str, str]
# any ``map``-like callable: mapper(function, chunks) -> results in order
Mapper = Callable[[Callable[[Any], Any], list[Any]], Iterable[Any]]
_ORDER = {
    "Setup": 0,
    "Ballot": 1,
    "EndBallots": 2,
    "EncryptedTally": 3,
    "Shuffle": 4,
    "EndShuffles": 5,
    "PartialDecryption": 6,
    "Result": 7,
}
_SHOWN_FAILURES = 5


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    """Every check run, in order; ``ok`` only if all of them passed."""

    checks: list[Check] = field(default_factory=list)
    election: Election | None = None
    ballots: int = 0
    counted: int = 0
    total_weight: int = 0
    result: list[list[int]] | None = None
    trustees: list[Kind] | None = None
    # the tally recomputed from the valid ballots (what trustees decrypt)
    encrypted_tally: tuple[tuple[Any, ...], ...] | None = None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def failed(self, name: str) -> bool:
        return any(not c.ok and c.name == name for c in self.checks)

    def passed(self, name: str, detail: str) -> None:
        self.checks.append(Check(name, True, detail))

    def fail(self, name: str, detail: str) -> None:
        self.checks.append(Check(name, False, detail))


class _Stop(Exception):
    pass


def verify_archive(path: str | os.PathLike[str], *, mapper: Mapper | None = None) -> Report:
    """Read ``path`` and verify it (the only I/O in the package)."""
    with open(path, "rb") as f:
        data = f.read()
    return verify_archive_bytes(data, mapper=mapper)


def verify_archive_bytes(data: bytes, *, mapper: Mapper | None = None) -> Report:
    report = Report()
    with contextlib.suppress(_Stop):
        _verify(data, report, mapper)
    return report


def _expect(report: Report, ok: bool, name: str, good: str, bad: str) -> None:
    if ok:
        report.passed(name, good)
    else:
        report.fail(name, bad)
        raise _Stop


def _json(archive: Archive, digest: str | None, name: str, report: Report) -> Any:
    try:
        return json.loads(archive.get(digest))
    except (FormatError, ValueError) as exc:
        report.fail(name, f"payload {digest}: {exc}")
        raise _Stop from exc


def _structure(data: bytes, report: Report) -> Archive:
    try:
        archive = parse_archive(data)
    except ArchiveError as exc:
        report.fail(exc.check, exc.detail)
        raise _Stop from exc
    report.passed("archive.format", f"{len(archive.members)} members, header version 1")
    report.passed("archive.hashes", "every member hashes to its name")
    events = archive.events
    parent = None
    for height, (digest, event) in enumerate(events):
        if event.height != height or event.parent != parent:
            report.fail("archive.chain", f"event at height {height} ({event.type}) is not linked")
            raise _Stop
        parent = digest
    report.passed("archive.chain", f"{len(events)} events linked by hash")
    kinds = [event.type for _, event in events]
    ranks = [_ORDER[k] for k in kinds]
    well_ordered = bool(kinds) and kinds[0] == "Setup" and kinds.count("Setup") == 1
    well_ordered = well_ordered and ranks == sorted(ranks)
    for once in ("EndBallots", "EncryptedTally", "EndShuffles", "Result"):
        well_ordered = well_ordered and kinds.count(once) <= 1
    if "EncryptedTally" in kinds and "EndBallots" not in kinds:
        well_ordered = False
    _expect(
        report,
        well_ordered,
        "archive.events",
        " → ".join(dict.fromkeys(kinds)),
        f"unexpected sequence: {' '.join(kinds)}",
    )
    if "Shuffle" in kinds:
        report.fail("archive.events", "shuffles (non-homomorphic questions) are not supported")
        raise _Stop
    expected: list[str] = []
    for digest, event in events:
        try:
            expected.extend(_payload_members(archive, event.type, event.payload))
        except (FormatError, ValueError, KeyError, TypeError) as exc:
            report.fail("archive.layout", f"{event.type} at height {event.height}: {exc}")
            raise _Stop from exc
        expected.append(f"{digest}.event.json")
    actual = [m.name for m in archive.members[1:]]
    _expect(
        report,
        actual == expected,
        "archive.layout",
        "members in belenios-tool order",
        "members missing, extra or out of order",
    )
    return archive


def _payload_members(archive: Archive, kind: str, payload: str | None) -> list[str]:
    if kind in ("EndBallots", "EndShuffles"):
        if payload is not None:
            raise FormatError("unexpected payload")
        return []
    body = archive.get(payload)
    if kind in ("Ballot", "Result"):
        return [f"{payload}.data.json"]
    value = json.loads(body)
    if kind == "Setup":
        inner = [value["election"], value["trustees"], value["credentials"]]
    elif kind == "EncryptedTally":
        inner = [value["encrypted_tally"]]
    else:
        inner = [value["payload"]]
    for digest in inner:
        archive.get(digest)
    return [f"{d}.data.json" for d in [*inner, payload]]


def _verify(data: bytes, report: Report, mapper: Mapper | None) -> None:
    archive = _structure(data, report)
    events = [event for _, event in archive.events]
    setup = _json(archive, events[0].payload, "archive.layout", report)
    try:
        election = Election.parse(archive.get(setup["election"]))
    except FormatError as exc:
        report.fail("setup.election", str(exc))
        raise _Stop from exc
    report.election = election
    group = election.group
    report.passed(
        "setup.election",
        f"{election.name!r}, {len(election.questions)} questions, group {group.name}, "
        f"uuid {election.uuid}, fingerprint {election.fingerprint}",
    )
    try:
        kinds = parse_trustees(group, archive.get(setup["trustees"]))
        check_trustees(group, kinds)
    except FormatError as exc:
        report.fail("trustees.format", str(exc))
        raise _Stop from exc
    except TrusteeError as exc:
        report.fail(exc.check, exc.detail)
        raise _Stop from exc
    report.trustees = kinds
    report.passed("trustees.*", _describe_trustees(kinds))
    _expect(
        report,
        combine_keys(group, kinds) == election.public_key,
        "setup.public_key",
        "election key is the product of the trustees' keys",
        "election key is not the product of the trustees' keys",
    )
    try:
        lines = json.loads(archive.get(setup["credentials"]))
        credentials = PublicCredentials(group, lines, check_members=False)
    except (FormatError, ValueError) as exc:
        report.fail("setup.credentials", str(exc))
        raise _Stop from exc

    key = PublicKey(group, election.public_key).warm()
    checker = BallotChecker(election, key, credentials)
    raws = [archive.get(e.payload).decode() for e in events if e.type == "Ballot"]
    outside, outcomes = _check_credentials_and_ballots(group, credentials, checker, raws, mapper)
    if outside:
        report.fail(
            "setup.credentials", f"{len(outside)} not in the group, e.g. {outside[0][:20]}…"
        )
        raise _Stop
    report.passed(
        "setup.credentials",
        f"{len(credentials)} public credentials, total weight {credentials.total_weight}",
    )
    report.ballots = len(raws)
    valid = _report_ballots(outcomes, raws, report)

    widths = [q.width for q in election.questions]
    computed = tally(group, widths, valid)
    report.counted, report.total_weight = computed.num_tallied, computed.total_weight
    tallies = [e for e in events if e.type == "EncryptedTally"]
    if not tallies:
        return
    report.encrypted_tally = computed.ciphertexts
    sized = _json(archive, tallies[0].payload, "tally.encrypted", report)
    try:
        published = EncryptedTally.parse_ciphertexts(group, archive.get(sized["encrypted_tally"]))
        num, weight, _ = EncryptedTally.parse_sized(archive.get(tallies[0].payload))
    except (FormatError, KeyError, TypeError) as exc:
        report.fail("tally.encrypted", str(exc))
        raise _Stop from exc
    if published == computed.ciphertexts:
        report.passed("tally.encrypted", f"product of the {computed.num_tallied} counted ballots")
    else:
        report.fail("tally.encrypted", "published tally is not the product of the counted ballots")
    if (num, weight) == (computed.num_tallied, computed.total_weight):
        report.passed("tally.counts", f"num_tallied {num}, total_weight {weight}")
    else:
        report.fail(
            "tally.counts",
            f"published {num}/{weight}, computed {computed.num_tallied}/{computed.total_weight}",
        )
    shares = _check_decryptions(archive, events, election, kinds, computed.ciphertexts, report)
    results = [e for e in events if e.type == "Result"]
    if not results:
        return
    try:
        factors = combine_factors(group, kinds, shares)
    except TrusteeError as exc:
        report.fail(exc.check, exc.detail)
        raise _Stop from exc
    report.passed("decryption.threshold", "enough valid partial decryptions for every trustee item")
    value = _json(archive, results[0].payload, "result", report)
    claimed = value.get("result") if isinstance(value, dict) else None
    problem = check_result(group, computed.ciphertexts, factors, claimed)
    _expect(
        report,
        problem is None,
        "result",
        f"result {json.dumps(claimed)} decrypts the tally",
        f"result does not decrypt the tally: {problem}",
    )
    report.result = [[int(v) for v in row] for row in claimed]  # type: ignore[union-attr]


def _describe_trustees(kinds: list[Kind]) -> str:
    parts = [
        f"{kind.threshold}-of-{kind.size} Pedersen"
        if isinstance(kind, PedersenTrustees)
        else "single"
        for kind in kinds
    ]
    return "trustee keys proven: " + ", ".join(parts)


def _chunks(items: list[Any], n: int) -> list[list[Any]]:
    return [items[i : i + n] for i in range(0, len(items), n)]


# Ballots per work item: small enough that the last items keep both
# processes busy, large enough that handing them out costs nothing.
_BALLOT_CHUNK = 10
_CREDENTIAL_CHUNK = 100
_CREDENTIAL_FIELD = '"credential":"'


def _credential_field(raw: str) -> str | None:
    """The credential a ballot shows, read without parsing it (only a hint)."""
    start = raw.find(_CREDENTIAL_FIELD)
    if start < 0:
        return None
    start += len(_CREDENTIAL_FIELD)
    end = raw.find('"', start)
    return raw[start:end] if end > 0 else None


class _Work:
    """One work item for the mapper: ("credentials", texts) or ("ballots", (raws, texts))."""

    def __init__(self, group: Any, checker: BallotChecker) -> None:
        self.membership = MembershipCheck(group)
        self.checker = checker

    def __call__(self, item: tuple[str, Any]) -> Any:
        kind, payload = item
        if kind == "credentials":
            return self.membership.non_members(payload)
        return self.checker.check_chunk(payload)


def _check_credentials_and_ballots(
    group: Any,
    credentials: PublicCredentials,
    checker: BallotChecker,
    raws: list[str],
    mapper: Mapper | None,
) -> tuple[list[str], list[Outcome]]:
    """Membership of every listed credential, and every ballot, in one pass of the mapper.

    Each listed credential is tested exactly once: with the first ballot
    chunk that shows it (sharing the squaring chain of that ballot's
    signature check), or, if no ballot shows it, in a credentials-only item.
    Which ballot shows which credential is only a hint for the split: every
    listed credential lands in exactly one item whatever the ballots hold.
    """
    listed = credentials.weights
    seen: set[str] = set()
    items: list[tuple[str, Any]] = []
    for chunk in _chunks(raws, _BALLOT_CHUNK):
        mine = []
        for raw in chunk:
            text = _credential_field(raw)
            if text is not None and text in listed and text not in seen:
                seen.add(text)
                mine.append(text)
        items.append(("ballots", (chunk, mine)))
    unused = [text for text in listed if text not in seen]
    items[:0] = [("credentials", part) for part in _chunks(unused, _CREDENTIAL_CHUNK)]
    outside: list[str] = []
    outcomes: list[Outcome] = []
    for (kind, _), result in zip(items, (mapper or map)(_Work(group, checker), items), strict=True):
        if kind == "credentials":
            outside.extend(result)
        else:
            checked, non_members = result
            outcomes.extend(checked)
            outside.extend(non_members)
    order = {text: i for i, text in enumerate(listed)}
    outside.sort(key=order.__getitem__)
    return outside, outcomes


def _report_ballots(
    outcomes: list[Outcome], raws: list[str], report: Report
) -> list[CheckedBallot]:
    valid: list[CheckedBallot] = []
    failures: dict[str, list[str]] = {}
    for number, outcome in enumerate(outcomes, 1):
        if isinstance(outcome, CheckedBallot):
            valid.append(outcome)
        else:
            check, detail = outcome
            failures.setdefault(check, []).append(f"ballot #{number}: {detail}")
    if not failures:
        report.passed(
            "ballot.*",
            f"{len(raws)} ballots: canonical, credential listed, signature, "
            "membership, individual, overall and blank proofs",
        )
    for check, items in failures.items():
        shown = "; ".join(items[:_SHOWN_FAILURES])
        more = f" (and {len(items) - _SHOWN_FAILURES} more)" if len(items) > _SHOWN_FAILURES else ""
        report.fail(check, shown + more)
    return valid


def _check_decryptions(
    archive: Archive,
    events: list[Any],
    election: Election,
    kinds: list[Kind],
    ciphertexts: Any,
    report: Report,
) -> dict[int, PartialDecryption]:
    group = election.group
    keys = owner_keys(kinds)
    shares: dict[int, PartialDecryption] = {}
    for event in events:
        if event.type != "PartialDecryption":
            continue
        owned = _json(archive, event.payload, "decryption.owner", report)
        owner = owned.get("owner") if isinstance(owned, dict) else None
        if not isinstance(owner, int) or not 1 <= owner <= len(keys):
            report.fail("decryption.owner", f"owner {owner!r} is not a trustee number")
            raise _Stop
        try:
            share = PartialDecryption.parse(group, archive.get(owned["payload"]))
        except FormatError as exc:
            report.fail("decryption.proof", f"trustee {owner}: {exc}")
            raise _Stop from exc
        problem = share.verify(group, election.fingerprint, keys[owner - 1], ciphertexts)
        if problem is None:
            report.passed("decryption.proof", f"trustee {owner}: every factor proven")
            shares[owner] = share
        else:
            report.fail("decryption.proof", f"trustee {owner}: {problem}")
    return shares

"""The Belenios public board as a file: archive format v2 of belenios-tool 2.0.

An old-style (v7) tar, append-only while the election runs:

    BELENIOS                         {"version":1,"timestamp":"<unix s>"}
    <sha256 hex>.data.json           election, trustees, credentials, setup
    <sha256 hex>.event.json          {"height":0,"type":"Setup","payload":…}
    <h>.data.json <h>.event.json     a ballot, then {"parent":…,"height":1,
                                     "type":"Ballot","payload":<h(ballot)>}
    …                                EndBallots (no payload)
                                     EncryptedTally  (tally, sized tally)
                                     PartialDecryption (factors, owned)
                                     Result

Each member is named by the SHA-256 of its bytes; each event names its
parent's hash, so the last event commits to the whole board. belenios-tool
(``election verify``) regenerates the tar from the last event and compares
byte for byte, so the writer here reproduces its tar headers exactly: mode
0000644, uid/gid 0, mtime = the header timestamp, typeflag '0', no ustar
magic, no end-of-archive blocks. The reader accepts any v7/ustar tar.

Pure: bytes in, bytes out. Reading the file is the caller's business.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from imago_fed.domain.voting.crypto.encoding import FormatError, compact, sha256_hex

__all__ = [
    "EVENT_TYPES",
    "Archive",
    "ArchiveError",
    "ArchiveWriter",
    "Event",
    "Member",
    "parse_archive",
]

BLOCK = 512
EVENT_TYPES = (
    "Setup",
    "Ballot",
    "EndBallots",
    "EncryptedTally",
    "Shuffle",
    "EndShuffles",
    "PartialDecryption",
    "Result",
)


class ArchiveError(FormatError):
    """The board itself is broken; ``check`` is archive.format or archive.hashes."""

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(f"{check}: {detail}")
        self.check, self.detail = check, detail


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Event:
    height: int
    type: str
    parent: str | None = None
    payload: str | None = None

    def to_json(self) -> str:
        value: dict[str, Any] = {}
        if self.parent is not None:
            value["parent"] = self.parent
        value["height"] = self.height
        value["type"] = self.type
        if self.payload is not None:
            value["payload"] = self.payload
        return compact(value)

    @classmethod
    def parse(cls, body: bytes) -> Event:
        try:
            value = json.loads(body)
            event = cls(value["height"], value["type"], value.get("parent"), value.get("payload"))
        except (ValueError, KeyError, TypeError) as exc:
            raise FormatError(f"malformed event: {exc}") from exc
        if event.type not in EVENT_TYPES or not isinstance(event.height, int):
            raise FormatError(f"unknown event type {event.type!r}")
        if event.to_json().encode() != body:
            raise FormatError("event not in canonical form")
        return event


@dataclass(frozen=True)
class Archive:
    """A parsed board: header, members in order, data and events by hash."""

    version: int
    timestamp: int
    members: tuple[Member, ...]
    data: dict[str, bytes]
    events: tuple[tuple[str, Event], ...]

    def get(self, digest: str | None) -> bytes:
        if digest is None or digest not in self.data:
            raise FormatError(f"missing data {digest}")
        return self.data[digest]


def _octal(field: bytes) -> int:
    text = field.split(b"\0", 1)[0].strip()
    try:
        return int(text or b"0", 8)
    except ValueError as exc:
        raise ArchiveError("archive.format", f"bad octal field in tar header: {field!r}") from exc


def _read_tar(data: bytes) -> list[Member]:
    members: list[Member] = []
    pos = 0
    while pos + BLOCK <= len(data):
        header = data[pos : pos + BLOCK]
        if header == bytes(BLOCK):
            break
        stored = _octal(header[148:156])
        computed = sum(header[:148]) + 8 * 32 + sum(header[156:])
        if stored != computed:
            raise ArchiveError("archive.format", f"tar header checksum mismatch at offset {pos}")
        if header[156:157] not in (b"0", b"\0"):
            raise ArchiveError("archive.format", "tar member is not a regular file")
        name = header[:100].split(b"\0", 1)[0].decode("ascii", "replace")
        size = _octal(header[124:136])
        start = pos + BLOCK
        if start + size > len(data):
            raise ArchiveError("archive.format", f"truncated tar member {name}")
        members.append(Member(name, data[start : start + size]))
        pos = start + (size + BLOCK - 1) // BLOCK * BLOCK
    if pos < len(data) and data[pos:].strip(b"\0"):
        raise ArchiveError("archive.format", "trailing garbage after the tar members")
    return members


def parse_archive(data: bytes) -> Archive:
    """Tar structure, header and member names; no cryptography yet."""
    members = _read_tar(data)
    if not members or members[0].name != "BELENIOS":
        raise ArchiveError("archive.format", "first member is not BELENIOS")
    try:
        header = json.loads(members[0].body)
        version = header["version"]
        timestamp = int(header["timestamp"])  # a string in 2.0, an int in the spec
    except (ValueError, KeyError, TypeError) as exc:
        raise ArchiveError("archive.format", f"malformed BELENIOS header: {exc}") from exc
    if version != 1:
        raise ArchiveError("archive.format", f"archive header version {version!r} (expected 1)")
    store: dict[str, bytes] = {}
    events: list[tuple[str, Event]] = []
    for member in members[1:]:
        digest, _, kind = member.name.partition(".")
        if kind not in ("data.json", "event.json"):
            raise ArchiveError("archive.format", f"unexpected member {member.name}")
        if sha256_hex(member.body) != digest:
            raise ArchiveError("archive.hashes", f"member {member.name} does not hash to its name")
        store[digest] = member.body
        if kind == "event.json":
            try:
                events.append((digest, Event.parse(member.body)))
            except FormatError as exc:
                raise ArchiveError("archive.format", str(exc)) from exc
    return Archive(version, timestamp, tuple(members), store, tuple(events))


def _tar_header(name: str, size: int, mtime: int) -> bytes:
    header = bytearray(BLOCK)
    header[0 : len(name)] = name.encode()
    header[100:107] = b"0000644"
    header[108:115] = b"0000000"
    header[116:123] = b"0000000"
    header[124:135] = b"%011o" % size
    header[136:147] = b"%011o" % mtime
    header[148:156] = b"        "
    header[156:157] = b"0"
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def _tar_member(name: str, body: bytes, mtime: int) -> bytes:
    padding = (-len(body)) % BLOCK
    return _tar_header(name, len(body), mtime) + body + bytes(padding)


class ArchiveWriter:
    """Builds a board the way belenios-tool does (``archive init``/``add-event``)."""

    def __init__(self, timestamp: int) -> None:
        self.timestamp = timestamp
        header = compact({"version": 1, "timestamp": str(timestamp)}).encode()
        self._chunks = [_tar_member("BELENIOS", header, timestamp)]
        self._last: tuple[str, Event] | None = None

    def add_data(self, body: str | bytes) -> str:
        raw = body.encode() if isinstance(body, str) else body
        digest = sha256_hex(raw)
        self._chunks.append(_tar_member(f"{digest}.data.json", raw, self.timestamp))
        return digest

    def add_event(self, type_: str, payload: str | None = None) -> str:
        if type_ not in EVENT_TYPES:
            raise FormatError(f"unknown event type {type_!r}")
        if self._last is None:
            event = Event(0, type_, None, payload)
        else:
            event = Event(self._last[1].height + 1, type_, self._last[0], payload)
        raw = event.to_json().encode()
        digest = sha256_hex(raw)
        self._chunks.append(_tar_member(f"{digest}.event.json", raw, self.timestamp))
        self._last = (digest, event)
        return digest

    def to_bytes(self) -> bytes:
        return b"".join(self._chunks)

"""The election parameters (spec 4.9-4.10) and their fingerprint phi.

    {"version":1,"description":…,"name":…,"group":"BELENIOS-2048",
     "public_key":"<y>","questions":[…],"uuid":"<base58, >= 14>",
     "administrator"?:…,"credential_authority"?:…}

A homomorphic question is ``{answers, blank?, min, max, question}``: the
voter encrypts 0 or 1 per answer, and between min and max ones in total,
or (if ``blank`` is true) a leading 1 and all zeros for a blank vote.
Non-homomorphic questions (``{"type":"NonHomomorphic","value":…}``) are
parsed so that an archive can be read, but this package neither makes nor
tallies them (they need a mixnet): :class:`Unsupported` says so.

phi is the unpadded base64 SHA-256 of the election's bytes as published,
so the raw text is kept alongside the parsed values; ``Election.build``
writes a new one in canonical form.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from imago_fed.domain.voting.crypto.encoding import FormatError, compact, sha256_b64
from imago_fed.domain.voting.crypto.groups import Group, group_by_name

__all__ = [
    "BASE58",
    "FORMAT_VERSION",
    "Election",
    "Question",
    "Unsupported",
    "check_uuid",
    "new_uuid",
]

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
FORMAT_VERSION = 1  # the election `version` belenios-tool 2.0 writes and reads


class Unsupported(FormatError):
    """Valid Belenios, but beyond what this package does (NH questions...)."""


def check_uuid(uuid: Any) -> str:
    if not isinstance(uuid, str) or len(uuid) < 14 or not set(uuid) <= set(BASE58):
        raise FormatError(f"not a Belenios uuid (>= 14 base58 characters): {uuid!r}")
    return uuid


def new_uuid() -> str:
    """A fresh election id, like ``belenios-tool setup generate-token`` (14 base58)."""
    return "".join(secrets.choice(BASE58) for _ in range(14))


@dataclass(frozen=True)
class Question:
    """A homomorphic question; ``blank`` is None when the field is absent."""

    question: str
    answers: tuple[str, ...]
    min: int
    max: int
    blank: bool | None = None

    @property
    def blank_allowed(self) -> bool:
        return self.blank is True

    @property
    def width(self) -> int:
        """Ciphertexts per answer: one per answer, plus one if blank is allowed."""
        return len(self.answers) + (1 if self.blank_allowed else 0)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"answers": list(self.answers)}
        if self.blank is not None:
            out["blank"] = self.blank
        out.update(min=self.min, max=self.max, question=self.question)
        return out

    @classmethod
    def from_json(cls, value: Any) -> Question:
        if not isinstance(value, dict):
            raise FormatError("a question is a JSON object")
        if "type" in value:
            raise Unsupported(f"question of type {value.get('type')!r} (non-homomorphic)")
        try:
            answers = tuple(value["answers"])
            q = cls(value["question"], answers, value["min"], value["max"], value.get("blank"))
        except (KeyError, TypeError) as exc:
            raise FormatError(f"malformed question: {exc}") from exc
        ints = (q.min, q.max)
        if not all(isinstance(a, str) for a in answers) or not isinstance(q.question, str):
            raise FormatError("question texts must be strings")
        if any(isinstance(i, bool) or not isinstance(i, int) for i in ints):
            raise FormatError("min and max must be integers")
        if q.blank is not None and not isinstance(q.blank, bool):
            raise FormatError("blank must be a boolean")
        if not 0 <= q.min <= q.max <= len(answers) or not answers:
            raise FormatError(f"need 0 <= min <= max <= {len(answers)} answers")
        return q


@dataclass(frozen=True)
class Election:
    """Parsed election parameters, with the exact text phi is computed on."""

    raw: str
    uuid: str
    name: str
    description: str
    group: Group
    public_key: Any
    questions: tuple[Question, ...]
    version: int = FORMAT_VERSION
    administrator: str | None = None
    credential_authority: str | None = None
    fingerprint: str = field(default="")

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", sha256_b64(self.raw))

    @classmethod
    def parse(cls, raw: str | bytes) -> Election:
        text = raw.decode() if isinstance(raw, bytes) else raw
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise FormatError(f"election is not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise FormatError("election is not a JSON object")
        version = value.get("version")
        if version != FORMAT_VERSION:
            raise Unsupported(f"election version {version!r} (this reads version 1)")
        try:
            group = group_by_name(value["group"])
            public_key = group.decode(value["public_key"])
            questions = tuple(Question.from_json(q) for q in value["questions"])
            return cls(
                raw=text,
                uuid=check_uuid(value["uuid"]),
                name=str(value["name"]),
                description=str(value["description"]),
                group=group,
                public_key=public_key,
                questions=questions,
                version=version,
                administrator=value.get("administrator"),
                credential_authority=value.get("credential_authority"),
            )
        except (KeyError, TypeError) as exc:
            raise FormatError(f"malformed election: missing or wrong {exc}") from exc

    @classmethod
    def build(
        cls,
        *,
        uuid: str,
        name: str,
        description: str,
        group: Group,
        public_key: Any,
        questions: tuple[Question, ...] | list[Question],
        administrator: str | None = None,
        credential_authority: str | None = None,
    ) -> Election:
        value: dict[str, Any] = {
            "version": FORMAT_VERSION,
            "description": description,
            "name": name,
            "group": group.name,
            "public_key": group.encode(public_key),
            "questions": [q.to_json() for q in questions],
            "uuid": check_uuid(uuid),
        }
        if administrator is not None:
            value["administrator"] = administrator
        if credential_authority is not None:
            value["credential_authority"] = credential_authority
        return cls.parse(compact(value))

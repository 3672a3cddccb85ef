"""Bytes on the wire the way belenios-tool 2.0 writes them.

Belenios hashes serialisations, so "the same JSON" is not enough: a ballot's
signature covers its compact serialisation with fields in the order of the
specification, and belenios-tool refuses a ballot whose re-serialisation
differs from what was received. The rules (atdgen's output) are:

    compact      no whitespace at all, no trailing newline
    field order  the order of the spec's tables; optional fields omitted
    numbers      group elements and scalars: base 10 in a JSON string, no
                 leading zeros; small integers (heights, owners): JSON numbers
    weights      a JSON number up to 2^30 - 1, else a base-10 string
    strings      JSON escapes for '"', '\\' and control characters (DEL too),
                 UTF-8 otherwise

Hashes: ``sha256_hex`` names archive members and links events;
``sha256_b64`` (standard alphabet, padding stripped) is the election
fingerprint phi, a ballot's signed hash and its tracker.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

__all__ = [
    "MAX_INT_WEIGHT",
    "FormatError",
    "canonical_number",
    "compact",
    "parse_weight",
    "sha256_b64",
    "sha256_hex",
    "weight_json",
]

MAX_INT_WEIGHT = 1073741823  # belenios writes larger weights as strings
_NUMBER = re.compile(r"0|[1-9][0-9]*")


class FormatError(ValueError):
    """Input that is not what the format says (or not in canonical form)."""


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()


def sha256_b64(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


def compact(value: Any) -> str:
    """Compact JSON; dicts must already be built in the spec's field order."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("\x7f", "\\u007f")


def canonical_number(text: Any) -> str:
    """``text`` if it is a base-10 string in canonical form, else FormatError."""
    if isinstance(text, str) and _NUMBER.fullmatch(text):
        return text
    raise FormatError(f"not a canonical base-10 number: {str(text)[:40]!r}")


def weight_json(weight: int) -> int | str:
    return weight if weight <= MAX_INT_WEIGHT else str(weight)


def parse_weight(value: Any) -> int:
    if isinstance(value, bool):
        raise FormatError("a weight is a number")
    if isinstance(value, int):
        weight = value
    elif isinstance(value, str) and _NUMBER.fullmatch(value):
        weight = int(value)
    else:
        raise FormatError(f"not a weight: {str(value)[:40]!r}")
    if weight < 0:
        raise FormatError("negative weight")
    return weight

"""Strict JSON for untrusted bytes: refuse what the standard decoder lets through.

Python's ``json`` is lenient where a server must not be: it accepts duplicate
keys (the last wins, so two readers of one document can disagree), ``NaN``
and ``Infinity``, ``\\u0000`` and lone surrogates (which PostgreSQL refuses
with an error deep in a query), and it recurses once per nesting level (a
5,000-level body is a ``RecursionError``). This module decodes with limits
checked *before* the recursive decoder runs::

    bytes ─> strict UTF-8 ─> nesting depth (a scan of the brackets outside
             strings) ─> json.loads (duplicate keys, constants, non-finite
             numbers refused as they are met) ─> strings: no NUL, no lone
             surrogate ─> value

Pure functions, no HTTP: :mod:`imago_fed.web.body` maps :class:`JsonRefused`
to a 400, the inbox and the appservice endpoint to their own error shapes.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

__all__ = ["MAX_DEPTH", "JsonRefused", "check_text", "decode_text", "loads"]

# ActivityPub documents and admin bodies nest a handful of levels; 64 leaves
# room for any honest document and none for a recursion bomb.
MAX_DEPTH = 64

# A JSON string literal (unrolled loop: linear, no backtracking).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class JsonRefused(ValueError):
    """The bytes are not a JSON document this server accepts; the message says why."""


def decode_text(raw: bytes) -> str:
    """UTF-8, strictly (no BOM, no encoded surrogates), with no NUL character."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonRefused(f"the body is not valid UTF-8 (byte {exc.start})") from None
    if text.startswith("\ufeff"):
        raise JsonRefused("the body starts with a byte order mark")
    check_text(text, "the body")
    return text


def check_text(text: str, where: str) -> str:
    """Refuse NUL and lone surrogates: PostgreSQL stores neither in text."""
    if "\x00" in text:
        raise JsonRefused(f"{where} contains a NUL character")
    if _SURROGATE.search(text):
        raise JsonRefused(f"{where} contains a lone surrogate")
    return text


def _depth(text: str) -> int:
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonRefused(f"duplicate key {key[:50]!r}")
        out[key] = value
    return out


def _constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not a JSON number")


def _float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise JsonRefused(f"the number {literal[:30]} is out of range")
    return value


def _check_strings(value: Any) -> None:
    """Walk the decoded value (its depth is bounded already) for bad strings."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            check_text(item, "a string")
        elif isinstance(item, dict):
            for key, child in item.items():
                check_text(key, "a key")
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)


def loads(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode one JSON document strictly; raise :class:`JsonRefused` saying why."""
    text = decode_text(raw) if isinstance(raw, bytes) else check_text(raw, "the body")
    if _depth(text) > max_depth:
        raise JsonRefused(f"the document nests deeper than {max_depth} levels")
    try:
        value = json.loads(
            text, object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float
        )
    except JsonRefused:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, int digit limit
        raise JsonRefused(f"the body is not valid JSON: {_short(exc)}") from None
    _check_strings(value)
    return value


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:120]

"""The strict JSON decoder: what the standard one lets through, refused, with a reason."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imago_fed.web.strict_json import MAX_DEPTH, JsonRefused, loads


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b'{"a": "\xed\xa0\x80"}', "not valid UTF-8"),  # an encoded surrogate
        (b"\xef\xbb\xbf{}", "byte order mark"),
        (b'{"a": "b\x00"}', "NUL"),
        (b'{"a": "\\u0000"}', "NUL"),
        (b'{"\\u0000": 1}', "NUL"),
        (b'["\\ud800"]', "lone surrogate"),
        (b'{"a": "\\udc00x"}', "lone surrogate"),
        (b'{"a": 1, "a": 2}', "duplicate key"),
        (b'{"x": {"a": 1, "a": 1}}', "duplicate key"),
        (b"[NaN]", "not a JSON number"),
        (b"[-Infinity]", "not a JSON number"),
        (b"[1e999]", "out of range"),
        (b"[" + b"1" * 5000 + b"]", "not valid JSON"),  # past the int digit limit
        (b"{nope", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[" * 5000 + b"]" * 5000, "nests deeper"),
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, "nests deeper"),
    ],
)
def test_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(JsonRefused, match=reason):
        loads(raw)


def test_depth_limit_is_exact_and_ignores_brackets_in_strings() -> None:
    assert loads(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    with pytest.raises(JsonRefused, match="nests deeper"):
        loads(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))
    brackets = json.dumps({"text": "[[[{{{" * 1000, "q": 'a "quoted" \\ [ string'})
    assert loads(brackets.encode())["text"].startswith("[[[")


def test_accepts_what_json_allows() -> None:
    document = {
        "id": "https://remote.example/1",
        "emoji": "caf\u00e9 \U0001f331",
        "pair": "\U0001f331".encode("utf-16", "surrogatepass").decode("utf-16"),
        "n": [0, -1, 2**62, 1.5, None, True],
        "nested": {"a": [{"b": {}}]},
    }
    raw = json.dumps(document).encode()  # ensure_ascii: surrogate pairs as escapes
    assert loads(raw) == document
    assert loads(json.dumps(document, ensure_ascii=False).encode()) == document


def test_a_megabyte_decodes_quickly() -> None:
    raw = json.dumps({"items": [{"k": "v" * 50, "n": [1, 2, 3]}] * 14_000}).encode()
    assert len(raw) > 1_000_000
    started = time.perf_counter()
    loads(raw)
    assert time.perf_counter() - started < 2.0


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00")),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8).filter(lambda k: "\x00" not in k), children, max_size=4),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(_json)
def test_round_trips_any_clean_document(value: object) -> None:
    assert loads(json.dumps(value).encode()) == value


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_are_refused(raw: bytes) -> None:
    try:
        value = loads(raw)
    except JsonRefused:
        return
    assert value == json.loads(raw)  # what it accepts, it reads as json does

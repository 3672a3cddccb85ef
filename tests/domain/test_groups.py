"""Group naming rules (pure domain: no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.groups import (
    MAX_NAME_LENGTH,
    validate_name,
    validate_slug,
    validate_summary,
)


@pytest.mark.parametrize("slug", ["garden", "a", "bike_repair", "x2", "0day", "a" * 30])
def test_valid_slugs(slug: str) -> None:
    assert validate_slug(slug) == slug


@pytest.mark.parametrize(
    "slug",
    ["", "Garden", "_lead", "with-dash", "with space", "a" * 31, "émile", "admin", "a/b", "a@b"],
)
def test_invalid_slugs(slug: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_slug(slug)
    assert caught.value.field == "slug"


@given(st.text(max_size=40))
def test_a_slug_is_accepted_only_if_it_is_safe_in_every_handle(text: str) -> None:
    try:
        validate_slug(text)
    except InvalidInput:
        return
    # Accepted slugs are usable verbatim in @slug@domain, URLs and Matrix aliases.
    assert text.isascii() and text == text.lower() and 1 <= len(text) <= 30
    assert all(c.isalnum() or c == "_" for c in text) and text[0] != "_"


def test_names_are_trimmed_and_bounded() -> None:
    assert validate_name("  Garden  ") == "Garden"
    for bad in ["", "   ", "x" * (MAX_NAME_LENGTH + 1), "line\nbreak"]:
        with pytest.raises(InvalidInput):
            validate_name(bad)


def test_summary_bounded() -> None:
    assert validate_summary(" hi ") == "hi"
    with pytest.raises(InvalidInput):
        validate_summary("x" * 5001)

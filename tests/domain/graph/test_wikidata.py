"""Wikidata ids: every accepted spelling lands on one QID and one canonical IRI."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.graph.wikidata import (
    ENTITY_PREFIX,
    entity_iri,
    normalize_entity,
    parse_qid,
    parse_qids,
    qid_number,
    same_entity,
)

qids = st.integers(min_value=1, max_value=10**11).map(lambda n: f"Q{n}")


@pytest.mark.parametrize(
    "spelling",
    [
        "Q90",
        " Q90 ",
        "http://www.wikidata.org/entity/Q90",
        "https://www.wikidata.org/entity/Q90",
        "https://www.wikidata.org/wiki/Q90",
        "http://m.wikidata.org/wiki/Q90",
        "https://m.wikidata.org/entity/Q90",
        "https://wikidata.org/wiki/Q90",
    ],
)
def test_accepted_spellings(spelling: str) -> None:
    assert parse_qid(spelling) == "Q90"
    assert normalize_entity(spelling) == "http://www.wikidata.org/entity/Q90"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "Q",
        "Q0",
        "Q090",
        "q90",
        "P31",
        "L7",
        "90",
        "Q90a",
        "Q 90",
        "https://www.wikidata.org/entity/P31",
        "https://www.wikidata.org/wiki/Q90/extra",
        "https://www.wikidata.org/wiki/Q90#P625",
        "https://evil.example/wiki/Q90",
        "https://www.wikidata.org.evil.example/wiki/Q90",
        "ftp://www.wikidata.org/entity/Q90",
        "https://en.wikipedia.org/wiki/Q90",
        "Q" + "9" * 200,
    ],
)
def test_refused_spellings_say_what_is_expected(bad: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_qid(bad)
    assert "Wikidata item id" in caught.value.message
    assert caught.value.field == "wikidata"


@pytest.mark.parametrize("bad", [None, 90, 9.0, b"Q90", ["Q90"]])
def test_non_text_is_refused(bad: object) -> None:
    with pytest.raises(InvalidInput):
        parse_qid(bad)


def test_the_field_is_named_in_the_error() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_qid("nope", field="themes")
    assert caught.value.field == "themes"


@given(qids)
def test_round_trip(qid: str) -> None:
    iri = entity_iri(qid)
    assert iri == ENTITY_PREFIX + qid
    assert parse_qid(iri) == qid
    assert entity_iri(iri) == iri
    assert parse_qid(iri.replace("/entity/", "/wiki/").replace("http:", "https:")) == qid
    assert qid_number(iri) == int(qid[1:])


@given(qids, qids)
def test_same_entity_compares_by_qid(a: str, b: str) -> None:
    assert same_entity(a, "https://m.wikidata.org/wiki/" + a)
    assert same_entity(a, b) == (a == b)


def test_same_entity_is_false_for_garbage() -> None:
    assert not same_entity("garbage", "garbage")


@given(st.text(max_size=60))
def test_anything_accepted_is_a_real_qid(text: str) -> None:
    try:
        qid = parse_qid(text)
    except InvalidInput:
        return
    assert qid[0] == "Q" and qid[1:].isdigit() and qid[1] != "0"


def test_parse_qids_dedupes_in_order_and_bounds() -> None:
    assert parse_qids(["Q2", "https://www.wikidata.org/wiki/Q1", "Q2"]) == ("Q2", "Q1")
    assert parse_qids([]) == ()
    with pytest.raises(InvalidInput) as caught:
        parse_qids("Q1")
    assert caught.value.field == "themes"
    with pytest.raises(InvalidInput):
        parse_qids([f"Q{n}" for n in range(1, 60)])
    with pytest.raises(InvalidInput):
        parse_qids(["Q1", "nope"])

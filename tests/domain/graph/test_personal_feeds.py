"""Personal feeds as people type them: the words, the name, the description."""

from __future__ import annotations

import pytest

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.graph.feeds import PersonalFeed
from imago_fed.domain.graph.personal_feeds import (
    FeedRequest,
    describe,
    parse_request,
    validate_name,
)
from imago_fed.domain.graph.places import Place


def test_words_become_a_request() -> None:
    request = parse_request(
        ["groups=@a@x.example,@b@y.example,@a@x.example", "themes=Q2,https://www.wikidata.org/wiki/Q1",
         "near=Q90", "radius=25"]
    )  # fmt: skip
    assert request == FeedRequest(("@a@x.example", "@b@y.example"), ("Q1", "Q2"), "Q90", 25.0)
    assert parse_request(["themes=Q5"]) == FeedRequest(themes=("Q5",))


@pytest.mark.parametrize(
    ("words", "said"),
    [
        ([], "say what the feed takes"),
        (["colour=red"], "unknown word 'colour=red'"),
        (["themes"], "unknown word 'themes'"),
        (["themes=Q1", "themes=Q2"], "themes is given twice"),
        (["groups="], "groups needs a value"),
        (["near=Q90"], "near and radius go together"),
        (["radius=5"], "near and radius go together"),
        (["near=Q90", "radius=far"], "radius must be a number"),
        (["near=Q90", "radius=0"], "greater than 0"),
        (["themes=P31"], "is not a Wikidata item id"),
    ],
)
def test_bad_words_are_refused_with_what_to_write(words: list[str], said: str) -> None:
    with pytest.raises(InvalidInput, match=said):
        parse_request(words)


def test_names_are_short_and_lower_case() -> None:
    assert validate_name("local-news_2") == "local-news_2"
    for bad in ("", "Local", "a b", "x" * 33, "-x", 3):
        with pytest.raises(InvalidInput, match="feed name"):
            validate_name(bad)


def test_a_feed_says_what_it_takes() -> None:
    feed = PersonalFeed(frozenset({"https://b/groups/g"}), frozenset({"Q1"}),
                        Place(48.85, 2.35, "Paris"), 25)  # fmt: skip
    assert describe(feed) == "groups https://b/groups/g; themes Q1; within 25 km of Paris"
    unnamed = PersonalFeed(place=Place(1.5, 2.25), radius_km=3.5)
    assert describe(unnamed) == "within 3.5 km of 1.5000,2.2500"

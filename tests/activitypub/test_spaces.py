"""A group's Matrix space in its actor document (activitypub/spaces.py): what we
publish, what we read back from any actor, and what we refuse to read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from imago_fed.activitypub import documents
from imago_fed.activitypub.actors import parse_actor
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.spaces import parse_space, space_property
from imago_fed.domain.groups import Group, KeyPair

NOW = datetime(2026, 12, 6, tzinfo=UTC)
ALIAS = "#_imago_garden:hs.a.example"


def test_what_we_publish_reads_back() -> None:
    made = space_property(ALIAS, "!gardenSpace", "hs.a.example")
    assert made == {"matrixAlias": ALIAS, "matrixRoomId": "!gardenSpace",
                    "matrixServer": "hs.a.example"}  # fmt: skip
    assert parse_space({"matrixSpace": made}) == ("!gardenSpace", "hs.a.example")
    # before the space exists only the alias is published: it is kept, to resolve later
    early = space_property(ALIAS, None, "hs.a.example")
    assert "matrixRoomId" not in early
    assert parse_space({"matrixSpace": early}) == (ALIAS, "hs.a.example")


@pytest.mark.parametrize(
    ("space", "expected"),
    [
        (None, ("", "")),  # a plain fediverse group
        ("!x", ("", "")),
        ({"matrixRoomId": "!x"}, ("", "")),  # no server to reach it through
        ({"matrixAlias": "#a:hs.example:8448"}, ("#a:hs.example:8448", "hs.example:8448")),
        ({"matrixRoomId": "!x", "matrixServer": "[::1]:8448"}, ("!x", "[::1]:8448")),
        ({"matrixRoomId": "!x", "matrixAlias": "#a:hs.example"}, ("!x", "hs.example")),
        ({"matrixRoomId": "x", "matrixServer": "hs.example"}, ("", "")),
        ({"matrixRoomId": "!x y", "matrixServer": "hs.example"}, ("", "")),
        ({"matrixRoomId": "!" + "x" * 255, "matrixServer": "hs.example"}, ("", "")),
        ({"matrixRoomId": 5, "matrixAlias": "#a:hs.example"}, ("#a:hs.example", "hs.example")),
        ({"matrixRoomId": "!x", "matrixServer": "hs example"}, ("", "")),
        ({"matrixRoomId": "!x", "matrixServer": ["hs.example"]}, ("", "")),
        ({"matrixAlias": "no-hash:hs.example", "matrixServer": "hs.example"}, ("", "")),
    ],
)
def test_only_a_well_formed_space_with_a_server_is_read(space: Any, expected: Any) -> None:
    assert parse_space({"matrixSpace": space}) == expected


def _group() -> Group:
    return Group("garden", "Garden", "", NOW, keys=KeyPair("PEM", b"sealed"), id=1)


def test_the_actor_document_publishes_the_space_with_its_terms() -> None:
    ids = Ids("https://a.example")
    space = space_property(ALIAS, "!gardenSpace", "hs.a.example")
    actor = documents.actor_document(
        _group(), ids, manually_approves=False, discoverable=True, space=space
    )
    assert actor["matrixSpace"] == space
    terms = actor["@context"][-1]
    for term in ("matrixSpace", "matrixAlias", "matrixRoomId", "matrixServer"):
        assert terms[term] == f"imago:{term}"
    without = documents.actor_document(_group(), ids, manually_approves=False, discoverable=True)
    assert "matrixSpace" not in without

    read = parse_actor(actor, actor["id"], NOW)
    assert (read.space, read.space_server) == ("!gardenSpace", "hs.a.example")
    plain = parse_actor(without, without["id"], NOW)
    assert (plain.space, plain.space_server) == ("", "")

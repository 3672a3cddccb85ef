"""Identifiers round-trip; the AS2 reader tolerates the dialects servers send."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imago_fed.activitypub import outbound
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.jsonld import JsonLdError, normalize
from imago_fed.activitypub.vocab import AS_PUBLIC, addressees, as_list, id_of, is_public

IDS = Ids("https://groups.example")
slugs = st.from_regex(r"[a-z0-9][a-z0-9_]{0,29}", fullmatch=True)


@given(slugs)
def test_group_ids_round_trip(slug: str) -> None:
    assert IDS.parse_group(IDS.group(slug)) == slug
    assert IDS.parse_group(IDS.group_key(slug)) == slug
    assert IDS.is_local(IDS.group_collection(slug, "inbox"))


def test_foreign_or_malformed_ids_do_not_parse() -> None:
    for uri in [
        "https://other.example/groups/garden",
        "https://groups.example/groups/garden/inbox",
        "https://groups.example.evil/groups/garden",
        "https://groups.example/groups/Garden",
    ]:
        assert IDS.parse_group(uri) is None
    token = IDS.new_activity().rsplit("/", 1)[1]
    assert IDS.parse_activity(IDS.activity(token)) == token
    assert IDS.parse_activity("https://groups.example/activities/../x") is None


def test_reading_tolerates_dialects() -> None:
    assert as_list(None) == [] and as_list("a") == ["a"] and as_list(["a"]) == ["a"]
    assert id_of({"id": "x"}) == "x" and id_of("x") == "x" and id_of(5) is None
    assert all(is_public(p) for p in (AS_PUBLIC, "as:Public", "Public"))
    note = {
        "to": "https://a/g",
        "cc": [{"id": "https://a/f"}],
        "tag": {"type": "Mention", "href": "https://a/m"},
    }
    assert set(addressees(note)) == {"https://a/g", "https://a/f", "https://a/m"}


def test_unusual_contexts_are_normalized_offline_and_remote_ones_refused() -> None:
    renamed = {
        "@context": [
            {
                "as": "https://www.w3.org/ns/activitystreams#",
                "recipients": {"@id": "as:to", "@type": "@id"},
                "kind": "@type",
                "ident": "@id",
            }
        ],
        "ident": "https://x.example/1",
        "kind": "as:Create",
        "as:actor": {"@id": "https://x.example/u"},
        "recipients": "https://y.example/g",
    }
    normalized = normalize(renamed)
    assert normalized["type"] == "Create" and normalized["to"] == "https://y.example/g"
    plain = {"@context": "https://www.w3.org/ns/activitystreams", "id": "x", "type": "Note"}
    assert normalize(plain) is plain
    with pytest.raises(JsonLdError):
        normalize({"@context": "https://evil.example/context", "id": "x"})


def test_group_emissions_carry_audience_and_stable_ids() -> None:
    create = {"id": "https://m.example/a/1", "type": "Create", "actor": "https://m.example/u",
              "object": {"id": "https://m.example/n/1", "type": "Note"}}  # fmt: skip
    first = outbound.announce(IDS, "garden", create)
    again = outbound.announce(IDS, "garden", create)
    boost = outbound.announce_object(IDS, "garden", "https://m.example/n/1")
    assert first["id"] == again["id"] != boost["id"]
    assert first["object"] == create and boost["object"] == "https://m.example/n/1"
    for doc in (first, boost):
        assert doc["audience"] == doc["actor"] == IDS.group("garden")
        assert AS_PUBLIC in doc["to"]
    accept = outbound.accept(IDS, "garden", {**create, "type": "Follow", "@context": "x"})
    assert "@context" not in accept["object"] and accept["to"] == ["https://m.example/u"]


def test_reply_votes_for_graded_methods() -> None:
    from datetime import UTC, datetime

    from imago_fed.activitypub.questions import parse_reply_vote
    from imago_fed.domain.governance.actions import ActionKind
    from imago_fed.domain.governance.proposals import Proposal, ballot_from_numbers
    from imago_fed.domain.governance.protocols import Democracy

    assert parse_reply_vote('<p><span class="h-card">@garden</span> vote: 1 3, 2</p>') == (1, 3, 2)
    assert parse_reply_vote("I agree with this") is None

    def proposal(method: str, options: tuple[str, ...]) -> Proposal:
        return Proposal(
            group_id=1, action=ActionKind.SPEND, title="t", protocol=Democracy(method=method),
            options=options, author="a", created_at=datetime.now(UTC),
        )  # fmt: skip

    graded = proposal("majority_judgment", ("saw", "drill", "lathe"))
    assert ballot_from_numbers(graded, (1, 3, 2)) == (1, 3, 2)  # grades as typed
    single = proposal("plurality", ("saw", "drill"))
    assert ballot_from_numbers(single, (2,)) == (1,)  # option numbers count from 1

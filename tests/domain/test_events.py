"""Typed group events: each kind reads back what it wrote, and rows already in
the log (written as plain dicts before the types) still read."""

from __future__ import annotations

import json

import pytest

from imago_fed.domain.events import (
    EVENT_TYPES,
    AssemblyClosed,
    AssemblyConvened,
    AssemblySaid,
    EventData,
    EventHandlers,
    GroupChanged,
    GroupDeleted,
    GroupEvent,
    IntentChanged,
    ItemReceived,
    Kind,
    MalformedEvent,
    MatchSuggested,
    MemberEdited,
    MemberInvited,
    MemberPosted,
    MemberRemoved,
    ModeratorsChanged,
    PostEdited,
    PostRemoved,
    PostShared,
    ProposalClosed,
    ProposalCounts,
    ProposalOpened,
    RelationChanged,
    UnknownKind,
    decode,
    handles,
)

PROPOSAL = {
    "proposal_id": 7, "title": "Block spam.example", "options": ["yes", "no"],
    "state": "open", "closes_at": "2026-12-08T10:00:00+00:00", "method": "approval",
    "protocol": "democracy", "secret": False, "counts": [2, 1], "voters": 3, "result_text": "",
}  # fmt: skip

SAMPLES: list[EventData] = [
    PostShared("https://a.example/n/1", "https://a.example/@al/1", "https://a.example/u/al",
               "Al", "<p>hi</p>", in_reply_to="https://b.example/n/9"),
    PostEdited("https://a.example/n/1", "https://a.example/u/al", "<p>hi!</p>"),
    PostRemoved("https://a.example/n/1", "https://a.example/u/al"),
    MemberPosted("@hazel:hs.example", "$m1", "!room", member_name="Hazel", text="hi",
                 html="<p>hi</p>", reply_to_message="$m0"),
    MemberEdited("@hazel:hs.example", "$m1", "hi!", "<p>hi!</p>"),
    MemberRemoved("@hazel:hs.example", "$m1"),
    GroupChanged(created=True),
    GroupDeleted(slug="garden", name="Garden"),
    ModeratorsChanged(),
    MemberInvited("@hazel:hs.example", "founder of the group"),
    ProposalOpened.from_payload(PROPOSAL),
    ProposalCounts.from_payload(PROPOSAL),
    ProposalClosed.from_payload({**PROPOSAL, "state": "adopted", "result_text": "yes won"}),
    AssemblyConvened(4, "Spring", ("Budget", "Garden"), "2026-12-06T18:00:00+00:00", "@ann:x"),
    AssemblySaid(4, "@ann:x has the floor (60 s)."),
    AssemblyClosed(4, "Spring", "Minutes ...", "<p>Minutes ...</p>"),
    RelationChanged(3, "https://b.example/groups/hub", "subgroup", "accepted", other_slug="",
                    other_space="!hubSpace", other_space_server="hs.b.example"),
    ItemReceived(5, "https://a.example/n/1", "https://a.example/groups/news", "hold",
                 path=("https://a.example/groups/news",), hop_limit=2, reason="held",
                 themes=("Q11451",), place_lat=48.85, place_lon=2.35, place_label="Paris"),
    IntentChanged(12, "https://a.example/groups/g/intents/12", "offer", "transfer", "Bikes",
                  "open", "Offer (transfer): 3 one Bikes · open", resource="Q11442",
                  quantity="3 one", remaining="3 one"),
    MatchSuggested(12, 14, "https://b.example/groups/w", "0.8123", "Suggested match ..."),
]  # fmt: skip


def test_every_kind_has_exactly_one_class() -> None:
    assert set(EVENT_TYPES) == set(Kind)
    assert {type(sample).kind for sample in SAMPLES} == set(Kind)


@pytest.mark.parametrize("data", SAMPLES, ids=lambda d: d.kind)
def test_each_kind_round_trips_through_stored_json(data: EventData) -> None:
    stored = json.loads(json.dumps(data.to_payload()))  # what the jsonb column gives back
    assert decode(data.kind, stored) == data


def test_stored_names_are_the_ones_rows_already_carry() -> None:
    """Existing rows keep their kind names and payload keys: renaming breaks reading them."""
    assert Kind.POST_SHARED == "post_shared" and Kind.MODERATORS_CHANGED == "moderators_changed"
    assert set(PostShared("o", "u", "a", "n", "h").to_payload()) == {
        "object_id", "url", "author_id", "author_name", "content_html", "in_reply_to",
        "attachments", "author_avatar",
    }  # fmt: skip


def test_rows_written_before_the_types_still_read() -> None:
    # post_shared carried a "source" key no reader used; proposal rows lacked "secret"
    old_post = {"object_id": "o", "url": "u", "author_id": "a", "author_name": "n",
                "content_html": "<p>x</p>", "in_reply_to": "", "source": "fediverse"}  # fmt: skip
    assert decode("post_shared", old_post) == PostShared("o", "u", "a", "n", "<p>x</p>")
    old_proposal = {k: v for k, v in PROPOSAL.items() if k != "secret"}
    assert decode("proposal_opened", old_proposal).secret is False  # type: ignore[attr-defined]
    # an edit row carried the text and html a removal did not need
    removed = {"member_id": "@h:hs", "message_id": "$1", "text": "", "html": ""}
    assert decode("member_removed", removed) == MemberRemoved("@h:hs", "$1")
    assert decode("group_changed", {}) == GroupChanged(created=False)


def test_an_unknown_kind_is_refused_by_name() -> None:
    with pytest.raises(UnknownKind, match="room_painted"):
        decode("room_painted", {})


@pytest.mark.parametrize(
    ("kind", "payload", "why"),
    [
        ("post_removed", {"object_id": "o"}, "missing 'author_id'"),
        ("proposal_opened", {**PROPOSAL, "proposal_id": "7"}, "'proposal_id' is not int"),
        ("proposal_opened", {**PROPOSAL, "proposal_id": True}, "'proposal_id' is not int"),
        ("proposal_counts", {**PROPOSAL, "counts": [1, "2"]}, "'counts'"),
        ("group_deleted", ["garden"], "not an object"),
    ],
)
def test_a_malformed_payload_is_refused_naming_why(kind: str, payload: object, why: str) -> None:
    with pytest.raises(MalformedEvent, match=why):
        decode(kind, payload)


def test_the_envelope_tells_its_kind_from_its_data() -> None:
    event = GroupEvent(3, "activitypub", "k", PostRemoved("o", "a"))
    assert event.kind is Kind.POST_REMOVED and event.id is None


# ------------------------------------------------------------------ dispatch
class Recorder:
    def __init__(self, name: str, seen: list[tuple[str, str]]) -> None:
        self.name, self.seen = name, seen

    @handles(Kind.POST_SHARED, Kind.POST_EDITED)
    async def posts(self, event: GroupEvent[PostShared | PostEdited]) -> None:
        self.seen.append((self.name, event.data.object_id))

    @handles(Kind.GROUP_DELETED)
    async def deleted(self, event: GroupEvent[GroupDeleted]) -> None:
        self.seen.append((self.name, event.data.slug))


class OnlyDeletions:
    def __init__(self, seen: list[tuple[str, str]]) -> None:
        self.seen = seen

    @handles(Kind.GROUP_DELETED)
    async def deleted(self, event: GroupEvent[GroupDeleted]) -> None:
        self.seen.append(("deletions", event.data.name))


async def test_dispatch_runs_the_handlers_of_the_kind_in_registration_order() -> None:
    seen: list[tuple[str, str]] = []
    table = EventHandlers.of(Recorder("a", seen), OnlyDeletions(seen))
    assert table.kinds == {Kind.POST_SHARED, Kind.POST_EDITED, Kind.GROUP_DELETED}

    assert await table.dispatch(GroupEvent(1, "x", "k1", PostEdited("o1", "a", "")))
    assert await table.dispatch(GroupEvent(1, "x", "k2", GroupDeleted("garden", "Garden")))
    assert seen == [("a", "o1"), ("a", "garden"), ("deletions", "Garden")]


async def test_a_kind_without_handler_is_no_work() -> None:
    seen: list[tuple[str, str]] = []
    table = EventHandlers.of(OnlyDeletions(seen))
    assert not await table.dispatch(GroupEvent(1, "x", "k", ModeratorsChanged()))
    await table(GroupEvent(1, "x", "k", PostRemoved("o", "a")))  # as a reader calls it
    assert seen == []


async def test_a_failing_handler_fails_the_dispatch_so_the_reader_retries() -> None:
    class Broken:
        @handles(Kind.MODERATORS_CHANGED)
        async def boom(self, event: GroupEvent[ModeratorsChanged]) -> None:
            raise OSError("network down")

    with pytest.raises(OSError, match="network down"):
        await EventHandlers.of(Broken()).dispatch(GroupEvent(1, "x", "k", ModeratorsChanged()))


def test_registration_mistakes_fail_early() -> None:
    with pytest.raises(ValueError):
        handles("room_painted")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="no @handles"):
        EventHandlers.of(object())

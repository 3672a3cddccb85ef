"""Matrix adapter, pure parts: ids, classification, converters, registration."""

from __future__ import annotations

import yaml
from hypothesis import given
from hypothesis import strategies as st

from imago_fed.domain.events import PostEdited, PostShared
from imago_fed.matrix import outbound
from imago_fed.matrix.ids import MatrixIds
from imago_fed.matrix.inbound import classify
from imago_fed.matrix.registration import registration, to_yaml

IDS = MatrixIds("example.org")
slugs = st.from_regex(r"[a-z0-9][a-z0-9_]{0,29}", fullmatch=True)


@given(slugs, st.sampled_from([None, "general", "decisions", "resources", "announcements"]))
def test_aliases_round_trip(slug: str, kind: str | None) -> None:
    alias = IDS.space_alias(slug) if kind is None else IDS.room_alias(slug, kind)
    assert IDS.parse_alias(alias) == (slug, kind)


def test_puppets_are_ours_and_stable_and_humans_are_not() -> None:
    puppet = IDS.puppet("https://social.example/users/alice")
    assert puppet == IDS.puppet("https://social.example/users/alice")
    assert puppet != IDS.puppet("https://social.example/users/bob")
    assert IDS.is_ours(puppet) and IDS.is_ours(IDS.bot)
    assert not IDS.is_ours("@alice:example.org")
    assert not IDS.is_ours("@_imago_x:other.example")  # same prefix, other server
    assert IDS.parse_alias("#_imago_garden:other.example") is None


def message(body: str, sender: str = "@hazel:example.org", **content: object) -> dict:
    return {"type": "m.room.message", "sender": sender, "event_id": "$1", "room_id": "!r",
            "content": {"msgtype": "m.text", "body": body, **content}}  # fmt: skip


def test_classification() -> None:
    assert classify(message("hi"), room_kind="general", ids=IDS).kind == "posted"
    assert classify(message("hi"), room_kind="decisions", ids=IDS).kind == "ignored"
    assert classify(message("!imago info"), room_kind="decisions", ids=IDS).kind == "command"
    own = message("echo", sender=IDS.puppet("https://x/y"))
    assert classify(own, room_kind="general", ids=IDS).reason == "our own event"
    replaces = {
        "m.new_content": {"msgtype": "m.text", "body": "fixed"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": "$0"},
    }
    edit = message("* fixed", **replaces)
    meaning = classify(edit, room_kind="general", ids=IDS)
    assert (meaning.kind, meaning.text, meaning.target_event) == ("edited", "fixed", "$0")
    join = {"type": "m.room.member", "state_key": "@hazel:example.org",
            "sender": "@hazel:example.org", "content": {"membership": "join"}}  # fmt: skip
    assert classify(join, room_kind="space", ids=IDS).kind == "joined"
    knock = {**join, "content": {"membership": "knock"}}
    assert classify(knock, room_kind="space", ids=IDS).kind == "knocked"
    leave = {**join, "content": {"membership": "leave"}}
    assert classify(leave, room_kind="space", ids=IDS).kind == "left"
    encryption = {"type": "m.room.encryption", "state_key": "", "sender": "@hazel:example.org",
                  "content": {"algorithm": "m.megolm.v1.aes-sha2"}}  # fmt: skip
    assert classify(encryption, room_kind="general", ids=IDS).kind == "encrypted"
    redaction = {"type": "m.room.redaction", "redacts": "$1", "sender": "@hazel:example.org",
                 "content": {}}  # fmt: skip
    assert classify(redaction, room_kind="general", ids=IDS).target_event == "$1"
    html = classify(message("<b>x</b>"), room_kind="general", ids=IDS).html
    assert html == "<p>&lt;b&gt;x&lt;/b&gt;</p>"  # plain text is escaped, never trusted as HTML


def test_post_content_links_the_original_and_replies() -> None:
    post = PostShared(
        object_id="https://s.example/notes/1", url="https://s.example/@alice/1",
        author_id="https://s.example/users/alice", author_name="Alice",
        content_html="<p>Seeds &amp; soil</p>",
    )  # fmt: skip
    content = outbound.post_content(post, reply_to_event="$parent")
    assert content["body"].startswith("Seeds & soil")
    assert "https://s.example/@alice/1" in content["body"]
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$parent"}}
    edit = outbound.edit_content("$orig", PostEdited(post.object_id, post.author_id, "<p>new</p>"))
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$orig"}


def test_registration_is_valid_yaml_with_exclusive_namespaces() -> None:
    document = registration(
        id="imago", url="https://groups.example", as_token="a", hs_token="h",
        sender_localpart="imago", prefix="_imago_", server_name="example.org",
    )  # fmt: skip
    parsed = yaml.safe_load(to_yaml(document))
    assert parsed == document
    assert parsed["rate_limited"] is False
    assert parsed["namespaces"]["users"] == [
        {"exclusive": True, "regex": "@_imago_.*:example\\.org"}
    ]


def test_presence_in_an_assembly_room_or_its_call() -> None:
    ann = "@ann:example.org"
    joined = {"type": "m.room.member", "state_key": ann, "sender": ann,
              "content": {"membership": "join"}}  # fmt: skip
    call = {"type": "org.matrix.msc3401.call.member", "state_key": "_@bo:example.org_DEV",
            "sender": "@bo:example.org", "content": {"memberships": [{"call_id": ""}]}}  # fmt: skip
    hung_up = {**call, "content": {}}
    assert classify(joined, room_kind="assembly:3", ids=IDS).kind == "attended"
    assert classify(call, room_kind="assembly:3", ids=IDS).sender == "@bo:example.org"
    assert classify(hung_up, room_kind="assembly:3", ids=IDS).kind == "ignored"
    assert classify(joined, room_kind="general", ids=IDS).kind == "ignored"
    bot = {**joined, "state_key": IDS.bot, "sender": IDS.bot}
    assert classify(bot, room_kind="assembly:3", ids=IDS).kind == "ignored"


def test_the_call_widget_is_the_same_for_the_same_room() -> None:
    from imago_fed.matrix.assemblies import assembly_of_kind, call_widget, room_kind

    key, widget = call_widget("meet.example.org", "!abc:example.org", "Spring", IDS.bot)
    assert (key, widget) == call_widget("meet.example.org", "!abc:example.org", "Spring", IDS.bot)
    assert widget["type"] == "jitsi" and widget["data"]["domain"] == "meet.example.org"
    assert widget["url"].startswith("https://meet.example.org/" + widget["data"]["conferenceId"])
    assert call_widget("meet.example.org", "!other:example.org", "Spring", IDS.bot)[0] != key
    assert assembly_of_kind(room_kind(12)) == 12 and assembly_of_kind("general") is None

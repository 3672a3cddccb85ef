"""The Matrix side of files, pure: stored file -> message content, message -> file."""

from __future__ import annotations

from imago_fed.domain.media import StoredMedia
from imago_fed.matrix.ids import MatrixIds
from imago_fed.matrix.inbound import classify
from imago_fed.matrix.media import BLURHASH_KEY, media_content, media_of_event

PHOTO = StoredMedia("a" * 64, "image/jpeg", 1234, 640, 480, "LEHV6nWB2yk8", "b" * 64, "fediverse")
THUMB = StoredMedia("b" * 64, "image/jpeg", 99, 320, 240, origin="thumbnail")
IDS = MatrixIds("example.org", "_imago_", "imago")


def test_a_picture_carries_its_size_thumbnail_blurhash_and_alt_text() -> None:
    content = media_content(PHOTO, "mxc://hs/p", alt="Seedlings", thumbnail=(THUMB, "mxc://hs/t"))
    assert content["msgtype"] == "m.image" and content["body"] == "Seedlings"
    assert content["url"] == "mxc://hs/p" and "filename" not in content
    assert content["info"] == {
        "mimetype": "image/jpeg", "size": 1234, "w": 640, "h": 480, BLURHASH_KEY: "LEHV6nWB2yk8",
        "thumbnail_url": "mxc://hs/t",
        "thumbnail_info": {"mimetype": "image/jpeg", "size": 99, "w": 320, "h": 240},
    }  # fmt: skip
    # without alt text the body names the file
    assert media_content(PHOTO, "mxc://hs/p")["body"] == "aaaaaaaaaaaaaaaa.jpg"


def test_videos_and_sounds_have_their_own_message_types() -> None:
    video = StoredMedia("c" * 64, "video/mp4", 10, origin="fediverse")
    sound = StoredMedia("d" * 64, "audio/ogg", 10, origin="fediverse")
    assert media_content(video, "mxc://hs/v")["msgtype"] == "m.video"
    assert media_content(sound, "mxc://hs/s")["msgtype"] == "m.audio"
    assert "w" not in media_content(video, "mxc://hs/v")["info"]


def test_what_a_member_sends() -> None:
    base = {"msgtype": "m.image", "url": "mxc://hs/x", "info": {"mimetype": "image/png"}}
    assert media_of_event({**base, "body": "IMG_0001.png"}) == ("mxc://hs/x", "image/png", "")
    assert media_of_event({**base, "body": "Our raised beds"}) == (
        "mxc://hs/x", "image/png", "Our raised beds",
    )  # fmt: skip
    caption = {**base, "body": "Look!", "filename": "beds.png"}
    assert media_of_event(caption) == ("mxc://hs/x", "image/png", "Look!")
    assert media_of_event({**base, "url": "https://elsewhere/x.png", "body": "x"}) is None
    encrypted = {"msgtype": "m.image", "body": "x", "file": {"url": "mxc://hs/e"}}
    assert media_of_event(encrypted) is None
    assert media_of_event({"msgtype": "m.file", "url": "mxc://hs/f", "body": "x"}) is None


def test_a_file_in_general_is_a_post_elsewhere_it_is_not() -> None:
    event = {
        "type": "m.room.message", "sender": "@hazel:example.org", "event_id": "$1",
        "content": {"msgtype": "m.image", "body": "Beds", "url": "mxc://hs/x"},
    }  # fmt: skip
    meaning = classify(event, room_kind="general", ids=IDS)
    assert meaning.kind == "posted" and meaning.media == ("mxc://hs/x", "", "Beds")
    assert classify(event, room_kind="decisions", ids=IDS).kind == "ignored"
    encrypted = {**event, "content": {"msgtype": "m.image", "body": "x", "file": {}}}
    assert classify(encrypted, room_kind="general", ids=IDS).kind == "ignored"
    puppet = {**event, "sender": "@_imago_abc:example.org"}
    assert classify(puppet, room_kind="general", ids=IDS).kind == "ignored"

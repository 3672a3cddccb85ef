"""The media rules: what a file is comes from its bytes; caps; attachments in events."""

from __future__ import annotations

import pytest

from imago_fed.domain.events import MemberPosted, PostShared, decode
from imago_fed.domain.events.kinds import MalformedEvent
from imago_fed.domain.media import (
    Attachment,
    MediaLimits,
    MediaRefused,
    alt_text,
    check,
    check_pixels,
    is_media_id,
    sniff,
)
from tests.media_samples import SVG, photo_with_gps, plain_png

LIMITS = MediaLimits(max_image_bytes=1000, max_av_bytes=5000, max_pixels=100)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0" + bytes(12), "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n" + bytes(8), "image/png"),
        (b"GIF89a" + bytes(10), "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypmp42" + bytes(4), "video/mp4"),
        (b"\x1a\x45\xdf\xa3" + bytes(12), "video/webm"),
        (b"OggS" + bytes(12), "audio/ogg"),
        (b"ID3\x04" + bytes(12), "audio/mpeg"),
        (SVG[:16], None),
        (b"<!DOCTYPE html><script>", None),
        (b"%PDF-1.7" + bytes(8), None),
    ],
)
def test_the_bytes_say_what_a_file_is(head: bytes, expected: str | None) -> None:
    assert sniff(head) == expected


def test_a_declared_type_must_match_the_bytes() -> None:
    png = plain_png()
    assert check(png[:64], len(png), MediaLimits(), declared="image/png") == "image/png"
    assert check(png[:64], len(png), MediaLimits(), declared="") == "image/png"
    with pytest.raises(MediaRefused, match="declared image/jpeg but the bytes are image/png"):
        check(png[:64], len(png), MediaLimits(), declared="image/jpeg")
    jpeg = photo_with_gps()
    assert check(jpeg[:64], len(jpeg), MediaLimits(), declared="image/JPG; q=1") == "image/jpeg"


def test_scripts_and_unknown_types_are_refused_whatever_they_claim() -> None:
    with pytest.raises(MediaRefused, match="unrecognised"):
        check(SVG[:64], len(SVG), MediaLimits(), declared="image/png")
    with pytest.raises(MediaRefused, match=r"declared image/svg\+xml"):
        check(SVG[:64], len(SVG), MediaLimits(), declared="image/svg+xml")


def test_size_and_pixel_caps() -> None:
    png = plain_png()
    with pytest.raises(MediaRefused, match="over the 1000 byte cap"):
        check(png[:64], 1001, LIMITS)
    assert check(b"OggS" + bytes(60), 4000, LIMITS) == "audio/ogg"  # sounds have their own cap
    with pytest.raises(MediaRefused, match="5000 byte cap"):
        check(b"OggS" + bytes(60), 5001, LIMITS)
    check_pixels(10, 10, LIMITS)
    with pytest.raises(MediaRefused, match="decompression bomb"):
        check_pixels(10, 11, LIMITS)
    with pytest.raises(MediaRefused, match="no size"):
        check_pixels(0, 10, LIMITS)


def test_alt_text_and_ids() -> None:
    assert alt_text("  a tray  ") == "a tray" and alt_text(None) == "" and alt_text(3) == ""
    assert len(alt_text("x" * 5000)) == 1500
    assert is_media_id("a" * 64) and not is_media_id("A" * 64) and not is_media_id("../x")


def test_attachments_travel_in_the_event_log() -> None:
    post = PostShared(
        "https://x/notes/1", "https://x/notes/1", "https://x/u", "U", "<p>hi</p>",
        attachments=(Attachment("image/png", url="https://x/a.png", name="alt", width=4),),
    )  # fmt: skip
    assert decode("post_shared", post.to_payload()) == post
    posted = MemberPosted("@a:x", "$e", "!r", attachments=(Attachment("image/gif", media_id="f"),))
    assert decode("member_posted", posted.to_payload()) == posted
    # rows written before attachments existed still read
    old = {k: v for k, v in post.to_payload().items() if k != "attachments"}
    assert decode("post_shared", old).attachments == ()
    with pytest.raises(MalformedEvent):
        decode("post_shared", {**old, "attachments": ["https://x/a.png"]})
    with pytest.raises(MalformedEvent):
        decode("post_shared", {**old, "attachments": [{"url": "https://x/a.png"}]})

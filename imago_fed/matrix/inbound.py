"""Matrix events to group actions (pure: classify, no I/O).

Each event from the homeserver is sorted into one of a few meanings; the
bridge worker (:mod:`.bridge`) carries them out. Events from our own users
(the bot and every puppet) are dropped here, first, so nothing we send can
come back as if a member had said it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imago_fed.matrix.ids import MatrixIds
from imago_fed.matrix.media import MEDIA_MSGTYPES, media_of_event
from imago_fed.matrix.polls import RESPONSE_TYPES

__all__ = ["Meaning", "classify"]

#: Element Call's membership of a call (MSC3401); an empty content is leaving it.
CALL_MEMBER_TYPES = ("org.matrix.msc3401.call.member", "m.call.member")


@dataclass(frozen=True)
class Meaning:
    kind: str  # joined, knocked, left, posted, edited, redacted, command, poll_response,
    # attended (an assembly's room or call), encrypted, ignored
    sender: str = ""
    text: str = ""
    html: str = ""
    target_event: str = ""  # edited / redacted / replied-to event
    reason: str = ""
    media: tuple[str, str, str] | None = None  # a posted file: mxc URI, mimetype, alt text


def _object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: events are untrusted."""
    return value if isinstance(value, dict) else {}


def _string(value: Any) -> str:
    """``value`` if it is a string, else empty."""
    return value if isinstance(value, str) else ""


def _text_and_html(content: dict[str, Any]) -> tuple[str, str]:
    text = _string(content.get("body"))
    markup = content.get("formatted_body")
    if content.get("format") != "org.matrix.custom.html" or not isinstance(markup, str):
        from html import escape

        markup = "<p>" + escape(text).replace("\n", "<br>") + "</p>"
    return text, markup


def classify(event: dict[str, Any], *, room_kind: str, ids: MatrixIds) -> Meaning:
    kind = event.get("type")
    sender = _string(event.get("sender"))
    content = _object(event.get("content"))
    if not sender or ids.is_ours(sender):
        return Meaning("ignored", reason="our own event")
    if kind == "m.room.encryption" and "state_key" in event:
        return Meaning("encrypted", sender)
    if room_kind.startswith("assembly:") and "state_key" in event:
        if kind == "m.room.member" and content.get("membership") == "join":
            target = event.get("state_key")
            if isinstance(target, str) and not ids.is_ours(target):
                return Meaning("attended", target)
        if kind in CALL_MEMBER_TYPES and content:
            return Meaning("attended", sender)
    if kind == "m.room.member" and room_kind == "space":
        target = event.get("state_key")
        if not isinstance(target, str) or ids.is_ours(target):
            return Meaning("ignored", reason="membership of our own user")
        membership = content.get("membership")
        if membership == "join":
            return Meaning("joined", target)
        if membership == "knock":
            return Meaning("knocked", target)
        if membership in ("leave", "ban"):
            return Meaning("left", target)
        return Meaning("ignored", reason=f"membership {membership}")
    if kind == "m.room.redaction":
        redacts = event.get("redacts") or content.get("redacts")
        if isinstance(redacts, str):
            return Meaning("redacted", sender, target_event=redacts)
    if kind in RESPONSE_TYPES:
        relates = _object(content.get("m.relates_to"))
        return Meaning("poll_response", sender, target_event=str(relates.get("event_id", "")))
    if kind == "m.room.message":
        text, markup = _text_and_html(content)
        if text.strip().startswith("!imago"):
            return Meaning("command", sender, text=text.strip())
        if room_kind != "general":
            return Meaning("ignored", reason=f"messages in {room_kind} are not bridged")
        relates = _object(content.get("m.relates_to"))
        if content.get("msgtype") in MEDIA_MSGTYPES and relates.get("rel_type") != "m.replace":
            media = media_of_event(content)
            if media is None:
                return Meaning("ignored", reason="an encrypted or unusable file")
            reply = _object(relates.get("m.in_reply_to"))
            return Meaning("posted", sender, "", "", str(reply.get("event_id", "")), media=media)
        if content.get("msgtype") not in ("m.text", "m.emote", "m.notice"):
            return Meaning("ignored", reason="only text messages and files are bridged")
        new_content = content.get("m.new_content")
        if relates.get("rel_type") == "m.replace" and isinstance(new_content, dict):
            new_text, new_html = _text_and_html(new_content)
            return Meaning("edited", sender, new_text, new_html, str(relates.get("event_id", "")))
        reply = _object(relates.get("m.in_reply_to"))
        return Meaning("posted", sender, text, markup, str(reply.get("event_id", "")))
    return Meaning("ignored", reason=f"{kind} is not bridged")

"""Group events to Matrix event contents (pure: no I/O).

A fediverse post becomes an ``m.text`` message with the HTML as
``formatted_body`` and a link to the original; a reply to something already
in the room becomes a Matrix reply to it; an edit becomes an ``m.replace``.
An announcement propagated between groups becomes a notice with a link to it
(and, when it waits for moderators, the command that releases it); a change
of the group's relations becomes a sentence.
"""

from __future__ import annotations

import html
import re
from typing import Any

from imago_fed.domain.events import ItemReceived, PostEdited, PostShared, RelationChanged

__all__ = [
    "edit_content",
    "feed_entry_content",
    "html_to_text",
    "item_content",
    "notice",
    "post_content",
    "relation_text",
]

_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<\s*(br|/p)\s*/?\s*>", re.IGNORECASE)


def html_to_text(markup: str) -> str:
    """A readable plain-text fallback for clients without HTML."""
    text = _BREAK.sub("\n", markup)
    return html.unescape(_TAG.sub("", text)).strip()


def post_content(post: PostShared, *, reply_to_event: str | None) -> dict[str, Any]:
    author = post.author_name or post.author_id
    url = post.url or post.object_id
    markup = post.content_html
    content: dict[str, Any] = {
        "msgtype": "m.text",
        "body": f"{html_to_text(markup)}\n\n— {author}: {url}",
        "format": "org.matrix.custom.html",
        "formatted_body": (
            f'{markup}<p><a href="{html.escape(url, quote=True)}">'
            f"{html.escape(str(author))} on the fediverse</a></p>"
        ),
        "external_url": url,
    }
    if reply_to_event:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to_event}}
    return content


def edit_content(original_event: str, post: PostEdited) -> dict[str, Any]:
    markup = post.content_html
    new = {
        "msgtype": "m.text",
        "body": html_to_text(markup),
        "format": "org.matrix.custom.html",
        "formatted_body": markup,
    }
    return {
        "msgtype": "m.text",
        "body": "* " + new["body"],
        "m.new_content": new,
        "m.relates_to": {"rel_type": "m.replace", "event_id": original_event},
    }


def notice(text: str) -> dict[str, Any]:
    return {"msgtype": "m.notice", "body": text}


_RELATION_STATES = {
    "accepted": "{other} is now {a} {kind} of this group.",
    "removed": "{other} is no longer {a} {kind} of this group.",
    "rejected": "The {kind} relation with {other} was declined.",
    "withdrawn": "The {kind} relation with {other} was withdrawn.",
}


def relation_text(change: RelationChanged) -> str:
    """One sentence: what the other group now is (or no longer is) to this one."""
    kind = change.other_is.replace("_", " ")
    article = "an" if kind[:1] in "aeiou" else "a"
    template = _RELATION_STATES.get(change.state, "The {kind} relation with {other}: {state}.")
    return template.format(other=change.other, a=article, kind=kind, state=change.state)


def _link_notice(lead: str, url: str, more: str = "") -> dict[str, Any]:
    link = f'<a href="{html.escape(url, quote=True)}">{html.escape(url)}</a>'
    body, markup = f"{lead} {url}", f"<p>{html.escape(lead)} {link}</p>"
    if more:
        body += "\n" + more
        markup += f"<p>{html.escape(more)}</p>"
    return {
        "msgtype": "m.notice",
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": markup,
        "external_url": url,
    }


def _origin(origin: str, via: tuple[str, ...]) -> str:
    return f"From {origin}" + (f" via {', '.join(via)}" if via else "")


def item_content(item: ItemReceived) -> dict[str, Any]:
    """A propagated announcement in the group's announcements room: where it comes
    from, a link to it, and for a held one the command a moderator releases it with."""
    origin = _origin(item.origin, item.path[1:])
    if item.verdict == "released":
        return _link_notice(f"Released by a moderator. {origin}:", item.object_id)
    if item.verdict == "hold":
        return _link_notice(
            f"Held for moderators ({item.reason}). {origin}:", item.object_id,
            f"A moderator publishes it with: !imago release {item.item_id}",
        )  # fmt: skip
    return _link_notice(f"{origin}:", item.object_id)


def feed_entry_content(object_id: str, origin: str, via: tuple[str, ...]) -> dict[str, Any]:
    """An announcement in a personal feed's room."""
    return _link_notice(f"{_origin(origin, via)}:", object_id)

"""Group events to Matrix event contents (pure: no I/O).

A fediverse post becomes an ``m.text`` message with the HTML as
``formatted_body`` and a link to the original; a reply to something already
in the room becomes a Matrix reply to it; an edit becomes an ``m.replace``.
"""

from __future__ import annotations

import html
import re
from typing import Any

from imago_fed.domain.events import PostEdited, PostShared

__all__ = ["edit_content", "html_to_text", "notice", "post_content"]

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

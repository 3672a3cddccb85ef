"""Group events: what happened in a group, told in the domain's own words.

An adapter that sees something happen (the fediverse side re-shares a post,
a Matrix member writes in the group's room) records an event; the other
adapters read the log, each at its own pace, and tell their network. So the
ActivityPub and Matrix adapters never call each other, and a crash between
"recorded" and "told" loses nothing: the reader resumes from its cursor.

Payload keys per kind (all strings unless said):

    post_shared    object_id, url, author_id, author_name, content_html,
                   in_reply_to (object id or ""), source network
    post_edited    object_id, author_id, content_html
    post_removed   object_id, author_id
    member_posted  member_id, member_name, text, html, message_id, conversation_id,
                   reply_to_message
    member_edited  member_id, message_id, text, html
    member_removed member_id, message_id
    group_changed  (none: readers reload the group)
    group_deleted  slug, name (the group is gone: readers cannot load it)
    moderators_changed  (none: readers reload the moderators)
    proposal_opened / proposal_counts / proposal_closed
                   proposal_id, title, options, state, closes_at, method,
                   protocol, counts (direct votes per option), voters, result_text
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["GroupEvent", "Kind"]


class Kind:
    POST_SHARED = "post_shared"
    POST_EDITED = "post_edited"
    POST_REMOVED = "post_removed"
    MEMBER_POSTED = "member_posted"
    MEMBER_EDITED = "member_edited"
    MEMBER_REMOVED = "member_removed"
    GROUP_CHANGED = "group_changed"
    GROUP_DELETED = "group_deleted"
    MODERATORS_CHANGED = "moderators_changed"
    PROPOSAL_OPENED = "proposal_opened"
    PROPOSAL_COUNTS = "proposal_counts"
    PROPOSAL_CLOSED = "proposal_closed"


@dataclass(frozen=True)
class GroupEvent:
    """One event; ``dedupe_key`` makes recording it twice a no-op."""

    group_id: int
    kind: str
    source: str  # the adapter that recorded it: readers skip their own
    dedupe_key: str
    payload: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

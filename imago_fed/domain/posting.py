"""Who may post into a group, and who may change what the group re-shared.

These are the group's rules, whatever network the post came from: the
ActivityPub adapter asks them before re-sharing a fediverse post, and the
Matrix adapter will ask them for messages from Matrix members. Each function
answers ``None`` (allowed) or the reason for refusing, which ends up in the
inbound activity's record so admins can see why nothing happened.
"""

from __future__ import annotations

__all__ = ["refusal_to_forward", "refusal_to_reshare"]


def refusal_to_reshare(*, policy: str, is_follower: bool, author_blocked: bool) -> str | None:
    """May the group re-share a new post by this author?"""
    if author_blocked:
        return "author blocked"
    if policy == "followers" and not is_follower:
        return "author does not follow the group"
    return None


def refusal_to_forward(
    *,
    edits: bool,
    is_author: bool,
    policy: str,
    is_follower: bool,
    actor_blocked: bool,
) -> str | None:
    """May the group pass on an activity about a post it re-shared?

    Edits and deletions come only from the post's author; reactions (likes)
    follow the same rule as posting.
    """
    if actor_blocked:
        return "actor blocked"
    if edits:
        return None if is_author else "only the author may edit or delete"
    if policy == "followers" and not is_follower:
        return "actor does not follow the group"
    return None

"""Domain events to ActivityStreams documents (pure: no I/O).

Everything a group emits carries ``audience`` = the group (FEP-1b12). A
member's post is re-shared twice, as Lemmy does: ``Announce`` of the activity
exactly as received (so embedded proofs still verify, and FEP-1b12 servers
see the Create) and ``Announce`` of the object's id (what Mastodon shows).
Activity ids are derived from what they answer, so processing the same
inbound activity twice emits the same ids, and receivers drop the repeat.
"""

from __future__ import annotations

import hashlib
from typing import Any

from imago_fed.activitypub.documents import CONTEXT
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.vocab import AS_PUBLIC, id_of

__all__ = [
    "accept",
    "announce",
    "announce_object",
    "derived_id",
    "follow",
    "moderators_change",
    "reject",
    "undo",
]


def derived_id(ids: Ids, *parts: str) -> str:
    """A stable activity id for (group, verb, what it answers)."""
    return ids.activity(hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32])


def _group_envelope(ids: Ids, slug: str, kind: str, activity_id: str) -> dict[str, Any]:
    group = ids.group(slug)
    return {"@context": CONTEXT, "id": activity_id, "type": kind, "actor": group, "audience": group}


def _answer(ids: Ids, slug: str, kind: str, follow: dict[str, Any]) -> dict[str, Any]:
    document = _group_envelope(ids, slug, kind, derived_id(ids, slug, kind, follow["id"]))
    document["to"] = [id_of(follow["actor"])]
    document["object"] = {k: v for k, v in follow.items() if k != "@context"}
    return document


def accept(ids: Ids, slug: str, follow: dict[str, Any]) -> dict[str, Any]:
    return _answer(ids, slug, "Accept", follow)


def reject(ids: Ids, slug: str, follow: dict[str, Any]) -> dict[str, Any]:
    return _answer(ids, slug, "Reject", follow)


def announce(ids: Ids, slug: str, activity: dict[str, Any]) -> dict[str, Any]:
    """Announce of an activity exactly as received."""
    document = _group_envelope(
        ids, slug, "Announce", derived_id(ids, slug, "announce", activity["id"])
    )
    document["to"] = [AS_PUBLIC]
    document["cc"] = [ids.group_collection(slug, "followers")]
    document["object"] = activity
    return document


def announce_object(ids: Ids, slug: str, object_id: str) -> dict[str, Any]:
    """Announce of an object's id: the form Mastodon displays as a boost."""
    document = _group_envelope(
        ids, slug, "Announce", derived_id(ids, slug, "announce-object", object_id)
    )
    document["to"] = [AS_PUBLIC]
    document["cc"] = [ids.group_collection(slug, "followers")]
    document["object"] = object_id
    return document


def follow(ids: Ids, slug: str, target: str) -> dict[str, Any]:
    document = _group_envelope(ids, slug, "Follow", ids.new_activity())
    document["to"] = [target]
    document["object"] = target
    return document


def undo(ids: Ids, slug: str, activity: dict[str, Any], to: str) -> dict[str, Any]:
    document = _group_envelope(ids, slug, "Undo", derived_id(ids, slug, "undo", activity["id"]))
    document["to"] = [to]
    document["object"] = {k: v for k, v in activity.items() if k != "@context"}
    return document


def moderators_change(ids: Ids, slug: str, actor_uri: str, *, added: bool) -> dict[str, Any]:
    """FEP-1b12: ``Add``/``Remove`` of a moderator, targeting the moderators collection."""
    kind = "Add" if added else "Remove"
    document = _group_envelope(ids, slug, kind, ids.new_activity())
    document["to"] = [AS_PUBLIC]
    document["cc"] = [ids.group_collection(slug, "followers")]
    document["object"] = actor_uri
    document["target"] = ids.group_collection(slug, "moderators")
    return document

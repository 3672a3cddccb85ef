"""Matrix members as fediverse actors: a ``Person`` of this instance each.

A member who writes in a group's general room appears in the fediverse as
``{base}/people/<username>`` (handle ``@<username>@domain``), with a key of
its own, so the Note is attributed to them, not to the group. The username
is the Matrix id folded to what Mastodon accepts: ``@alice:example.org`` ->
``alice_example_org`` (a numeric suffix when two ids fold alike).

Their messages arrive as group events (``member_posted`` ...): this module
turns them into ``Create``/``Update``/``Delete`` of a Note, stored in the
group's outbox (so they are fetchable) and re-shared by the group with
``Announce``, exactly like a fediverse member's post.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from imago_fed.activitypub import outbound
from imago_fed.activitypub.documents import CONTEXT
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.media import attachment_document, face_document
from imago_fed.activitypub.publish import publish_to_followers
from imago_fed.activitypub.vocab import AS_PUBLIC
from imago_fed.domain.events import (
    GroupEvent,
    Kind,
    MemberEdited,
    MemberPosted,
    MemberRemoved,
    handles,
)
from imago_fed.domain.media import Attachment
from imago_fed.domain.ports import Clock, GroupRepository, KeyPairFactory
from imago_fed.domain.ports.federation import Federation

__all__ = ["MemberPosts", "fold_username", "note_id", "person_document"]

SOURCE = "activitypub"


def fold_username(user_id: str) -> str:
    folded = re.sub(r"[^a-z0-9]+", "_", user_id.lower().lstrip("@")).strip("_")
    return (folded or "member")[:60]


def person_url(ids: Ids, username: str) -> str:
    return f"{ids.base_url}/people/{username}"


def note_id(ids: Ids, username: str, message_id: str) -> str:
    token = hashlib.sha256(message_id.encode()).hexdigest()[:32]
    return f"{person_url(ids, username)}/notes/{token}"


def person_document(
    ids: Ids, username: str, name: str, public_pem: str, *, icon: Attachment | None = None
) -> dict[str, Any]:
    """The Person of a Matrix member; ``icon``: their Matrix picture, kept by us."""
    actor = person_url(ids, username)
    document = {
        "@context": CONTEXT,
        "id": actor,
        "type": "Person",
        "preferredUsername": username,
        "name": name,
        "summary": "<p>A Matrix member, bridged by Imago Fed.</p>",
        "url": actor,
        "inbox": f"{actor}/inbox",
        "outbox": f"{actor}/outbox",
        "endpoints": {"sharedInbox": ids.shared_inbox},
        "manuallyApprovesFollowers": True,
        "discoverable": False,
        "publicKey": {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": public_pem},
    }
    if icon is not None:
        document["icon"] = face_document(ids.base_url, icon)
    return document


class MemberPosts:
    """Reads member events from the group log and publishes them as Notes."""

    def __init__(
        self,
        fed: Federation,
        ids: Ids,
        groups: GroupRepository,
        keys: KeyPairFactory,
        clock: Clock,
    ) -> None:
        self._fed, self._ids, self._groups, self._keys, self._clock = (
            fed,
            ids,
            groups,
            keys,
            clock,
        )

    @handles(Kind.MEMBER_POSTED, Kind.MEMBER_EDITED, Kind.MEMBER_REMOVED)
    async def on_group_event(
        self, event: GroupEvent[MemberPosted | MemberEdited | MemberRemoved]
    ) -> None:
        group = await self._groups.get_by_id(event.group_id)
        if group is None or group.id is None:
            return
        payload = event.data
        now = self._clock.now()
        name = payload.member_name if isinstance(payload, MemberPosted) else ""
        username = await self._person(payload.member_id, name, now)
        author = person_url(self._ids, username)
        note = note_id(self._ids, username, payload.message_id)
        group_uri = self._ids.group(group.slug)
        if isinstance(payload, MemberPosted):
            obj: dict[str, Any] = {
                "id": note,
                "type": "Note",
                "attributedTo": author,
                "content": payload.html,
                "to": [AS_PUBLIC],
                "cc": [group_uri, self._ids.group_collection(group.slug, "followers")],
                "audience": group_uri,
                "published": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "tag": [{"type": "Mention", "href": group_uri, "name": f"@{group.slug}"}],
            }
            if payload.attachments:
                obj["attachment"] = [
                    attachment_document(self._ids.base_url, a) for a in payload.attachments
                ]
            reply = await self._reply_target(payload.reply_to_message, username)
            if reply:
                obj["inReplyTo"] = reply
            activity = self._activity("Create", author, obj, payload.message_id, now)
        elif isinstance(payload, MemberEdited):
            found = await self._fed.outbox.get(self._create_id(payload.message_id))
            if found is None:
                return
            obj = {**found[0]["object"], "content": payload.html,
                   "updated": now.strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
            activity = self._activity("Update", author, obj, event.dedupe_key, now)
        else:
            activity = self._activity("Delete", author, note, event.dedupe_key, now)
        async with self._fed.transaction() as tx:
            if isinstance(payload, MemberPosted):
                await tx.outbox.add(group_id=group.id, activity=activity, object_id=note,
                                    public=True, now=now)  # fmt: skip
                await tx.bridged.bridge(
                    event_id=payload.message_id,
                    room_id=payload.conversation_id, object_id=note,
                    group_id=group.id, origin="matrix", now=now,
                )  # fmt: skip
            announce = outbound.announce(self._ids, group.slug, activity)
            await publish_to_followers(
                tx, group_id=group.id, activity=announce, object_id=note, now=now
            )
            if isinstance(payload, MemberPosted):
                await publish_to_followers(
                    tx, group_id=group.id,
                    activity=outbound.announce_object(self._ids, group.slug, note),
                    object_id=note, now=now,
                )  # fmt: skip

    def _create_id(self, message_id: str) -> str:
        return outbound.derived_id(self._ids, "person", "Create", message_id)

    def _activity(self, kind: str, actor: str, obj: Any, key: str, now: datetime) -> dict[str, Any]:
        return {
            "@context": CONTEXT,
            "id": outbound.derived_id(self._ids, "person", kind, key),
            "type": kind,
            "actor": actor,
            "object": obj,
            "to": [AS_PUBLIC],
            "published": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    async def _reply_target(self, message_id: str, username: str) -> str | None:
        if not message_id:
            return None
        found = await self._fed.bridged.object_for_event(message_id)
        return found[0] if found else None

    async def _person(self, user_id: str, name: str, now: datetime) -> str:
        existing = await self._fed.people.username_of(user_id)
        if existing is not None:
            return existing
        pair = await self._keys.new_keypair()
        return await self._fed.people.create(
            user_id=user_id, base=fold_username(user_id), display_name=name or user_id,
            public_pem=pair.public_pem, sealed_private=pair.sealed_private, now=now,
        )  # fmt: skip

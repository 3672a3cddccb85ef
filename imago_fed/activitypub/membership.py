"""The fediverse side of a group's decisions on people and content (a ``MemberNetwork``).

    admit            a pending follow request accepted (Accept); someone who
                     never followed is recorded as a member and told by a Note
                     (following the group brings them its posts)
    remove           the follower removed and told with Reject(Follow), which
                     Mastodon reads as "you no longer follow"
    publish          Create(Note) by the Group to its followers, public; the
                     Note is served at /groups/<slug>/notes/<token>
    remove_content   the group's re-shares of the post undone (Undo(Announce));
                     a Matrix member's Note (ours) deleted as well
    refuse           a reply Note to someone whose post the group will not
                     re-share, saying why (no right to post)
    member_invited   (a group event) a fediverse founder the first try could
                     not admit is admitted by the fediverse log reader, which
                     retries with its backoff until the peer answers

Ids derive from the decision (or the refused post), so a retried effect
publishes nothing twice: the outbox refuses an id it has stored.
"""

from __future__ import annotations

import hashlib
import html
from typing import Any
from urllib.parse import urlsplit

from imago_fed.activitypub import outbound
from imago_fed.activitypub.actors import ActorError, ActorResolver
from imago_fed.activitypub.documents import CONTEXT
from imago_fed.activitypub.following import Following, parse_handle
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.publish import publish, publish_to_followers
from imago_fed.activitypub.vocab import AS_PUBLIC
from imago_fed.domain.errors import Conflict, NotFound
from imago_fed.domain.events import GroupEvent, Kind, MemberInvited, handles
from imago_fed.domain.groups import Group
from imago_fed.domain.membership import Permissions, member_network
from imago_fed.domain.ports import Clock, GroupRepository
from imago_fed.domain.ports.federation import Federation

__all__ = ["FediverseMembers", "group_note_id"]


def _token(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def group_note_id(ids: Ids, slug: str, key: str) -> str:
    return f"{ids.group(slug)}/notes/{_token(slug, key)}"


def _stamp(clock: Clock) -> str:
    return clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")


class FediverseMembers:
    name = "fediverse"

    def __init__(
        self, fed: Federation, following: Following, resolver: ActorResolver, ids: Ids,
        clock: Clock, groups: GroupRepository | None = None,
    ) -> None:  # fmt: skip
        self._fed, self._following, self._resolver = fed, following, resolver
        self._ids, self._clock, self._groups = ids, clock, groups

    def recognises(self, member_id: str) -> bool:
        if member_network(member_id) != "fediverse" or self._ids.is_local(member_id):
            return False
        is_url = urlsplit(member_id).scheme in ("http", "https")
        return is_url or parse_handle(member_id) is not None

    @handles(Kind.MEMBER_INVITED)
    async def on_member_invited(self, event: GroupEvent[MemberInvited]) -> None:
        """A fediverse person to let in (a founder whose admission failed at creation).

        Raising leaves the event to the reader, which tries again later; admitting
        twice is harmless (``admit`` answers "a member already")."""
        if not self.recognises(event.data.member_id):
            return  # another network's person
        group = await self._groups.get_by_id(event.group_id) if self._groups else None
        if group is not None:
            await self.admit(group, event.data.member_id, reason=event.data.reason)

    async def resolve(self, member_id: str) -> str:
        """An actor id from ``@name@host`` or a URL."""
        return await self._following.resolve(member_id)

    async def _actor(self, member_id: str) -> Any:
        uri = await self.resolve(member_id)
        try:
            return await self._resolver.actor(uri)
        except ActorError as exc:
            raise NotFound(f"cannot reach {member_id}: {exc}") from exc

    async def admit(self, group: Group, member_id: str, *, reason: str) -> str:
        assert group.id is not None
        actor = await self._actor(member_id)
        now = self._clock.now()
        async with self._fed.transaction() as tx:
            follow_id = await tx.follows.accept_follower(group.id, actor.uri)
            if follow_id is not None:
                request = {"id": follow_id, "type": "Follow", "actor": actor.uri,
                           "object": self._ids.group(group.slug)}  # fmt: skip
                await publish(
                    tx, group_id=group.id, activity=outbound.accept(self._ids, group.slug, request),
                    inboxes=[actor.inbox], public=False, now=now,
                )  # fmt: skip
                return f"follow request of {actor.uri} accepted"
            if await tx.follows.is_follower(group.id, actor.uri):
                return f"{actor.uri} is a member already"
            admitted = outbound.derived_id(self._ids, group.slug, "admitted", actor.uri)
            await tx.follows.add_follower(group.id, actor.uri, admitted, "accepted", now)
            text = (
                f"You are now a member of {group.name} ({reason}). Follow "
                f"{self._ids.group(group.slug)} to receive its posts."
            )
            await self._tell(tx, group, actor, text, key=f"admitted|{actor.uri}|{now}")
        return f"{actor.uri} recorded as a member and told"

    async def _tell(
        self, fed: Federation, group: Group, actor: Any, text: str, *, key: str,
        in_reply_to: str | None = None,
    ) -> bool:  # fmt: skip
        """A private Note from the group to one actor (mentioned), through the outbox."""
        assert group.id is not None
        note_id = group_note_id(self._ids, group.slug, key)
        handle = html.escape(actor.preferred_username or "member")
        mention = f'<a href="{html.escape(actor.uri)}" class="u-url mention">@{handle}</a>'
        note: dict[str, Any] = {
            "id": note_id, "type": "Note", "attributedTo": self._ids.group(group.slug),
            "content": f"<p>{mention} {html.escape(text)}</p>", "to": [actor.uri],
            "tag": [{"type": "Mention", "href": actor.uri}], "published": _stamp(self._clock),
        }  # fmt: skip
        if in_reply_to:
            note["inReplyTo"] = in_reply_to
        activity = {
            "@context": CONTEXT, "id": outbound.derived_id(self._ids, group.slug, "tell", key),
            "type": "Create", "actor": self._ids.group(group.slug), "to": [actor.uri],
            "object": note,
        }  # fmt: skip
        return await publish(
            fed, group_id=group.id, activity=activity, inboxes=[actor.inbox],
            object_id=note_id, public=False, now=self._clock.now(),
        )  # fmt: skip

    async def refuse(self, group: Group, actor_uri: str, post_id: str, reason: str) -> bool:
        """Reply to a post the group will not re-share, saying why (once per post)."""
        actor = await self._resolver.actor(actor_uri)
        text = f"{group.name} did not share your post: {reason}."
        return await self._tell(
            self._fed, group, actor, text, key=f"refused|{post_id}", in_reply_to=post_id
        )

    async def remove(self, group: Group, member_id: str, *, reason: str) -> str:
        assert group.id is not None
        uri = await self.resolve(member_id)
        try:
            await self._following.answer_follower(group, uri, accept=False)
        except Conflict:
            raise Conflict(f"{uri} is not a follower of {group.slug}") from None
        return f"follower {uri} removed and told (Reject)"

    async def publish(self, group: Group, key: str, text: str) -> str:
        assert group.id is not None
        note_id = group_note_id(self._ids, group.slug, key)
        group_uri = self._ids.group(group.slug)
        followers = self._ids.group_collection(group.slug, "followers")
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip())
        note = {
            "id": note_id, "type": "Note", "attributedTo": group_uri, "content": paragraphs,
            "to": [AS_PUBLIC], "cc": [followers], "audience": group_uri,
            "published": _stamp(self._clock),
        }  # fmt: skip
        activity = {
            "@context": CONTEXT, "id": outbound.derived_id(self._ids, group.slug, "publish", key),
            "type": "Create", "actor": group_uri, "audience": group_uri,
            "to": [AS_PUBLIC], "cc": [followers], "object": note,
        }  # fmt: skip
        fresh = await publish_to_followers(
            self._fed, group_id=group.id, activity=activity, object_id=note_id,
            now=self._clock.now(),
        )  # fmt: skip
        return f"Note {note_id} {'sent' if fresh else 'already sent'} to the followers"

    async def remove_content(self, group: Group, ref: str, *, reason: str) -> str | None:
        assert group.id is not None
        object_id = ref
        if ref.startswith("$"):  # a Matrix event: its fediverse copy, if it was bridged
            found = await self._fed.bridged.object_for_event(ref)
            if found is None:
                return None
            object_id = found[0]
        announces = await self._fed.outbox.announces(group.id, object_id)
        if not announces:
            return None
        now = self._clock.now()
        followers = self._ids.group_collection(group.slug, "followers")
        for announce in announces:
            undo = outbound.undo(self._ids, group.slug, announce, AS_PUBLIC)
            undo["cc"] = [followers]
            await publish_to_followers(
                self._fed, group_id=group.id, activity=undo, object_id=object_id, now=now
            )
            inner = announce.get("object")
            created = inner if isinstance(inner, dict) else None
            if (
                created
                and created.get("type") == "Create"
                and self._ids.is_local(str(created.get("actor", "")))
            ):  # a Matrix member's Note, ours to delete
                delete = {
                    "@context": CONTEXT, "type": "Delete", "actor": created["actor"],
                    "id": outbound.derived_id(self._ids, "person", "Delete", object_id),
                    "object": object_id, "to": [AS_PUBLIC],
                }  # fmt: skip
                await publish_to_followers(
                    self._fed, group_id=group.id,
                    activity=outbound.announce(self._ids, group.slug, delete),
                    object_id=object_id, now=now,
                )  # fmt: skip
        return f"the group's re-shares of {object_id} withdrawn (Undo)"

    async def apply_permissions(self, group: Group, permissions: Permissions) -> str | None:
        return None  # enforced as posts arrive (processing.py asks the rights)

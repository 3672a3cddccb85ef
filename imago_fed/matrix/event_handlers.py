"""The group -> Matrix direction: one small handler per kind of group event.

    post_shared / post_edited / post_removed  the author's puppet says, edits,
                                              redacts it in the general room (its
                                              pictures follow the text: media.py)
    proposal_opened / proposal_closed         a poll (or, for a secret ballot,
                                              a notice) in the decisions room
    group_changed                             rooms made if missing; space renamed;
                                              the group's avatar on every room
    moderators_changed                        power levels follow, in every room
    member_invited                            invited into the space and its rooms
    group_deleted                             every room told, unlinked, closed

Each send carries a transaction id derived from the event's dedupe key, and
the maps (bridged messages, polls) are checked first, so handling an event
twice (a crash before the cursor moved) sends nothing twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imago_fed.domain.events import (
    GroupChanged,
    GroupDeleted,
    GroupEvent,
    Kind,
    MemberInvited,
    ModeratorsChanged,
    PostEdited,
    PostRemoved,
    PostShared,
    ProposalClosed,
    ProposalOpened,
    handles,
)
from imago_fed.domain.groups import Group
from imago_fed.domain.media import MAX_ATTACHMENTS
from imago_fed.matrix import outbound, polls
from imago_fed.matrix.client import path
from imago_fed.matrix.ids import transaction_id
from imago_fed.matrix.media import attachment_object_id, send_attachments
from imago_fed.matrix.membership import MatrixMembers
from imago_fed.matrix.rooms import sync_power_levels, update_space_profile

if TYPE_CHECKING:
    from imago_fed.matrix.bridge import MatrixBridge

__all__ = ["GroupEventsToMatrix"]

SECRET_BALLOT_OPENED = (
    "Secret ballot {id}: {title}. Vote with the credential you received: "
    "imago-fed ballot --election <url> --credential <file>"
)


class GroupEventsToMatrix:
    def __init__(self, bridge: MatrixBridge) -> None:
        self._bridge = bridge
        self._client, self._store = bridge.client, bridge.store

    async def _rooms(self, event: GroupEvent[Any]) -> tuple[Group, dict[str, str]] | None:
        """The live group and its rooms (made now if missing); None once deleted."""
        group = await self._bridge.groups.get_by_id(event.group_id)
        if group is None:
            return None
        return group, await self._bridge.rooms(group)

    # ----------------------------------------------------------- the group
    @handles(Kind.GROUP_CHANGED)
    async def _group_changed(self, event: GroupEvent[GroupChanged]) -> None:
        if found := await self._rooms(event):
            await update_space_profile(self._client, found[1], found[0])
            if self._bridge.media is not None:  # the avatar may be what changed
                await self._bridge.media.set_room_avatars(event.group_id, found[1])

    @handles(Kind.MODERATORS_CHANGED)
    async def _moderators_changed(self, event: GroupEvent[ModeratorsChanged]) -> None:
        if not (found := await self._rooms(event)):
            return
        ids = self._bridge.ids
        moderators = [m for m in await self._bridge.reads.moderators(event.group_id)
                      if not ids.is_ours(m) and m.startswith("@")]  # fmt: skip
        for room_id in found[1].values():
            await sync_power_levels(self._client, room_id, moderators)

    @handles(Kind.MEMBER_INVITED)
    async def _member_invited(self, event: GroupEvent[MemberInvited]) -> None:
        """A Matrix person to let in (a founder the first try could not invite)."""
        group = await self._bridge.groups.get_by_id(event.group_id)
        members = MatrixMembers(self._bridge)
        if group is not None and members.recognises(event.data.member_id):
            await members.admit(group, event.data.member_id, reason=event.data.reason)

    @handles(Kind.GROUP_DELETED)
    async def _group_deleted(self, event: GroupEvent[GroupDeleted]) -> None:
        """Say so in each room, unlink the rooms, close them to joins."""
        rooms = await self._store.rooms_of(event.group_id)
        space = rooms.get("space")
        text = f"The group {event.data.name} was deleted: this room is closed."
        for kind, room_id in rooms.items():
            await self._client.send_message(
                room_id, transaction_id(event.dedupe_key, room_id), outbound.notice(text)
            )
            if space and kind != "space":
                await self._client.send_state(space, "m.space.child", room_id, {})
            await self._client.send_state(room_id, "m.room.join_rules", "", {"join_rule": "invite"})

    # ----------------------------------------------------------- proposals
    @handles(Kind.PROPOSAL_OPENED)
    async def _proposal_opened(self, event: GroupEvent[ProposalOpened]) -> None:
        if not (found := await self._rooms(event)):
            return
        decisions, proposal, txn = (
            found[1]["decisions"],
            event.data,
            transaction_id(event.dedupe_key),
        )
        if proposal.secret:  # cast with credentials, not in a poll
            text = SECRET_BALLOT_OPENED.format(id=proposal.proposal_id, title=proposal.title)
            await self._client.send_message(decisions, txn, outbound.notice(text))
        elif await self._store.poll_of_proposal(proposal.proposal_id) is None:
            event_id = await self._client.send_message(
                decisions, txn, polls.poll_start(proposal), event_type=polls.START
            )
            await self._store.save_poll(proposal.proposal_id, decisions, event_id)

    @handles(Kind.PROPOSAL_CLOSED)
    async def _proposal_closed(self, event: GroupEvent[ProposalClosed]) -> None:
        if not (found := await self._rooms(event)):
            return
        proposal, txn = event.data, transaction_id(event.dedupe_key)
        if proposal.secret:
            text = proposal.result_text or f"{proposal.title}: {proposal.state}"
            await self._client.send_message(found[1]["decisions"], txn, outbound.notice(text))
            return
        poll = await self._store.poll_of_proposal(proposal.proposal_id)
        if poll is not None and await self._store.end_poll(proposal.proposal_id):
            end = polls.poll_end(poll.event_id, proposal.result_text)
            await self._client.send_message(poll.room_id, txn, end, event_type=polls.END)

    # ------------------------------------------------ posts from the fediverse
    @handles(Kind.POST_SHARED)
    async def _post_shared(self, event: GroupEvent[PostShared]) -> None:
        if not (found := await self._rooms(event)):
            return
        group, general, post = found[0], found[1]["general"], event.data
        if not await self._store.event_for_object(post.object_id, general):
            puppet = await self._bridge.puppet(
                post.author_id, post.author_name, general, avatar_url=post.author_avatar
            )
            reply_to = None
            if post.in_reply_to:
                reply_to = await self._store.event_for_object(post.in_reply_to, general)
            event_id = await self._client.send_message(
                general, transaction_id(event.dedupe_key),
                outbound.post_content(post, reply_to_event=reply_to), as_user=puppet,
            )  # fmt: skip
            await self._store.bridge(
                event_id=event_id, room_id=general, object_id=post.object_id,
                group_id=group.id or 0, origin="fediverse", now=self._bridge.clock.now(),
            )  # fmt: skip
        if post.attachments and self._bridge.media is not None:
            await send_attachments(self._bridge, event, general, group.id or 0)

    @handles(Kind.POST_EDITED)
    async def _post_edited(self, event: GroupEvent[PostEdited]) -> None:
        if not (found := await self._rooms(event)):
            return
        general, post = found[1]["general"], event.data
        original = await self._store.event_for_object(post.object_id, general)
        if original is not None:
            await self._client.send_message(
                general, transaction_id(event.dedupe_key), outbound.edit_content(original, post),
                as_user=self._bridge.ids.puppet(post.author_id),
            )  # fmt: skip

    @handles(Kind.POST_REMOVED)
    async def _post_removed(self, event: GroupEvent[PostRemoved]) -> None:
        if not (found := await self._rooms(event)):
            return
        general, post = found[1]["general"], event.data
        puppet = self._bridge.ids.puppet(post.author_id)
        # the text, then each file that followed it (media.py names them)
        files = [attachment_object_id(post.object_id, i) for i in range(MAX_ATTACHMENTS)]
        keys = [post.object_id, *files]
        for index, key in enumerate(keys):
            original = await self._store.event_for_object(key, general)
            if original is None:
                continue
            txn = transaction_id(event.dedupe_key, *([str(index)] if index else []))
            await self._client.request(
                "PUT", f"v3/rooms/{path(general)}/redact/{path(original)}/{path(txn)}",
                {"reason": "deleted by its author"}, as_user=puppet,
            )  # fmt: skip

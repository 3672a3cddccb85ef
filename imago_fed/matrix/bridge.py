"""The Matrix side of the bridge: one adapter, two inputs.

    homeserver ─transactions─> BridgeInbox ─(per room, in order)─> classify
        joined/left    -> group membership
        posted/edited/redacted (general) -> group event for the other networks
                       (a file is kept in the media store first: media.py)
        !imago ...     -> answered by the bot (commands.py);  m.room.encryption -> bridging stops
    group_events (from the fediverse, governance, the directory) ─> ``handlers``
        -> one handler per kind (event_handlers.py), e.g. the author's puppet
           says a shared post in the group's general room

Everything it sends carries a transaction id derived from what it answers,
so a retry after a crash is deduplicated by the homeserver itself; and the
maps (``domain/ports/bridge.py``) make a second send a no-op on our side.
The workers that drive ``startup``, ``run_events_once`` and a log reader
over ``handlers`` are wired in ``app.py``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from imago_fed.domain.events import (
    EventHandlers,
    GroupEvent,
    MemberEdited,
    MemberPosted,
    MemberRemoved,
)
from imago_fed.domain.groups import Group
from imago_fed.domain.media import Attachment, MediaRefused
from imago_fed.domain.ports import Clock, GroupEventLog, GroupRepository
from imago_fed.domain.ports.bridge import BridgeInbox, BridgeStore
from imago_fed.domain.ports.federation_reads import FederationReads
from imago_fed.matrix import outbound, polls
from imago_fed.matrix.assemblies import AssemblyRooms, assembly_of_kind
from imago_fed.matrix.client import AppserviceClient, MatrixError, path
from imago_fed.matrix.commands import BotCommands, StatusSources
from imago_fed.matrix.event_handlers import GroupEventsToMatrix
from imago_fed.matrix.feed_rooms import FeedRooms
from imago_fed.matrix.graph_rooms import GraphEventsToMatrix
from imago_fed.matrix.ids import MatrixIds, transaction_id
from imago_fed.matrix.inbound import Meaning, classify
from imago_fed.matrix.media import MatrixMedia
from imago_fed.matrix.resource_rooms import ResourceRooms
from imago_fed.matrix.rooms import ensure_group_rooms
from imago_fed.services.assemblies import Assemblies
from imago_fed.services.personal_feeds import PersonalFeeds

__all__ = ["SOURCE", "MatrixBridge"]

log = logging.getLogger(__name__)
SOURCE = "matrix"
ENCRYPTED_NOTICE = (
    "This room is now encrypted: the bridge cannot read it, so bridging with the "
    "fediverse stops for this room."
)


class MatrixBridge:
    def __init__(
        self,
        client: AppserviceClient,
        ids: MatrixIds,
        groups: GroupRepository,
        clock: Clock,
        *,
        store: BridgeStore,
        inbox: BridgeInbox,
        events: GroupEventLog,
        reads: FederationReads,
        appservice_id: str,
        handle_domain: str,
        governance: Any = None,
        assemblies: Assemblies | None = None,
        call_domain: str = "meet.jit.si",
        admins: frozenset[str] = frozenset(),
        media: MatrixMedia | None = None,
    ) -> None:
        self.client, self.ids, self.groups, self.clock = client, ids, groups, clock
        self.store, self.inbox, self.events, self.reads = store, inbox, events, reads
        self._appservice_id = appservice_id
        self._governance = governance  # proposals: polls, votes
        self._assemblies = assemblies
        self.media = media  # files both ways (media.py); None: text only
        self._commands = BotCommands(
            ids, store, reads, handle_domain=handle_domain, governance=governance,
            admins=admins, assemblies=assemblies,
        )  # fmt: skip
        #: What this adapter does with each kind of group event.
        self.handlers = EventHandlers.of(
            GroupEventsToMatrix(self),
            GraphEventsToMatrix(self),
            AssemblyRooms(self, call_domain),
            ResourceRooms(self),
        )
        self._in_room: set[tuple[str, str]] = set()  # (room, puppet) known to be joined
        self._room_locks: dict[int, asyncio.Lock] = {}

    def attach(
        self,
        *,
        propagation: Any = None,
        status: StatusSources | None = None,
        feeds: PersonalFeeds | None = None,
    ) -> None:
        """What the bot also answers with, wired once those services exist (the status
        board probes the homeserver through this bridge's client, hence later)."""
        rooms = None
        if feeds is not None:
            rooms = FeedRooms(self, feeds)
            self.handlers.register(rooms)  # items into the feeds they match
        self._commands.attach(propagation=propagation, status=status, feeds=rooms)

    def attach_resources(self, resources: Any) -> None:
        """Offers, needs and agreements for the bot's commands (wired in app.py)."""
        self._commands.resources = resources

    def attach_membership(self, membership: Any) -> None:
        """Invitations, the roster and rights for the bot's commands (wired in app.py)."""
        self._commands.membership = membership

    # ---------------------------------------------------------- lifecycle
    async def startup(self) -> None:
        """Ping the homeserver (it then retries pending transactions at once) and
        make sure every group has its rooms; a homeserver still starting is waited
        for (this step raises, so its worker tries again after a pause)."""
        result = await self.client.ping(self._appservice_id)
        log.info("homeserver ping", extra={"duration_ms": result.get("duration_ms")})
        await self.ensure_all_rooms()

    async def ensure_all_rooms(self) -> None:
        after = None
        while page := await self.groups.list(limit=100, after=after):
            for group in page:
                try:
                    await self.rooms(group)
                except (MatrixError, OSError) as exc:
                    log.warning(
                        "cannot set up rooms", extra={"group": group.slug, "error": str(exc)}
                    )
            after = page[-1].slug

    async def rooms(self, group: Group) -> dict[str, str]:
        """The group's rooms, made once even when several tasks ask at the same time
        (another process racing us is handled by alias uniqueness: we adopt its room)."""
        assert group.id is not None
        lock = self._room_locks.setdefault(group.id, asyncio.Lock())
        async with lock:
            return await ensure_group_rooms(
                self.client, self.store, self.ids, group, self.clock.now()
            )

    # ------------------------------------------- homeserver -> the group
    async def run_events_once(self) -> int:
        queued = await self.inbox.claim(limit=20, lease=timedelta(minutes=2), now=self.clock.now())
        for row in queued:
            try:
                outcome = await self.handle_event(row.event)
            except (MatrixError, OSError, TimeoutError) as exc:
                await self.inbox.retry(row, str(exc), self.clock.now())
                continue
            except Exception as exc:  # one bad event never stops the others
                log.exception("matrix event failed", extra={"event": row.event.get("event_id")})
                await self.inbox.retry(row, f"{type(exc).__name__}: {exc}", self.clock.now())
                continue
            state = "done" if outcome == "done" else "ignored"
            await self.inbox.finish(row.id, state, None if state == "done" else outcome)
        return len(queued)

    async def handle_event(self, event: dict[str, Any]) -> str:
        """Do what a homeserver event means; "done", or why nothing was done."""
        found = await self.store.room(str(event.get("room_id")))
        if found is None:
            return await self._elsewhere(event)
        group = await self.groups.get_by_id(found.group_id)
        if group is None:
            return "group deleted"
        meaning = classify(event, room_kind=found.kind, ids=self.ids)
        room_id = str(event["room_id"])
        now = self.clock.now()
        if meaning.kind == "ignored":
            return meaning.reason
        if meaning.kind == "encrypted":
            if await self.store.mark_encrypted(room_id):
                await self._notice(room_id, ENCRYPTED_NOTICE)
            return "done"
        if meaning.kind in ("joined", "left"):
            joined = meaning.kind == "joined"
            await self.store.set_member(found.group_id, meaning.sender, joined, now)
            return "done"
        if meaning.kind == "knocked":  # waits for a moderator (admin API: members/accept)
            await self.store.set_member(found.group_id, meaning.sender, True, now, state="knocked")
            return "done"
        if meaning.kind == "attended":
            assembly_id = assembly_of_kind(found.kind)
            if self._assemblies is None or assembly_id is None:
                return "no assembly here"
            await self._assemblies.attend(assembly_id, meaning.sender)
            return "done"
        if meaning.kind == "command":
            answer = await self._commands.answer(
                group, meaning.sender, meaning.text, room_kind=found.kind
            )
            await self._notice(room_id, answer)
            return "done"
        if meaning.kind == "poll_response":
            return await self._poll_response(event, meaning)
        if found.encrypted:
            return "room is encrypted"
        return await self._record_member_event(group, room_id, event, meaning)

    async def _elsewhere(self, event: dict[str, Any]) -> str:
        """A room of no group (a feed room, the bot's direct room): only the
        commands that need no group are answered there."""
        meaning = classify(event, room_kind="other", ids=self.ids)
        if meaning.kind != "command":
            return "not one of our rooms"
        answer = await self._commands.answer_anywhere(meaning.sender, meaning.text)
        if answer is None:
            return "command needs a group's room"
        await self._notice(str(event["room_id"]), answer)
        return "done"

    async def _record_member_event(
        self, group: Group, room_id: str, event: dict[str, Any], meaning: Meaning
    ) -> str:
        assert group.id is not None
        event_id = str(event["event_id"])
        data: MemberPosted | MemberEdited | MemberRemoved
        if meaning.kind == "posted":
            attachments: tuple[Attachment, ...] = ()
            if meaning.media is not None:
                if self.media is None:
                    return "files are not bridged by this process"
                try:
                    attachments = (await self.media.receive(*meaning.media),)
                except MediaRefused as exc:  # logged by the library
                    return f"file refused: {exc.message}"
            if self.media is not None:  # their picture, for their fediverse Person
                await self.media.remember_avatar(meaning.sender)
            data = MemberPosted(
                member_id=meaning.sender, message_id=event_id, conversation_id=room_id,
                member_name=await self._display_name(meaning.sender),
                text=meaning.text, html=meaning.html, reply_to_message=meaning.target_event,
                attachments=attachments,
            )  # fmt: skip
        elif meaning.kind in ("edited", "redacted"):
            original = await self.store.object_for_event(meaning.target_event)
            if original is None or original[1] != "matrix":
                return "edit or redaction of a message that was not bridged from Matrix"
            if meaning.kind == "edited":
                data = MemberEdited(
                    meaning.sender, meaning.target_event, meaning.text, meaning.html
                )
            else:
                data = MemberRemoved(meaning.sender, meaning.target_event)
        else:  # pragma: no cover - classify returns no other kinds
            return f"unexpected {meaning.kind}"
        key = f"matrix|{meaning.kind}|{event_id}"
        await self.events.record(GroupEvent(group.id, SOURCE, key, data))
        return "done"

    async def _poll_response(self, event: dict[str, Any], meaning: Meaning) -> str:
        proposal_id = await self.store.proposal_of_poll(meaning.target_event)
        if proposal_id is None or self._governance is None:
            return "response to no poll of ours"
        proposal = await self._governance.get(proposal_id)
        content = event.get("content")
        indexes = polls.answer_indexes(
            content if isinstance(content, dict) else {}, len(proposal.options)
        )
        if indexes == ():
            return "an empty response (no vote)"
        ballot = indexes if indexes is not None else (-1,)  # spoiled: logged, not counted
        outcome = await self._governance.vote(proposal_id, meaning.sender, ballot, network="matrix")
        return "done" if outcome == "counted" else f"not counted: {outcome}"

    async def _display_name(self, user_id: str) -> str:
        try:
            profile = await self.client.request("GET", f"v3/profile/{path(user_id)}/displayname")
        except MatrixError:
            return user_id
        return str(profile.get("displayname") or user_id)

    async def _notice(self, room_id: str, text: str) -> None:
        txn = transaction_id("notice", room_id, text, str(self.clock.now()))
        await self.client.send_message(room_id, txn, outbound.notice(text))

    # ------------------------------------------------------- shared steps
    async def admit(self, group: Group, user_id: str) -> None:
        """Let a knocking Matrix user in: the bot invites them to the space."""
        assert group.id is not None
        rooms = await self.rooms(group)
        await self.client.invite(rooms["space"], user_id)
        await self.store.set_member(group.id, user_id, True, self.clock.now(), state="invited")

    async def puppet(
        self, actor_uri: str, display_name: str, room_id: str, *, avatar_url: str = ""
    ) -> str:
        """The actor's virtual user, registered, named (with its picture), and in the room."""
        user_id = self.ids.puppet(actor_uri)
        if not await self.store.puppet_registered(user_id):
            await self.client.register_puppet(self.ids.puppet_localpart(actor_uri))
            await self.client.set_displayname(user_id, display_name[:200])
            if avatar_url and self.media is not None:
                await self.media.set_avatar(user_id, avatar_url)
            await self.store.save_puppet(user_id, actor_uri, display_name, self.clock.now())
        if (room_id, user_id) not in self._in_room:
            await self.client.invite(room_id, user_id)
            await self.client.join(room_id, as_user=user_id)
            self._in_room.add((room_id, user_id))
        return user_id

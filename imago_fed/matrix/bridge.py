"""The Matrix side of the bridge: one worker, two inputs.

    homeserver ─transactions─> matrix_events ─(per room, in order)─> classify
        joined/left    -> group membership
        posted/edited/redacted (general) -> group event for the other networks
        !imago ...     -> answered by the bot;  m.room.encryption -> bridging stops
    group_events (from the fediverse) ─> post_shared/edited/removed
        -> the author's puppet says it in the group's general room

Everything it sends carries a transaction id derived from what it answers,
so a retry after a crash is deduplicated by the homeserver itself; and the
mapping table (bridged_messages) makes a second send a no-op on our side.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import timedelta
from typing import Any

import asyncpg

from imago_fed.domain.errors import DomainError
from imago_fed.domain.events import GroupEvent, Kind
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.delegation import Delegation
from imago_fed.domain.governance.proposals import ballot_from_numbers
from imago_fed.domain.groups import Group
from imago_fed.domain.ports import Clock, GroupRepository
from imago_fed.matrix import outbound, polls
from imago_fed.matrix.client import AppserviceClient, MatrixError, path
from imago_fed.matrix.ids import MatrixIds
from imago_fed.matrix.inbound import Meaning, classify
from imago_fed.matrix.rooms import ensure_group_rooms, sync_power_levels, update_space_profile
from imago_fed.services.worker import Worker
from imago_fed.store import follows, group_events, moderation
from imago_fed.store import matrix as store
from imago_fed.store.group_events import GroupEventReader
from imago_fed.store.notify import Wakeup

__all__ = ["SOURCE", "MatrixBridge"]

log = logging.getLogger(__name__)
SOURCE = "matrix"
HELP = (
    "Imago bridges this group between Matrix and the fediverse.\n"
    "!imago help: this message\n"
    "!imago info: the group's handle, followers and members\n"
    "!imago table: how this group decides each kind of action\n"
    "!imago proposals: the open proposals\n"
    "!imago propose <action> <title>: open a proposal (actions: see !imago table)\n"
    "!imago vote <proposal> <numbers>: vote (option numbers, or grades/ranks)\n"
    "!imago delegate <@user:server | group:slug> [scope]: delegate your vote\n"
    "!imago revoke [scope]: take your delegation back\n"
    "!imago link <fediverse actor URL>: the same person on both sides votes once\n"
    "   (then post '!link @you:server' to the group from that fediverse account)"
)


GOVERNANCE_VERBS = ("vote", "table", "proposals", "propose", "delegate", "revoke", "link")
ENCRYPTED_NOTICE = (
    "This room is now encrypted: the bridge cannot read it, so bridging with the "
    "fediverse stops for this room."
)


def _txn(*parts: str) -> str:
    return "imago-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


class MatrixBridge:
    def __init__(
        self,
        pool: asyncpg.Pool,
        client: AppserviceClient,
        ids: MatrixIds,
        groups: GroupRepository,
        clock: Clock,
        *,
        appservice_id: str,
        handle_domain: str,
        governance: Any = None,
        poll_interval: float = 2.0,
    ) -> None:
        self.pool, self.client, self.ids, self.groups, self.clock = (
            pool, client, ids, groups, clock,
        )  # fmt: skip
        self._appservice_id = appservice_id
        self._handle_domain = handle_domain
        self._governance = governance  # proposals: polls, votes
        self.reader = GroupEventReader(pool, "matrix", SOURCE, self.on_group_event)
        self._in_room: set[tuple[str, str]] = set()  # (room, puppet) known to be joined
        self._room_locks: dict[int, asyncio.Lock] = {}
        #: The background work, started in this order and drained in reverse:
        #: the warm-up (ping, rooms; retried while the homeserver starts, then
        #: done), the homeserver's events, and the group event log.
        self.workers = [
            Worker(
                "matrix-startup", self._startup, once=True, poll_interval=1.0,
                backoff_cap=30.0, max_failures=60, drain_timeout=0.0,
            ),
            Worker(
                "matrix-events", self.run_events_once, Wakeup(pool, store.CHANNEL),
                poll_interval=poll_interval,
            ),
            Worker(
                "events-matrix", self.reader.run_once, Wakeup(pool, group_events.CHANNEL),
                poll_interval=poll_interval,
            ),
        ]  # fmt: skip

    # ---------------------------------------------------------- lifecycle
    async def _startup(self) -> None:
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
                self.client, self.pool, self.ids, group, self.clock.now()
            )

    # ------------------------------------------- homeserver -> the group
    async def run_events_once(self) -> int:
        rows = await store.claim_events(
            self.pool, limit=20, lease=timedelta(minutes=2), now=self.clock.now()
        )
        for row in rows:
            try:
                outcome = await self.handle_event(row.event)
            except (MatrixError, OSError, TimeoutError) as exc:
                await store.retry_event(self.pool, row, str(exc), self.clock.now())
                continue
            except Exception as exc:  # one bad event never stops the others
                log.exception("matrix event failed", extra={"event": row.event.get("event_id")})
                await store.retry_event(
                    self.pool, row, f"{type(exc).__name__}: {exc}", self.clock.now()
                )
                continue
            state = "done" if outcome == "done" else "ignored"
            await store.finish_event(self.pool, row.id, state, None if state == "done" else outcome)
        return len(rows)

    async def handle_event(self, event: dict[str, Any]) -> str:
        found = await store.room(self.pool, str(event.get("room_id")))
        if found is None:
            return "not one of our rooms"
        group_id, room_kind, encrypted = found
        group = await self.groups.get_by_id(group_id)
        if group is None:
            return "group deleted"
        meaning = classify(event, room_kind=room_kind, ids=self.ids)
        room_id = str(event["room_id"])
        now = self.clock.now()
        if meaning.kind == "ignored":
            return meaning.reason
        if meaning.kind == "encrypted":
            if await store.mark_encrypted(self.pool, room_id):
                await self._notice(room_id, ENCRYPTED_NOTICE)
            return "done"
        if meaning.kind in ("joined", "left"):
            await store.set_member(
                self.pool, group_id, meaning.sender, meaning.kind == "joined", now
            )
            return "done"
        if meaning.kind == "knocked":  # waits for a moderator (admin API: members/accept)
            await store.set_member(self.pool, group_id, meaning.sender, True, now, state="knocked")
            return "done"
        if meaning.kind == "command":
            await self._command(group, room_id, meaning)
            return "done"
        if meaning.kind == "poll_response":
            return await self._poll_response(event, meaning)
        if encrypted:
            return "room is encrypted"
        return await self._record_member_event(group, room_id, event, meaning)

    async def _record_member_event(
        self, group: Group, room_id: str, event: dict[str, Any], meaning: Meaning
    ) -> str:
        assert group.id is not None
        event_id = str(event["event_id"])
        if meaning.kind == "posted":
            kind, key = Kind.MEMBER_POSTED, f"matrix|posted|{event_id}"
            payload = {
                "member_id": meaning.sender,
                "member_name": await self._display_name(meaning.sender),
                "text": meaning.text,
                "html": meaning.html,
                "message_id": event_id,
                "conversation_id": room_id,
                "reply_to_message": meaning.target_event,
            }
        elif meaning.kind in ("edited", "redacted"):
            original = await store.object_for_event(self.pool, meaning.target_event)
            if original is None or original[1] != "matrix":
                return "edit or redaction of a message that was not bridged from Matrix"
            kind = Kind.MEMBER_EDITED if meaning.kind == "edited" else Kind.MEMBER_REMOVED
            key = f"matrix|{meaning.kind}|{event_id}"
            payload = {"member_id": meaning.sender, "message_id": meaning.target_event,
                       "text": meaning.text, "html": meaning.html}  # fmt: skip
        else:  # pragma: no cover - classify returns no other kinds
            return f"unexpected {meaning.kind}"
        event_obj = GroupEvent(group.id, kind, SOURCE, key, payload)
        await group_events.record(self.pool, event_obj, self.clock.now())
        return "done"

    async def _poll_response(self, event: dict[str, Any], meaning: Meaning) -> str:
        proposal_id = await store.proposal_of_poll(self.pool, meaning.target_event)
        if proposal_id is None or self._governance is None:
            return "response to no poll of ours"
        proposal = await self._governance.get(proposal_id)
        content = event.get("content") if isinstance(event.get("content"), dict) else {}
        indexes = polls.answer_indexes(content, len(proposal.options))
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

    async def _command(self, group: Group, room_id: str, meaning: Meaning) -> None:
        words = meaning.text.split()
        verb = words[1] if len(words) > 1 else "help"
        if verb in GOVERNANCE_VERBS and self._governance is not None:
            try:
                text = await self._governance_command(
                    group, meaning.sender, verb, words[2:], meaning.text
                )
            except DomainError as exc:
                text = f"{meaning.sender}: {exc.message}"
        elif verb == "info":
            assert group.id is not None
            followers = await follows.count_followers(self.pool, group.id)
            members = len(await store.members(self.pool, group.id))
            text = (
                f"{group.name}: @{group.slug}@{self._handle_domain} in the fediverse, "
                f"{self.ids.space_alias(group.slug)} in Matrix. "
                f"{followers} fediverse followers, {members} Matrix members."
            )
        else:
            text = HELP
        await self._notice(room_id, text)

    async def _governance_command(
        self, group: Group, sender: str, verb: str, args: list[str], text: str
    ) -> str:
        assert group.id is not None and self._governance is not None
        if verb == "vote":
            return await self._vote_command(sender, args)
        if verb == "table":
            table = await self._governance.table(group.id)
            return "\n".join(f"{k}: {v['protocol']}" for k, v in table.to_dict().items())
        if verb == "proposals":
            found = await self._governance.open_proposals(group.id)
            lines = [
                f"{p.id}. {p.title} ({p.action.value}, until {p.closes_at:%Y-%m-%d %H:%M} UTC)"
                for p in found
            ]
            return "\n".join(lines) or "No open proposal."
        if verb == "propose":
            if len(args) < 2:
                return "usage: !imago propose <action> <title>"
            try:
                action = ActionKind(args[0])
            except ValueError:
                return f"unknown action {args[0]!r}; see !imago table"
            title = text.split(None, 3)[3] if len(text.split(None, 3)) > 3 else ""
            proposal = await self._governance.propose(
                group.id, action=action, title=title, author=sender
            )
            return f"Proposal {proposal.id} is {proposal.state}: {proposal.title}"
        if verb == "link":
            if not args or not args[0].startswith(("https://", "http://")):
                return "usage: !imago link <your fediverse actor URL>"
            return await self._governance.claim_identity("matrix", sender, args[0])
        if verb == "delegate":
            if not args:
                return "usage: !imago delegate <@user:server | group:slug> [scope]"
            scope = args[1] if len(args) > 1 else "*"
            await self._governance.delegate(group.id, Delegation(sender, args[0], scope))
            return f"{sender}: your vote ({scope}) now follows {args[0]}."
        await self._governance.revoke(group.id, sender, args[0] if args else "*")
        return f"{sender}: delegation revoked."

    async def _vote_command(self, sender: str, args: list[str]) -> str:
        """``!imago vote <proposal> <numbers>``: option numbers (1-based), or for
        Majority Judgment / Schulze one grade or rank per option."""
        if not args or not all(a.isdigit() for a in args):
            return "usage: !imago vote <proposal number> <numbers...>"
        proposal = await self._governance.get(int(args[0]))
        ballot = ballot_from_numbers(proposal, [int(a) for a in args[1:]])
        outcome = await self._governance.vote(proposal.id, sender, ballot, network="matrix")
        if outcome == "counted":
            return f"{sender}: your vote on proposal {proposal.id} is counted."
        return f"{sender}: your vote on proposal {proposal.id} was not counted: {outcome}."

    async def _notice(self, room_id: str, text: str) -> None:
        txn = _txn("notice", room_id, text, str(self.clock.now()))
        await self.client.send_message(room_id, txn, outbound.notice(text))

    # --------------------------------------------- the group -> Matrix
    async def on_group_event(self, event: GroupEvent) -> None:
        if event.kind == Kind.GROUP_DELETED:
            await self._close_rooms(event)
            return
        group = await self.groups.get_by_id(event.group_id)
        if group is None:
            return
        rooms = await self.rooms(group)
        general = rooms["general"]
        payload = event.payload
        if event.kind == Kind.GROUP_CHANGED:
            await update_space_profile(self.client, rooms, group)
        elif event.kind == Kind.MODERATORS_CHANGED:
            moderators = [m for m in await moderation.moderators(self.pool, group.id or 0)
                          if not self.ids.is_ours(m) and m.startswith("@")]  # fmt: skip
            for room_id in rooms.values():
                await sync_power_levels(self.client, room_id, moderators)
        elif event.kind == Kind.PROPOSAL_CLOSED and payload.get("secret"):
            text = payload["result_text"] or f"{payload['title']}: {payload['state']}"
            await self.client.send_message(
                rooms["decisions"], _txn(event.dedupe_key), outbound.notice(text)
            )
        elif event.kind == Kind.PROPOSAL_OPENED and payload.get("secret"):
            text = (
                f"Secret ballot {payload['proposal_id']}: {payload['title']}. Vote with the "
                "credential you received: imago-fed ballot --election <url> --credential <file>"
            )
            await self.client.send_message(
                rooms["decisions"], _txn(event.dedupe_key), outbound.notice(text)
            )
        elif event.kind == Kind.PROPOSAL_OPENED:
            if await store.poll_of_proposal(self.pool, payload["proposal_id"]) is None:
                event_id = await self.client.send_message(
                    rooms["decisions"], _txn(event.dedupe_key), polls.poll_start(payload),
                    event_type=polls.START,
                )  # fmt: skip
                await store.save_poll(
                    self.pool, payload["proposal_id"], rooms["decisions"], event_id
                )
        elif event.kind == Kind.PROPOSAL_CLOSED:
            poll = await store.poll_of_proposal(self.pool, payload["proposal_id"])
            if poll is not None and await store.end_poll(self.pool, payload["proposal_id"]):
                room_id, start_event, _ = poll
                end = polls.poll_end(start_event, payload["result_text"])
                await self.client.send_message(
                    room_id, _txn(event.dedupe_key), end, event_type=polls.END
                )
        elif event.kind == Kind.POST_SHARED:
            if await store.event_for_object(self.pool, payload["object_id"], general):
                return  # already in the room
            puppet = await self._puppet(payload["author_id"], payload["author_name"], general)
            reply_to = None
            if payload.get("in_reply_to"):
                reply_to = await store.event_for_object(self.pool, payload["in_reply_to"], general)
            content = outbound.post_content(payload, reply_to_event=reply_to)
            event_id = await self.client.send_message(
                general, _txn(event.dedupe_key), content, as_user=puppet
            )
            await store.bridge(
                self.pool, event_id=event_id, room_id=general, object_id=payload["object_id"],
                group_id=group.id or 0, origin="fediverse", now=self.clock.now(),
            )  # fmt: skip
        elif event.kind in (Kind.POST_EDITED, Kind.POST_REMOVED):
            original = await store.event_for_object(self.pool, payload["object_id"], general)
            if original is None:
                return
            puppet = self.ids.puppet(payload["author_id"])
            if event.kind == Kind.POST_EDITED:
                await self.client.send_message(
                    general, _txn(event.dedupe_key), outbound.edit_content(original, payload),
                    as_user=puppet,
                )  # fmt: skip
            else:
                await self.client.request(
                    "PUT",
                    f"v3/rooms/{path(general)}/redact/{path(original)}/{path(_txn(event.dedupe_key))}",
                    {"reason": "deleted by its author"},
                    as_user=puppet,
                )

    async def _close_rooms(self, event: GroupEvent) -> None:
        """A deleted group: say so in each room, unlink the rooms, close them to joins."""
        rooms = await store.rooms_of(self.pool, event.group_id)
        space = rooms.get("space")
        text = f"The group {event.payload.get('name', '')} was deleted: this room is closed."
        for kind, room_id in rooms.items():
            await self.client.send_message(
                room_id, _txn(event.dedupe_key, room_id), outbound.notice(text)
            )
            if space and kind != "space":
                await self.client.send_state(space, "m.space.child", room_id, {})
            await self.client.send_state(room_id, "m.room.join_rules", "", {"join_rule": "invite"})

    async def admit(self, group: Group, user_id: str) -> None:
        """Let a knocking Matrix user in: the bot invites them to the space."""
        assert group.id is not None
        rooms = await self.rooms(group)
        await self.client.invite(rooms["space"], user_id)
        await store.set_member(
            self.pool, group.id, user_id, True, self.clock.now(), state="invited"
        )

    async def _puppet(self, actor_uri: str, display_name: str, room_id: str) -> str:
        """The actor's virtual user, registered, named, and in the room."""
        user_id = self.ids.puppet(actor_uri)
        if not await store.puppet_registered(self.pool, user_id):
            await self.client.register_puppet(self.ids.puppet_localpart(actor_uri))
            await self.client.set_displayname(user_id, display_name[:200])
            await store.save_puppet(self.pool, user_id, actor_uri, display_name, self.clock.now())
        if (room_id, user_id) not in self._in_room:
            await self.client.invite(room_id, user_id)
            await self.client.join(room_id, as_user=user_id)
            self._in_room.add((room_id, user_id))
        return user_id

"""Processing stored inbound activities: the FEP-1b12 group behaviour.

One handler per activity type. A handler decides from the activity and the
database, then emits through :mod:`.publish`; it never talks HTTP itself
(fetching a missing actor goes through the resolver). The worker claims rows
from ``inbox_activities`` (see :mod:`imago_fed.store.inbox` for their life).

    Follow   -> follower (pending or accepted) -> Accept      (to the follower)
    Undo     -> unfollow / unblock / forwarded undo
    Accept   -> our group's Follow of another group is accepted
    Create   -> follower posts to the group -> Announce(activity) + Announce(object id)
    Update, Delete, Like of a re-shared post -> Announce(activity) to followers
    Flag     -> a report for moderators;  Block -> we stop delivering to them
    Offer(Relationship), answers and Undo of it, Announce with a propagation
             -> the graph intake (activitypub/relations.py), asked first
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from imago_fed.activitypub import outbound
from imago_fed.activitypub.actors import ActorError, ActorResolver
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.media import read_attachments
from imago_fed.activitypub.publish import publish
from imago_fed.activitypub.vocab import addressees, as_list, id_of
from imago_fed.domain.errors import DomainError
from imago_fed.domain.events import GroupEvent, PostEdited, PostRemoved, PostShared
from imago_fed.domain.groups import Group
from imago_fed.domain.membership import Right
from imago_fed.domain.ports import Clock, GroupRepository
from imago_fed.domain.ports.federation import Federation, InboxRow, RemoteActor, Share
from imago_fed.domain.posting import refusal_to_forward, refusal_to_reshare
from imago_fed.services.worker import Wakeup, Worker

__all__ = ["InboxProcessor"]

log = logging.getLogger(__name__)
_INVITATION_CODE = re.compile(r"(?:invitation|invite|code|join)\W+([A-Za-z0-9_-]{8,64})", re.I)
SOURCE = "activitypub"  # our name in the group event log
Handler = Callable[["InboxProcessor", Federation, InboxRow], Awaitable[str]]
HANDLERS: dict[str, Handler] = {}
Outcome = tuple[int, str, str | None]  # row id, state, error: recorded at the end of a batch
#: The row a lane is handling: what it re-shares is published with the batch's.
_ROW: ContextVar[InboxRow | None] = ContextVar("inbox_row", default=None)


def handles(*kinds: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for kind in kinds:
            HANDLERS[kind] = handler
        return handler

    return register


class InboxProcessor:
    """Claims queued inbound activities and applies them, in arrival order."""

    def __init__(
        self,
        fed: Federation,
        wakeup: Wakeup,
        resolver: ActorResolver,
        groups: GroupRepository,
        ids: Ids,
        clock: Clock,
        *,
        poll_interval: float = 2.0,
        batch: int = 250,  # per batch: a claim, a share, a finish, reads per group and author
        concurrency: int = 4,
        lease: timedelta = timedelta(minutes=5),
        votes: Callable[..., Awaitable[str | None]] | None = None,
        graph: Callable[[dict[str, Any], str], Awaitable[str | None]] | None = None,
        membership: Any = None,
        refuse: Callable[[Group, str, str, str], Awaitable[bool]] | None = None,
    ) -> None:
        self.fed, self.resolver, self.groups, self.ids, self.clock = (
            fed, resolver, groups, ids, clock,
        )  # fmt: skip
        self._batch, self._lease, self._concurrency = batch, lease, concurrency
        self.votes = votes  # fediverse votes on our questions go to governance
        self.graph = graph  # relations and propagated items (activitypub/relations.py) first
        self.membership = membership  # rights (who may post), invitations in follow requests
        self.refuse = refuse  # a reply saying why a post was not re-shared
        #: What the rows of one batch read alike (see ``run_once``).
        self._memo: dict[tuple[str, Any], Any] = {}
        self._generation = 0  # how many times a row made the batch forget
        #: Re-shares of the batch not yet published, with their rows (``share``).
        self._pending: list[tuple[InboxRow, Share]] = []
        self._publishing = asyncio.Lock()
        #: The background loop: a NOTIFY from the inbox (or the poll) wakes it.
        self.worker = Worker(
            "inbox-processor",
            self.run_once,
            wakeup,
            poll_interval=poll_interval,
        )

    # ------------------------------------------------------------- a step
    async def run_once(self) -> int:
        """Process one batch of due activities; return how many were claimed.

        The worker's step: claim (lease) -> handler -> done | ignored | retry.
        A batch is split into lanes, one per sending actor, each in arrival
        order (an actor's Follow before its Undo, its post before its edit);
        up to ``concurrency`` lanes run at once. A row's work is a series of
        round trips to the database (each statement, or one transaction, on a
        connection it gives back before the next), so lanes overlap their
        waits instead of queueing them: one at a time, a busy inbox outran
        the processor. A stop that cuts the batch short gives the rows not
        finished back at once (a killed process leaves them to their lease).

        What the rows of a batch read alike is read once for the batch: a
        group by its slug or id, its rights table, its followers' inboxes, an
        author's cached actor (``_memo``). A row that changes any of these
        (a follow, an unfollow, a block, a vote or a graph activity) forgets
        them, so the rows after it read them again; rows of other lanes may
        run before or after it, as they may without the memo.
        """
        now = self.clock.now()
        self._memo, self._pending = {}, []
        rows = await self.fed.inbox.claim(limit=self._batch, lease=self._lease, now=now)
        left = {row.id for row in rows}
        lanes: dict[str, list[InboxRow]] = {}
        for row in rows:
            lanes.setdefault(row.actor_uri, []).append(row)
        turns = asyncio.Semaphore(self._concurrency)

        finished: dict[int, Outcome] = {}  # recorded together, at the end

        async def lane(queue: list[InboxRow]) -> None:
            async with turns:
                for row in queue:
                    if not _plain_post(row.activity):  # it may read what was re-shared
                        await self._publish(finished, left)
                    _ROW.set(row)
                    outcome = await self._process(row)
                    if outcome is not None:
                        finished[row.id] = outcome
                    left.discard(row.id)

        try:
            async with asyncio.TaskGroup() as group:  # one failing cancels the others
                for queue in lanes.values():
                    group.create_task(lane(queue))
            await self._publish(finished, left)
        except ExceptionGroup as failed:  # the worker logs and backs off on the first
            raise failed.exceptions[0] from None
        finally:
            for row, _ in self._pending:  # not published (a stop, a failure): not finished
                finished.pop(row.id, None)
                left.add(row.id)
            self._pending = []
            try:
                # One statement for the batch. Rows whose outcome is lost (the
                # database away now) are done again when their lease runs out:
                # what they published is stored once (outbox and event keys).
                if finished:
                    await self.fed.inbox.finish_many(list(finished.values()))
                    done = sum(1 for _, state, _ in finished.values() if state == "done")
                    log.info(
                        "inbox batch processed",
                        extra={"claimed": len(rows), "done": done,
                               "ignored": len(finished) - done},
                    )  # fmt: skip
            finally:
                if left:
                    try:
                        await self.fed.inbox.release(sorted(left))
                    except Exception:  # the database is away: the lease runs out on its own
                        log.warning("giving %d claimed activities back failed", len(left))
        return len(rows)

    async def _process(self, row: InboxRow) -> tuple[int, str, str | None] | None:
        """Handle one row; its outcome to record (row id, state, error), or None when
        it was put back for a later try."""
        kind = str(row.activity.get("type"))
        handler = HANDLERS.get(kind)
        fed = self.fed  # each call its own statement; publishing opens its own transaction
        try:
            outcome = await self.graph(row.activity, row.actor_uri) if self.graph else None
            if outcome is not None:
                self.forget()
            else:
                outcome = await handler(self, fed, row) if handler else "ignored"
        except ActorError as exc:
            log.info("activity deferred", extra={"activity": row.activity["id"], "error": str(exc)})
            await fed.inbox.retry_later(row, str(exc), self.clock.now())
            return None
        except Exception as exc:
            log.exception("activity processing failed", extra={"activity": row.activity["id"]})
            await fed.inbox.retry_later(row, f"{type(exc).__name__}: {exc}", self.clock.now())
            return None
        # Per row at debug: under load the line cost as much as a tenth of the
        # processing; the batch's line (``run_once``) says what was done at info.
        log.debug(
            "activity processed",
            extra={"type": kind, "activity": row.activity["id"], "outcome": outcome},
        )
        if outcome == "done":
            return row.id, "done", None
        return row.id, "ignored", outcome

    # ------------------------------------------------------------ publishing
    async def share(self, share: Share) -> None:
        """Re-share: published with the batch's other re-shares (``_publish``),
        before the row's outcome is recorded; outside a batch, at once."""
        row = _ROW.get()
        if row is None:
            await self.fed.share([share], now=self.clock.now())
        else:
            self._pending.append((row, share))

    async def _publish(self, finished: dict[int, Outcome], left: set[int]) -> None:
        """Publish the re-shares waiting, in one statement for all of them.

        Called before a row that may read what was re-shared (anything but a
        new post: an edit, a like, a reply) and at the end of the batch. When
        the statement fails (one share's group deleted meanwhile fails them
        all), each is published alone, and a row whose share fails goes back
        with a later try instead of its outcome, as when it failed in its
        handler. A stop meanwhile leaves them all waiting: their rows are given
        back, and what was published is stored once when they come again.
        """
        async with self._publishing:  # a lane's edit waits for its post's share
            pending, self._pending = self._pending, []
            if not pending:
                return
            try:
                await self.fed.share([share for _, share in pending], now=self.clock.now())
                return
            except Exception:
                log.warning("re-sharing %d posts at once failed; each alone", len(pending))
            except BaseException:
                self._pending[:0] = pending
                raise
            failed: dict[int, tuple[InboxRow, str]] = {}
            try:
                for row, share in pending:
                    if row.id in failed:
                        continue
                    try:
                        await self.fed.share([share], now=self.clock.now())
                    except Exception as exc:
                        log.exception("re-sharing failed", extra={"activity": row.activity["id"]})
                        failed[row.id] = (row, f"{type(exc).__name__}: {exc}")
            except BaseException:
                self._pending[:0] = pending
                raise
            for row_id in failed:  # given back if even the later try cannot be recorded
                finished.pop(row_id, None)
                left.add(row_id)
            for row, error in failed.values():
                await self.fed.inbox.retry_later(row, error, self.clock.now())
                left.discard(row.id)

    # ------------------------------------------------------------ helpers
    async def _remembered(self, key: tuple[str, Any], read: Callable[[], Awaitable[Any]]) -> Any:
        """``read()``, once per batch (until ``forget``). A read that was under
        way when another lane forgot is used once and not kept: it may be from
        before that lane's change."""
        if key in self._memo:
            return self._memo[key]
        generation = self._generation
        value = await read()
        if generation == self._generation:
            self._memo[key] = value
        return value

    def forget(self) -> None:
        """A row changed followers, blocks, rights or groups: read them again."""
        self._memo.clear()
        self._generation += 1

    async def group(self, slug: str) -> Group | None:
        group: Group | None = await self._remembered(("group", slug), lambda: self.groups.get(slug))
        return group

    async def group_by_id(self, group_id: int) -> Group | None:
        group: Group | None = await self._remembered(
            ("group id", group_id), lambda: self.groups.get_by_id(group_id)
        )
        return group

    async def follower_inboxes(self, group_id: int) -> list[str]:
        inboxes: list[str] = await self._remembered(
            ("inboxes", group_id),
            lambda: self.fed.follows.follower_delivery_inboxes(group_id, exclude=None),
        )
        return inboxes

    async def author(self, uri: str) -> RemoteActor:
        """The actor as cached (fetched when missing): kept for the batch, where
        it read the database again for each of its posts."""
        actor: RemoteActor = await self._remembered(
            ("actor", uri), lambda: self.resolver.actor(uri)
        )
        return actor

    async def local_group(self, uri: str | None) -> Group | None:
        slug = self.ids.parse_group(uri) if uri else None
        return await self.group(slug) if slug else None

    async def addressed_groups(self, *documents: dict[str, Any]) -> list[Group]:
        """Our groups among the addressees (a group's followers count as the group).

        A post names its group several times (the activity's ``to``, the
        note's ``to`` and ``audience``): each is read once.
        """
        slugs: dict[str, None] = {}  # in order of appearance, once each
        for document in documents:
            for uri in addressees(document):
                slug = self.ids.parse_group(uri.removesuffix("/followers"))
                if slug:
                    slugs.setdefault(slug)
        found = [await self.group(slug) for slug in slugs]
        return list({group.slug: group for group in found if group is not None}.values())

    async def blocked(self, fed: Federation, group: Group, actor_uri: str) -> bool:
        host = urlsplit(actor_uri).hostname or ""
        return await fed.moderation.is_blocked(group.id, actor_uri, host)

    async def standing(self, fed: Federation, group: Group, actor_uri: str) -> tuple[bool, bool]:
        """(an accepted follower of the group, blocked), in one read, kept for the
        batch: an actor's posts in a batch are in its lane, one after the other,
        and a row that follows, unfollows or blocks makes the batch forget it."""
        group_id = group.id
        assert group_id is not None
        host = urlsplit(actor_uri).hostname or ""
        standing: tuple[bool, bool] = await self._remembered(
            ("standing", (group_id, actor_uri)), lambda: fed.standing(group_id, actor_uri, host)
        )
        return standing


# ------------------------------------------------------------------ handlers
@handles("Follow")
async def _follow(p: InboxProcessor, fed: Federation, row: InboxRow) -> str:
    group = await p.local_group(id_of(row.activity.get("object")))
    if group is None or group.id is None:
        return "not a follow of one of our groups"
    follower = await p.resolver.actor(row.actor_uri)
    now = p.clock.now()
    if await p.blocked(fed, group, row.actor_uri):
        await publish(
            fed, group_id=group.id, activity=outbound.reject(p.ids, group.slug, row.activity),
            inboxes=[follower.inbox], public=False, now=now,
        )  # fmt: skip
        return "done"
    state = "pending" if group.manually_approves_followers else "accepted"
    await fed.follows.add_follower(group.id, row.actor_uri, row.activity["id"], state, now)
    p.forget()  # the group's followers changed
    code = _INVITATION_CODE.search(str(row.activity.get("content") or ""))
    if state == "pending" and code and p.membership is not None:
        try:  # an invitation in the follow request: admitted (or put to the members)
            await p.membership.redeem(code.group(1), row.actor_uri)
        except DomainError as exc:
            return f"follow request pending: invitation refused: {exc.message}"
        return "done"
    if state == "accepted":
        await publish(
            fed, group_id=group.id, activity=outbound.accept(p.ids, group.slug, row.activity),
            inboxes=[follower.inbox], public=False, now=now,
        )  # fmt: skip
    return "done"


@handles("Accept", "Reject")
async def _answer(p: InboxProcessor, fed: Federation, row: InboxRow) -> str:
    follow_id = id_of(row.activity.get("object"))
    if not follow_id:
        return "answer names no activity"
    state = "accepted" if row.activity["type"] == "Accept" else "rejected"
    if await fed.follows.set_following_state(follow_id, row.actor_uri, state):
        return "done"
    return "answer to no follow of ours"


@handles("Undo")
async def _undo(p: InboxProcessor, fed: Federation, row: InboxRow) -> str:
    inner = row.activity.get("object")
    inner_type = inner.get("type") if isinstance(inner, dict) else None
    if isinstance(inner, dict) and id_of(inner.get("actor")) not in (None, row.actor_uri):
        return "undo of someone else's activity"
    if inner_type == "Follow" or inner_type is None:
        group = await p.local_group(id_of(inner.get("object")) if isinstance(inner, dict) else None)
        if group is not None and group.id is not None:
            await fed.follows.remove_follower(group.id, row.actor_uri)
            p.forget()
            return "done"
        if inner_type == "Follow":
            return "unfollow of no group of ours"
    if isinstance(inner, dict) and inner_type == "Block":
        group = await p.local_group(id_of(inner.get("object")))
        if group is not None and group.id is not None:
            await fed.moderation.set_blocked_by(group.id, row.actor_uri, False, p.clock.now())
            p.forget()
            return "done"
    if isinstance(inner, dict) and inner_type in ("Like", "Announce", "EmojiReact"):
        return await _forward(p, fed, row, id_of(inner.get("object")))
    return "undo of nothing we know"


@handles("Create")
async def _create(p: InboxProcessor, fed: Federation, row: InboxRow) -> str:
    note = row.activity.get("object")
    if not isinstance(note, dict) or not id_of(note):
        return "create without an embedded object"
    if id_of(note.get("attributedTo")) not in (None, row.actor_uri):
        return "object not attributed to the actor"
    targets = await p.addressed_groups(row.activity, note)
    if p.votes is not None:  # a vote on a question, or "!propose ..." to a group
        outcome = await p.votes(row.actor_uri, note, targets[0] if targets else None)
        if outcome is not None:
            p.forget()  # a proposal, a member admitted, rights changed
            return "done" if outcome == "counted" else f"not counted: {outcome}"
    reply_to = id_of(note.get("inReplyTo"))
    if reply_to:  # replies to what a group re-shared thread into that group
        for group_id in await fed.outbox.groups_that_announced(reply_to):
            if all(g.id != group_id for g in targets):
                targets += [g for g in [await p.group_by_id(group_id)] if g]
    outcome = "addressed to none of our groups"
    for group in targets:
        assert group.id is not None
        audience = id_of(note.get("audience"))
        if audience and audience != p.ids.group(group.slug):
            outcome = "posted to another group's audience"
            continue
        is_follower, blocked = await p.standing(fed, group, row.actor_uri)
        refusal = refusal_to_reshare(
            policy=group.posting_policy, is_follower=is_follower, author_blocked=blocked
        )
        if refusal is None:
            refusal = await _no_right_to_post(p, group, row.actor_uri)
        if refusal:
            outcome = refusal
            if p.refuse is not None and refusal != "author blocked" and note.get("id"):
                await p.refuse(group, row.actor_uri, str(note["id"]), refusal)
            continue
        await _announce(p, fed, group, row.activity, id_of(note))
        outcome = "done"
    return outcome


async def _no_right_to_post(p: InboxProcessor, group: Group, actor_uri: str) -> str | None:
    """The group's rights (control table) beyond the posting policy: a group that
    lets only moderators post refuses everyone else; "anyone" in the policy opens
    what the rights leave to members."""
    if p.membership is None or group.id is None:
        return None
    group_id = group.id
    permissions = await p._remembered(
        ("permissions", group_id), lambda: p.membership.permissions(group_id)
    )
    level = permissions.level(Right.POST)
    if level == "anyone" or (level == "members" and group.posting_policy == "anyone"):
        return None
    return await p.membership.may(group.id, actor_uri, Right.POST)


async def _announce(
    p: InboxProcessor, fed: Federation, group: Group, activity: dict[str, Any],
    object_id: str | None,
) -> None:  # fmt: skip
    """Re-share: the Announces (of the activity, and of a created object), their
    deliveries to the followers' inboxes and the group event, in one step
    (``Federation.share``: one statement for the batch's), so a crash leaves
    all or none."""
    assert group.id is not None
    announces = [(outbound.announce(p.ids, group.slug, activity), object_id)]
    if object_id and activity.get("type") == "Create":
        announces.append((outbound.announce_object(p.ids, group.slug, object_id), object_id))
    inboxes = await p.follower_inboxes(group.id)
    event = await _group_event(p, group, activity, object_id)
    await p.share(Share(group.id, announces, inboxes, event))


async def _group_event(
    p: InboxProcessor, group: Group, activity: dict[str, Any], object_id: str | None
) -> GroupEvent | None:
    """What the re-shared activity means to the group, for the other networks."""
    assert group.id is not None
    kind = activity.get("type")
    author = id_of(activity.get("actor")) or ""
    obj = activity.get("object")
    if not object_id:
        return None
    key = f"{group.id}|{kind}|{activity['id']}"
    if kind == "Create" and isinstance(obj, dict):
        actor = await p.author(author)
        return GroupEvent(
            group_id=group.id, source=SOURCE, dedupe_key=key,
            data=PostShared(
                object_id=object_id,
                url=id_of(obj.get("url")) or object_id,
                author_id=author,
                author_name=actor.name or actor.preferred_username or author,
                content_html=_text(obj.get("content")),
                in_reply_to=id_of(obj.get("inReplyTo")) or "",
                attachments=read_attachments(obj),
                author_avatar=actor.icon,
            ),
        )  # fmt: skip
    if kind == "Update" and isinstance(obj, dict):
        edited = PostEdited(object_id, author, _text(obj.get("content")))
        return GroupEvent(group.id, SOURCE, key, edited)
    if kind == "Delete":
        return GroupEvent(group.id, SOURCE, key, PostRemoved(object_id, author))
    return None


def _plain_post(activity: dict[str, Any]) -> bool:
    """A new post that answers nothing: handling it reads nothing re-shared
    before it, so what the rows before it re-shared may still be waiting."""
    note = activity.get("object")
    return activity.get("type") == "Create" and isinstance(note, dict) and not note.get("inReplyTo")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@handles("Update", "Delete", "Like", "EmojiReact", "Dislike")
async def _update_delete_like(p: InboxProcessor, fed: Federation, row: InboxRow) -> str:
    target = id_of(row.activity.get("object"))
    if row.activity["type"] == "Delete" and target == row.actor_uri:
        await fed.follows.remove_follower_everywhere(row.actor_uri)
        p.forget()
        return "done"
    if row.activity["type"] == "Update" and target == row.actor_uri:
        # The actor changed (name, key, a group's place or themes): fetch it
        # again from its server rather than trust the copy inside the activity.
        await p.resolver.actor(row.actor_uri, refresh=True)
        p.forget()  # its name and inbox as fetched now
        return "done"
    return await _forward(p, fed, row, target)


async def _forward(p: InboxProcessor, fed: Federation, row: InboxRow, target: str | None) -> str:
    """Re-share an activity about a post a group announced, to that group's followers."""
    if not target:
        return "no object"
    outcome = "about nothing our groups re-shared"
    edits = row.activity["type"] in ("Update", "Delete")
    for group_id in await fed.outbox.groups_that_announced(target):
        group = await p.group_by_id(group_id)
        if group is None:
            continue
        is_author = await fed.outbox.announced_author(group_id, target) == row.actor_uri
        is_follower, blocked = await p.standing(fed, group, row.actor_uri)
        refusal = refusal_to_forward(
            edits=edits, is_author=is_author, policy=group.posting_policy,
            is_follower=is_follower, actor_blocked=blocked,
        )  # fmt: skip
        if refusal:
            outcome = refusal
            continue
        await _announce(p, fed, group, row.activity, target)
        outcome = "done"
    return outcome


@handles("Announce")
async def _announce_in(p: InboxProcessor, fed: Federation, row: InboxRow) -> str:
    # A group we follow re-shared something: it is recorded (the row itself);
    # propagation to our own followers is a decision, made by a later feature.
    if await fed.follows.is_followed(row.actor_uri):
        return "done"
    return "announce from an actor none of our groups follows"


@handles("Flag")
async def _flag(p: InboxProcessor, fed: Federation, row: InboxRow) -> str:
    objects = [o for o in (id_of(item) for item in as_list(row.activity.get("object"))) if o]
    group = None
    for uri in objects:
        group = await p.local_group(uri)
        if group is not None:
            break
    content = row.activity.get("content")
    await fed.moderation.add_report(
        group_id=group.id if group else row.group_id, reporter=row.actor_uri,
        activity=row.activity, content=content if isinstance(content, str) else "",
        objects=objects, now=p.clock.now(),
    )  # fmt: skip
    return "done"


@handles("Block")
async def _block(p: InboxProcessor, fed: Federation, row: InboxRow) -> str:
    group = await p.local_group(id_of(row.activity.get("object")))
    if group is None or group.id is None:
        return "block of no group of ours"
    await fed.moderation.set_blocked_by(group.id, row.actor_uri, True, p.clock.now())
    await fed.follows.remove_follower(group.id, row.actor_uri)
    p.forget()
    return "done"

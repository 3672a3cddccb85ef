"""In-memory fakes of the federation ports (``domain/ports/federation.py``, ``delivery.py``).

What they are for: running the ActivityPub adapter's use cases (inbox
processing, following, publishing) in milliseconds, with no database and no
network. :class:`MemoryFederation` bundles them like ``PgFederation``;
its ``transaction()`` restores every repository's state when the block
raises, which is all the atomicity a use-case test can observe. What they are
not: a second implementation of the SQL's concurrency guarantees (leases,
``SKIP LOCKED``, host limits are the real store's tests' business).
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from imago_fed.domain.groups import KeyPair
from imago_fed.domain.lifecycle import FOLLOWER, FOLLOWING, INBOUND_ACTIVITY
from imago_fed.domain.ports.delivery import Claimed
from imago_fed.domain.ports.federation import Admission, InboxRow, RemoteActor, Share
from imago_fed.domain.ports.groups import KeyPairFactory
from tests.fakes.governance import MemoryEventLog

__all__ = [
    "MemoryBridgedMessages",
    "MemoryDeliveries",
    "MemoryFederation",
    "MemoryFederationModeration",
    "MemoryFollows",
    "MemoryInbox",
    "MemoryLocalPeople",
    "MemoryOutbox",
    "MemoryPeerHealth",
    "MemoryRemoteActors",
    "MemorySigningKeys",
]

Row = dict[str, Any]


@dataclass
class MemoryInbox:
    """Queued activities by row id; claims lease in id order, as the real queue does."""

    rows: dict[int, Row] = field(default_factory=dict)
    #: The instance's blocks, as ``MemoryFederationModeration`` keeps them (``admit``).
    blocks: set[tuple[int | None, str, str]] = field(default_factory=set)
    #: The groups that exist, for ``admit``; None: every group id exists.
    groups: set[int] | None = None

    async def admit(
        self,
        *,
        activity: dict[str, Any],
        actor_uri: str,
        host: str,
        group_id: int | None,
        now: datetime,
    ) -> Admission:
        for group, kind, value in self.blocks:
            if group is None and (
                (kind == "actor" and value == actor_uri)
                or (kind == "domain" and (host == value or host.endswith("." + value)))
            ):
                return "blocked"
        if group_id is not None and self.groups is not None and group_id not in self.groups:
            return "no group"
        stored = await self.store(activity=activity, actor_uri=actor_uri, group_id=group_id,
                                  now=now)  # fmt: skip
        return "stored" if stored else "duplicate"

    async def store(
        self, *, activity: dict[str, Any], actor_uri: str, group_id: int | None, now: datetime
    ) -> bool:
        if any(r["activity"]["id"] == activity["id"] for r in self.rows.values()):
            return False
        row_id = len(self.rows) + 1  # rows are never deleted
        self.rows[row_id] = {"activity": activity, "actor_uri": actor_uri, "group_id": group_id,
                             "state": "queued", "attempts": 0, "next_attempt": now,
                             "error": None}  # fmt: skip
        return True

    async def claim(self, *, limit: int, lease: timedelta, now: datetime) -> list[InboxRow]:
        claimed: list[InboxRow] = []
        for row_id, row in sorted(self.rows.items()):
            if len(claimed) == limit:
                break
            if row["state"] == "queued" and row["next_attempt"] <= now:
                row["attempts"] += 1
                row["next_attempt"] = now + lease  # the lease keeps others off
                claimed.append(InboxRow(row_id, row["activity"], row["actor_uri"],
                                        row["group_id"], row["attempts"]))  # fmt: skip
        return claimed

    async def finish(self, row_id: int, state: str, error: str | None = None) -> None:
        row = self.rows[row_id]
        if row["state"] in INBOUND_ACTIVITY.sources(state):
            row["state"], row["error"] = state, error

    async def finish_many(self, outcomes: list[tuple[int, str, str | None]]) -> None:
        for row_id, state, error in outcomes:
            await self.finish(row_id, state, error)

    async def retry_later(self, row: InboxRow, error: str, now: datetime) -> None:
        stored = self.rows[row.id]
        stored["error"] = error
        stored["next_attempt"] = now + timedelta(seconds=5 * 2 ** (row.attempts - 1))

    async def release(self, row_ids: list[int]) -> None:
        for row_id in row_ids:
            if self.rows[row_id]["state"] == "queued":
                self.rows[row_id]["next_attempt"] = datetime.min.replace(tzinfo=UTC)

    def state_of(self, activity_id: str) -> tuple[str, str | None]:
        row = next(r for r in self.rows.values() if r["activity"]["id"] == activity_id)
        return row["state"], row["error"]


@dataclass
class MemoryRemoteActors:
    actors: dict[str, RemoteActor] = field(default_factory=dict)

    def add(self, actor: RemoteActor) -> None:
        self.actors[actor.uri] = actor

    async def get_by_uri(self, uri: str) -> RemoteActor | None:
        return self.actors.get(uri)

    async def get_by_key_id(self, key_id: str) -> RemoteActor | None:
        return next((a for a in self.actors.values() if a.key_id == key_id), None)

    async def upsert(self, actor: RemoteActor, document: dict[str, Any]) -> None:
        self.actors[actor.uri] = actor


@dataclass
class MemoryFollows:
    """Followers and followings as ``{(group id, actor): (follow id, state)}``."""

    followers: dict[tuple[int, str], tuple[str, str]] = field(default_factory=dict)
    following: dict[tuple[int, str], tuple[str, str]] = field(default_factory=dict)
    actors: MemoryRemoteActors | None = None  # for the delivery inboxes
    blocked_by: set[tuple[int, str]] = field(default_factory=set)

    async def add_follower(
        self, group_id: int, actor_uri: str, follow_id: str, state: str, now: datetime
    ) -> None:
        FOLLOWER.check_entry(state)
        previous = self.followers.get((group_id, actor_uri))
        kept = "accepted" if previous and previous[1] == "accepted" else state
        self.followers[(group_id, actor_uri)] = (follow_id, kept)

    async def accept_follower(self, group_id: int, actor_uri: str) -> str | None:
        found = self.followers.get((group_id, actor_uri))
        if found is None or found[1] not in FOLLOWER.sources("accepted"):
            return None
        self.followers[(group_id, actor_uri)] = (found[0], "accepted")
        return found[0]

    async def remove_follower(self, group_id: int, actor_uri: str) -> str | None:
        found = self.followers.pop((group_id, actor_uri), None)
        return found[0] if found else None

    async def remove_follower_everywhere(self, actor_uri: str) -> None:
        for key in [k for k in self.followers if k[1] == actor_uri]:
            del self.followers[key]

    async def is_follower(self, group_id: int, actor_uri: str) -> bool:
        found = self.followers.get((group_id, actor_uri))
        return found is not None and found[1] == "accepted"

    async def follower_delivery_inboxes(self, group_id: int, *, exclude: str | None) -> list[str]:
        inboxes = set()
        for (group, actor), (_, state) in self.followers.items():
            if group != group_id or state != "accepted" or actor == exclude:
                continue
            if (group, actor) in self.blocked_by:
                continue
            known = self.actors.actors.get(actor) if self.actors else None
            if known is not None:  # a join with the actor cache, as in SQL
                inboxes.add(known.delivery_inbox)
        return sorted(inboxes)

    async def set_following(
        self, group_id: int, target_uri: str, follow_id: str, now: datetime
    ) -> None:
        self.following[(group_id, target_uri)] = (follow_id, "requested")

    async def set_following_state(self, follow_id: str, actor_uri: str, state: str) -> bool:
        allowed = FOLLOWING.sources(state)
        for key, (fid, current) in self.following.items():
            if fid == follow_id and key[1] == actor_uri and current in allowed:
                self.following[key] = (fid, state)
                return True
        return False

    async def remove_following(self, group_id: int, target_uri: str) -> str | None:
        found = self.following.pop((group_id, target_uri), None)
        return found[0] if found else None

    async def is_followed(self, target_uri: str) -> bool:
        return any(k[1] == target_uri and s == "accepted" for k, (_, s) in self.following.items())


@dataclass
class MemoryOutbox:
    """Published activities in order: ``(group id, activity, object id, public)``."""

    items: list[tuple[int, dict[str, Any], str | None, bool]] = field(default_factory=list)

    async def add(
        self,
        *,
        group_id: int,
        activity: dict[str, Any],
        object_id: str | None,
        public: bool,
        now: datetime,
    ) -> bool:
        if any(a["id"] == activity["id"] for _, a, _, _ in self.items):
            return False
        self.items.append((group_id, activity, object_id, public))
        return True

    async def get(self, activity_id: str) -> tuple[dict[str, Any], bool] | None:
        return next(((a, p) for _, a, _, p in self.items if a["id"] == activity_id), None)

    async def groups_that_announced(self, object_id: str) -> list[int]:
        return sorted(
            {g for g, a, o, _ in self.items if o == object_id and a["type"] == "Announce"}
        )

    async def announced_author(self, group_id: int, object_id: str) -> str | None:
        for g, a, o, _ in self.items:
            if (g, o) == (group_id, object_id) and a["type"] == "Announce":
                inner = a.get("object")
                if isinstance(inner, dict):
                    return inner.get("actor")
        return None

    async def announces(self, group_id: int, object_id: str) -> list[dict[str, Any]]:
        return [a for g, a, o, _ in self.items
                if (g, o) == (group_id, object_id) and a["type"] == "Announce"]  # fmt: skip

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [a for _, a, _, _ in self.items if a["type"] == kind]


@dataclass
class MemoryDeliveries:
    """Queued deliveries: ``{(activity id, inbox): state}``; leases are not modelled."""

    rows: dict[tuple[str, str], str] = field(default_factory=dict)
    bodies: dict[str, str] = field(default_factory=dict)

    async def enqueue(
        self,
        *,
        activity_id: str,
        group_id: int | None,
        body: bytes | str,
        inboxes: Iterable[str],
    ) -> int:
        new = 0
        for inbox in inboxes:
            if not inbox.lower().startswith(("https://", "http://")):
                continue  # skipped, as the real queue skips what is not an http(s) URL
            if (activity_id, inbox) not in self.rows:
                self.rows[(activity_id, inbox)] = "queued"
                new += 1
        self.bodies[activity_id] = body.decode() if isinstance(body, bytes) else body
        return new

    async def claim(
        self,
        *,
        limit: int,
        per_host: int,
        probe_interval: timedelta,
        lease: timedelta,
        hosts: int | None = None,
    ) -> list[Claimed]:
        raise NotImplementedError("leases are the real queue's tests' business")

    async def seconds_until_next_due(self) -> float | None:
        return None

    async def mark_delivered(self, delivery_id: int, status: int | None) -> None:
        raise NotImplementedError

    async def mark_delivered_many(self, delivered: list[tuple[int, int | None]]) -> None:
        raise NotImplementedError

    async def schedule_retry(
        self, claimed: Claimed, delay: timedelta, status: int | None, error: str
    ) -> None:
        raise NotImplementedError

    async def mark_dead(self, claimed: Claimed, status: int | None, error: str) -> None:
        raise NotImplementedError

    async def postpone(self, claimed: list[Claimed], delay: timedelta) -> None:
        raise NotImplementedError

    async def release(self, delivery_ids: list[int]) -> None:
        return None

    def inboxes(self, activity_id: str) -> list[str]:
        return sorted(inbox for a, inbox in self.rows if a == activity_id)


@dataclass
class MemoryPeerHealth:
    failures: dict[str, int] = field(default_factory=dict)

    async def record_failure(self, host: str, *, after_days: int) -> bool:
        self.failures[host] = self.failures.get(host, 0) + 1
        return self.failures[host] >= after_days

    async def record_success(self, host: str) -> None:
        self.failures.pop(host, None)

    async def record_successes(self, hosts: list[str]) -> None:
        for host in hosts:
            self.failures.pop(host, None)


@dataclass
class MemoryFederationModeration:
    """Blocks as ``(group id or None, kind, value)``; blocks placed on us share a set
    with :class:`MemoryFollows` (delivery skips those who blocked the group)."""

    blocks: set[tuple[int | None, str, str]] = field(default_factory=set)
    blocked_by: set[tuple[int, str]] = field(default_factory=set)
    reports: list[Row] = field(default_factory=list)
    moderators: set[tuple[int, str]] = field(default_factory=set)

    async def is_blocked(self, group_id: int | None, actor_uri: str, host: str) -> bool:
        for group, kind, value in self.blocks:
            if group is not None and group != group_id:
                continue
            if kind == "actor" and value == actor_uri:
                return True
            if kind == "domain" and (host == value or host.endswith("." + value)):
                return True
        return False

    async def set_blocked_by(
        self, group_id: int, actor_uri: str, blocked: bool, now: datetime
    ) -> None:
        if blocked:
            self.blocked_by.add((group_id, actor_uri))
        else:
            self.blocked_by.discard((group_id, actor_uri))

    async def add_report(
        self,
        *,
        group_id: int | None,
        reporter: str,
        activity: dict[str, Any],
        content: str,
        objects: list[str],
        now: datetime,
    ) -> None:
        self.reports.append({"group_id": group_id, "reporter": reporter, "content": content,
                             "objects": objects})  # fmt: skip

    async def set_moderator(
        self, group_id: int, actor_uri: str, present: bool, now: datetime
    ) -> bool:
        key = (group_id, actor_uri)
        if present == (key in self.moderators):
            return False
        (self.moderators.add if present else self.moderators.discard)(key)
        return True


@dataclass
class MemoryLocalPeople:
    usernames: dict[str, str] = field(default_factory=dict)  # Matrix user id -> username

    async def username_of(self, user_id: str) -> str | None:
        return self.usernames.get(user_id)

    async def create(
        self,
        *,
        user_id: str,
        base: str,
        display_name: str,
        public_pem: str,
        sealed_private: bytes,
        now: datetime,
    ) -> str:
        taken = set(self.usernames.values())
        username = next(n for n in (base, *(f"{base}_{i}" for i in range(2, 1000)))
                        if n not in taken)  # fmt: skip
        return self.usernames.setdefault(user_id, username)


@dataclass
class MemoryBridgedMessages:
    by_event: dict[str, tuple[str, str]] = field(default_factory=dict)  # event -> (object, origin)

    async def bridge(
        self, *, event_id: str, room_id: str, object_id: str, group_id: int, origin: str,
        now: datetime,
    ) -> bool:  # fmt: skip
        if event_id in self.by_event:
            return False
        self.by_event[event_id] = (object_id, origin)
        return True

    async def object_for_event(self, event_id: str) -> tuple[str, str] | None:
        return self.by_event.get(event_id)


@dataclass
class MemorySigningKeys:
    groups: dict[int, tuple[str, bytes]] = field(default_factory=dict)
    instance: KeyPair | None = None

    async def group_key(self, group_id: int) -> tuple[str, bytes] | None:
        return self.groups.get(group_id)

    async def instance_key(self, factory: KeyPairFactory) -> KeyPair:
        if self.instance is None:
            self.instance = await factory.new_keypair()
        return self.instance


class MemoryFederation:
    """The bundle, as ``PgFederation``: a transaction that raises leaves nothing behind."""

    def __init__(self) -> None:
        self.remote_actors = MemoryRemoteActors()
        self.moderation = MemoryFederationModeration()
        self.inbox = MemoryInbox(blocks=self.moderation.blocks)
        self.follows = MemoryFollows(
            actors=self.remote_actors, blocked_by=self.moderation.blocked_by
        )
        self.outbox = MemoryOutbox()
        self.deliveries = MemoryDeliveries()
        self.peer_hosts = MemoryPeerHealth()
        self.people = MemoryLocalPeople()
        self.bridged = MemoryBridgedMessages()
        self.events = MemoryEventLog()

    _STATE = ("remote_actors", "moderation", "inbox", "follows", "outbox", "deliveries",
              "peer_hosts", "people", "bridged", "events")  # fmt: skip

    async def share(self, shares: Sequence[Share], *, now: datetime) -> int:
        new = 0
        async with self.transaction() as tx:
            for given in shares:
                for activity, object_id in given.activities:
                    added = await tx.outbox.add(
                        group_id=given.group_id, activity=activity, object_id=object_id,
                        public=True, now=now,
                    )  # fmt: skip
                    if not added:
                        continue
                    await tx.deliveries.enqueue(
                        activity_id=activity["id"], group_id=given.group_id,
                        body=json.dumps(activity, ensure_ascii=False), inboxes=given.inboxes,
                    )  # fmt: skip
                    new += 1
                if given.event is not None:
                    await tx.events.record(given.event)
        return new

    async def standing(self, group_id: int, actor_uri: str, host: str) -> tuple[bool, bool]:
        return (await self.follows.is_follower(group_id, actor_uri),
                await self.moderation.is_blocked(group_id, actor_uri, host))  # fmt: skip

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryFederation]:
        # One deepcopy of all of them keeps the links between them (follows -> actors).
        saved = copy.deepcopy({name: getattr(self, name) for name in self._STATE})
        try:
            yield self
        except BaseException:
            for name, repository in saved.items():
                setattr(self, name, repository)
            raise

    def remember(self, uri: str, *, inbox: str | None = None, shared: str | None = None,
                 name: str | None = None, now: datetime) -> RemoteActor:  # fmt: skip
        """Put an actor in the cache (as if fetched before)."""
        actor = RemoteActor(
            uri=uri, host=urlsplit(uri).hostname or "", type="Person",
            preferred_username=uri.rsplit("/", 1)[-1], name=name, inbox=inbox or f"{uri}/inbox",
            shared_inbox=shared, key_id=f"{uri}#main-key", public_key_pem=None, fetched_at=now,
        )  # fmt: skip
        self.remote_actors.add(actor)
        return actor

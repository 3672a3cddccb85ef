"""Ports of the federation adapter: what the ActivityPub side keeps in storage.

The adapter (``imago_fed.activitypub``) verifies, translates and sends; what
it remembers goes through these Protocols, implemented in ``imago_fed.store``:

    inbox     verified inbound activities, queued for processing
    follows   who follows our groups, and whom they follow
    outbox    what our groups published (served again, forwarded later)
    deliveries / peer_hosts   the outbound queue (``ports.delivery``)
    remote_actors             actors and keys we fetched
    moderation                blocks, blocks placed on us, reports, moderators
    people / bridged          Matrix members' Persons, bridged messages
    events                    the group event log (for the other networks)

Several of these must change together (an activity is stored with all its
deliveries, or not at all), so they come as one :class:`Federation`:
``async with federation.transaction() as tx`` gives the same repositories
bound to one transaction, without the adapter ever seeing a connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, TypeAlias

from imago_fed.domain.events import GroupEvent
from imago_fed.domain.groups import KeyPair
from imago_fed.domain.ports.delivery import DeliveryQueue, PeerHealth
from imago_fed.domain.ports.events import GroupEventLog
from imago_fed.domain.ports.groups import KeyPairFactory

__all__ = [
    "Admission",
    "BridgedMessages",
    "Federation",
    "FederationModeration",
    "Follows",
    "InboxQueue",
    "InboxRow",
    "LocalPeople",
    "Outbox",
    "RemoteActor",
    "RemoteActors",
    "Share",
    "SigningKeys",
]


@dataclass(frozen=True)
class RemoteActor:
    """Another server's actor as we cached it: where it takes deliveries, its key."""

    uri: str
    host: str
    type: str
    preferred_username: str | None
    name: str | None
    inbox: str
    shared_inbox: str | None
    key_id: str | None
    public_key_pem: str | None
    fetched_at: datetime
    icon: str = ""  # the URL of the picture the actor shows (its avatar), if any
    # A group's Matrix space, when its actor publishes one: the room id (or its
    # alias, until the id is published) and the homeserver to reach it through.
    # A relation with the group links our space to it (matrix/graph_rooms.py).
    space: str = ""
    space_server: str = ""

    @property
    def delivery_inbox(self) -> str:
        """Where to deliver public activities: the shared inbox when there is one."""
        return self.shared_inbox or self.inbox


#: What became of an inbound activity offered to the queue (``InboxQueue.admit``).
Admission: TypeAlias = Literal["stored", "duplicate", "blocked", "no group"]


@dataclass(frozen=True)
class Share:
    """What a group emits when it re-shares an activity: its public activities
    (each with its object id), for each of ``inboxes``, and the group event."""

    group_id: int
    activities: Sequence[tuple[dict[str, Any], str | None]]
    inboxes: Sequence[str]
    event: GroupEvent[Any] | None = None


@dataclass(frozen=True)
class InboxRow:
    """A verified inbound activity, leased to the worker processing it."""

    id: int
    activity: dict[str, Any]
    actor_uri: str
    group_id: int | None
    attempts: int


class RemoteActors(Protocol):
    async def get_by_uri(self, uri: str) -> RemoteActor | None: ...

    async def get_by_key_id(self, key_id: str) -> RemoteActor | None: ...

    async def upsert(self, actor: RemoteActor, document: dict[str, Any]) -> None:
        """Keep (or replace) the actor and the document it was parsed from."""
        ...


class InboxQueue(Protocol):
    async def store(
        self, *, activity: dict[str, Any], actor_uri: str, group_id: int | None, now: datetime
    ) -> bool:
        """Queue a verified activity; False when its id was seen before."""
        ...

    async def admit(
        self,
        *,
        activity: dict[str, Any],
        actor_uri: str,
        host: str,
        group_id: int | None,
        now: datetime,
    ) -> Admission:
        """Queue a verified activity unless its sender (actor, or ``host`` and the
        domains above it) is blocked by the instance or group ``group_id`` is gone:
        "stored", "duplicate" (its id was seen before), "blocked", "no group"."""
        ...

    async def claim(self, *, limit: int, lease: timedelta, now: datetime) -> list[InboxRow]:
        """Lease due rows, oldest first."""
        ...

    async def finish(self, row_id: int, state: str, error: str | None = None) -> None:
        """End a claimed row's work in ``state`` (done, ignored, failed)."""
        ...

    async def finish_many(self, outcomes: list[tuple[int, str, str | None]]) -> None:
        """``finish`` for each (row id, state, error), in one go."""
        ...

    async def retry_later(self, row: InboxRow, error: str, now: datetime) -> None:
        """Back off, or fail the row after too many attempts."""
        ...

    async def release(self, row_ids: list[int]) -> None:
        """Give claimed rows back at once (a stop cut their work short)."""
        ...


class Follows(Protocol):
    async def add_follower(
        self, group_id: int, actor_uri: str, follow_id: str, state: str, now: datetime
    ) -> None: ...

    async def accept_follower(self, group_id: int, actor_uri: str) -> str | None:
        """The accepted Follow's id, or None if it was not pending."""
        ...

    async def remove_follower(self, group_id: int, actor_uri: str) -> str | None:
        """The removed Follow's id, or None."""
        ...

    async def remove_follower_everywhere(self, actor_uri: str) -> None: ...

    async def is_follower(self, group_id: int, actor_uri: str) -> bool:
        """An accepted follower of the group."""
        ...

    async def follower_delivery_inboxes(self, group_id: int, *, exclude: str | None) -> list[str]:
        """One inbox per accepted follower (shared when known), minus those who blocked us."""
        ...

    async def set_following(
        self, group_id: int, target_uri: str, follow_id: str, now: datetime
    ) -> None:
        """The group asked to follow ``target_uri`` (state: requested)."""
        ...

    async def set_following_state(self, follow_id: str, actor_uri: str, state: str) -> bool:
        """Apply the followed actor's answer; False if it answers no Follow of ours."""
        ...

    async def remove_following(self, group_id: int, target_uri: str) -> str | None: ...

    async def is_followed(self, target_uri: str) -> bool:
        """Whether any of our groups follows this actor (accepted)."""
        ...


class Outbox(Protocol):
    async def add(
        self,
        *,
        group_id: int,
        activity: dict[str, Any],
        object_id: str | None,
        public: bool,
        now: datetime,
    ) -> bool:
        """Store an activity; False if its id was stored already."""
        ...

    async def get(self, activity_id: str) -> tuple[dict[str, Any], bool] | None:
        """The stored activity and whether it is public."""
        ...

    async def groups_that_announced(self, object_id: str) -> list[int]: ...

    async def announced_author(self, group_id: int, object_id: str) -> str | None: ...

    async def announces(self, group_id: int, object_id: str) -> list[dict[str, Any]]:
        """The group's Announces of ``object_id``, oldest first."""
        ...


class FederationModeration(Protocol):
    async def is_blocked(self, group_id: int | None, actor_uri: str, host: str) -> bool:
        """Blocked by the instance or by the group (``None``: the instance only)."""
        ...

    async def set_blocked_by(
        self, group_id: int, actor_uri: str, blocked: bool, now: datetime
    ) -> None:
        """An actor blocked (or unblocked) one of our groups."""
        ...

    async def add_report(
        self,
        *,
        group_id: int | None,
        reporter: str,
        activity: dict[str, Any],
        content: str,
        objects: list[str],
        now: datetime,
    ) -> None: ...

    async def set_moderator(
        self, group_id: int, actor_uri: str, present: bool, now: datetime
    ) -> bool:
        """Add or remove a moderator; False if nothing changed."""
        ...


class LocalPeople(Protocol):
    async def username_of(self, user_id: str) -> str | None:
        """The username of the Person standing for this Matrix user, or None."""
        ...

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
        """Store a new Person under ``base`` (or a suffixed form); its username."""
        ...


class BridgedMessages(Protocol):
    async def bridge(
        self,
        *,
        event_id: str,
        room_id: str,
        object_id: str,
        group_id: int,
        origin: str,
        now: datetime,
    ) -> bool:
        """Map a Matrix event to a fediverse object; False if it was mapped already."""
        ...

    async def object_for_event(self, event_id: str) -> tuple[str, str] | None:
        """(object id, origin) of a bridged Matrix event."""
        ...


class SigningKeys(Protocol):
    async def group_key(self, group_id: int) -> tuple[str, bytes] | None:
        """The group's slug and sealed private key (also after a soft delete)."""
        ...

    async def instance_key(self, factory: KeyPairFactory) -> KeyPair:
        """The instance actor's key pair, made with ``factory`` on first use."""
        ...


class Federation(Protocol):
    """The federation repositories, over the pool or bound to one transaction."""

    @property
    def inbox(self) -> InboxQueue: ...

    @property
    def follows(self) -> Follows: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def deliveries(self) -> DeliveryQueue: ...

    @property
    def peer_hosts(self) -> PeerHealth: ...

    @property
    def remote_actors(self) -> RemoteActors: ...

    @property
    def moderation(self) -> FederationModeration: ...

    @property
    def people(self) -> LocalPeople: ...

    @property
    def bridged(self) -> BridgedMessages: ...

    @property
    def events(self) -> GroupEventLog: ...

    async def share(self, shares: Sequence[Share], *, now: datetime) -> int:
        """Store the shares' activities, queue every new one for its share's
        inboxes, and record their events, all at once (one statement in the
        database, however many shares: a batch's re-shared posts together); how
        many activities were new. An activity stored before is skipped with its
        deliveries, an event recorded before is not recorded again."""
        ...

    async def standing(self, group_id: int, actor_uri: str, host: str) -> tuple[bool, bool]:
        """(``actor_uri`` is an accepted follower of the group, it is blocked by
        the instance or the group, as an actor or by ``host``), read at once."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Federation]:
        """The same repositories, all writing in one transaction (nested: a savepoint)."""
        ...

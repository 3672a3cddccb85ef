"""In-memory fakes of what the web handlers reach: the federation read model,
moderation records, the admin reads, the delivery queue, the schema probe,
and the group repository underneath ``GroupDirectory``.

:func:`fake_runtime` wires them into a :class:`Runtime` the Quart app can
serve from without a database (adapters the tests do not reach are absent).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

from imago_fed.activitypub.ids import Ids
from imago_fed.config import Settings
from imago_fed.domain.errors import Conflict
from imago_fed.domain.events import GroupEvent
from imago_fed.domain.groups import Group, GroupDirectory, KeyPair
from imago_fed.domain.ports.federation_reads import ActiveGroups, FollowingEntry, LocalPerson
from imago_fed.services.moderation import Moderation
from imago_fed.web.runtime import Runtime

__all__ = [
    "FakeDeliveryAdmin",
    "FakeFederationAdminReads",
    "FakeFederationReads",
    "FakeGroupRepository",
    "FakeModerationRecords",
    "FakeSchemaProbe",
    "FixedClock",
    "RecordingEventLog",
    "StaticKeys",
    "fake_runtime",
]

Row = dict[str, Any]
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class FixedClock:
    at: datetime = EPOCH

    def now(self) -> datetime:
        return self.at


class StaticKeys:
    """``KeyPairFactory`` without RSA: a recognisable fake public key."""

    async def new_keypair(self) -> KeyPair:
        return KeyPair(public_pem="-----FAKE PUBLIC KEY-----", sealed_private=b"sealed")


@dataclass
class RecordingEventLog:
    """``GroupEventLog`` that keeps what was recorded (once per dedupe key)."""

    events: list[GroupEvent] = field(default_factory=list)

    async def record(self, event: GroupEvent) -> None:
        if all(e.dedupe_key != event.dedupe_key for e in self.events):
            self.events.append(event)


@dataclass
class FakeGroupRepository:
    """``GroupRepository``: slugs are never reused, deleted groups disappear."""

    groups: dict[str, Group] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def add(self, group: Group) -> Group:
        if group.slug in self.used:
            raise Conflict(f"a group with slug {group.slug!r} already exists", field="slug")
        stored = replace(group, id=next(self._ids))
        self.used.add(group.slug)
        self.groups[group.slug] = stored
        return stored

    async def get(self, slug: str) -> Group | None:
        return self.groups.get(slug)

    async def get_by_id(self, group_id: int) -> Group | None:
        return next((g for g in self.groups.values() if g.id == group_id), None)

    async def list(self, *, limit: int, after: str | None) -> Sequence[Group]:
        slugs = sorted(s for s in self.groups if after is None or s > after)
        return [self.groups[s] for s in slugs[:limit]]

    async def count(self) -> int:
        return len(self.groups)

    async def update_profile(self, group: Group) -> None:
        self.groups[group.slug] = group

    async def mark_deleted(self, slug: str, when: datetime) -> bool:
        return self.groups.pop(slug, None) is not None


@dataclass
class FakeFederationReads:
    """``FederationReads`` over plain lists and dicts the test fills in."""

    people: list[LocalPerson] = field(default_factory=list)
    # (cursor, group id, activity, public)
    outbox: list[tuple[int, int, dict[str, Any], bool]] = field(default_factory=list)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    followers_of: dict[int, dict[str, str]] = field(default_factory=dict)  # actor -> state
    following_of: dict[int, list[FollowingEntry]] = field(default_factory=dict)
    moderators_of: dict[int, list[str]] = field(default_factory=dict)
    active: ActiveGroups = field(default_factory=lambda: ActiveGroups(month=0, halfyear=0))

    def publish(self, group_id: int, activity: dict[str, Any], *, public: bool = True) -> None:
        self.outbox.append((len(self.outbox) + 1, group_id, activity, public))

    async def person_by_username(self, username: str) -> LocalPerson | None:
        return next((p for p in self.people if p.username == username), None)

    async def person_of_member(self, user_id: str) -> LocalPerson | None:
        return next((p for p in self.people if p.user_id == user_id), None)

    async def public_activity_count(self, group_id: int | None = None) -> int:
        return sum(1 for _, g, _, public in self.outbox if public and group_id in (None, g))

    async def active_groups(self) -> ActiveGroups:
        return self.active

    async def outbox_page(
        self, group_id: int, *, before: int | None, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        rows = [
            (cursor, activity)
            for cursor, g, activity, public in reversed(self.outbox)
            if g == group_id and public and (before is None or cursor < before)
        ]
        return rows[:limit]

    async def activity(self, activity_id: str) -> tuple[dict[str, Any], bool] | None:
        for _, _, activity, public in self.outbox:
            if activity.get("id") == activity_id:
                return activity, public
        return None

    async def created_object(self, object_id: str) -> dict[str, Any] | None:
        return self.objects.get(object_id)

    async def follower_count(self, group_id: int) -> int:
        return sum(1 for s in self.followers_of.get(group_id, {}).values() if s == "accepted")

    async def followers(
        self, group_id: int, *, state: str = "accepted", limit: int = 100, offset: int = 0
    ) -> list[str]:
        actors = [a for a, s in self.followers_of.get(group_id, {}).items() if s == state]
        return actors[offset : offset + limit]

    async def following(self, group_id: int) -> list[FollowingEntry]:
        return list(self.following_of.get(group_id, []))

    async def moderators(self, group_id: int) -> list[str]:
        return list(self.moderators_of.get(group_id, []))

    async def is_moderator(self, group_id: int, member: str) -> bool:
        return member in self.moderators_of.get(group_id, [])


@dataclass
class FakeModerationRecords:
    """``ModerationRecords``; moderators are shared with a ``FakeFederationReads``."""

    moderators_of: dict[int, list[str]] = field(default_factory=dict)
    blocks: list[Row] = field(default_factory=list)
    reports: list[Row] = field(default_factory=list)
    groups: FakeGroupRepository | None = None  # to name a block's group by slug
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def list_blocks(self) -> list[Row]:
        return [dict(b) for b in self.blocks]

    async def add_block(
        self, *, group_id: int | None, kind: str, value: str, reason: str, now: datetime
    ) -> int:
        block_id = next(self._ids)
        found = await self.groups.get_by_id(group_id) if self.groups and group_id else None
        group = found.slug if found else None
        self.blocks.append(
            {"id": block_id, "group": group, "kind": kind, "value": value, "reason": reason,
             "created_at": now.isoformat()}
        )  # fmt: skip
        return block_id

    async def remove_block(self, block_id: int) -> bool:
        before = len(self.blocks)
        self.blocks = [b for b in self.blocks if b["id"] != block_id]
        return len(self.blocks) < before

    async def list_reports(self, *, limit: int = 100) -> list[Row]:
        return list(reversed(self.reports))[:limit]

    async def set_moderator(self, group_id: int, member: str, present: bool, now: datetime) -> bool:
        roster = self.moderators_of.setdefault(group_id, [])
        if present == (member in roster):
            return False
        if present:
            roster.append(member)
        else:
            roster.remove(member)
        return True


@dataclass
class FakeFederationAdminReads:
    """``FederationAdminReads``: received activities and Matrix members per group."""

    received_by: dict[int, list[Row]] = field(default_factory=dict)
    matrix: dict[int, dict[str, str]] = field(default_factory=dict)  # user id -> state

    async def received(self, group_id: int, *, limit: int = 50) -> list[Row]:
        return self.received_by.get(group_id, [])[:limit]

    async def matrix_members(self, group_id: int, state: str = "joined") -> list[str]:
        return [u for u, s in self.matrix.get(group_id, {}).items() if s == state]


@dataclass
class FakeDeliveryAdmin:
    """``DeliveryAdmin`` over a list of delivery rows and a dict of hosts."""

    rows: list[Row] = field(default_factory=list)
    hosts: dict[str, Row] = field(default_factory=dict)

    async def stats(self) -> Row:
        states = [r["state"] for r in self.rows]
        queued = [r for r in self.rows if r["state"] == "queued"]
        return {
            "queued": states.count("queued"),
            "delivered": states.count("delivered"),
            "dead": states.count("dead"),
            "in_flight": 0,
            "oldest_queued_at": min((r["created_at"] for r in queued), default=None),
        }

    async def dead_letters(self, *, limit: int, after: int | None) -> list[Row]:
        dead = [r for r in self.rows if r["state"] == "dead" and (after is None or r["id"] > after)]
        return sorted(dead, key=lambda r: r["id"])[:limit]

    async def retry(self, delivery_id: int) -> Row | None:
        for row in self.rows:
            if row["id"] == delivery_id:
                if row["state"] == "dead":
                    row.update(state="queued", attempts=0)
                return dict(row)
        return None

    async def peers(self, *, limit: int, after: str | None) -> list[Row]:
        names = sorted(h for h in self.hosts if after is None or h > after)
        return [self.hosts[h] for h in names[:limit]]

    async def reset_peer(self, host: str) -> bool:
        if host not in self.hosts:
            return False
        self.hosts[host].update(unavailable=False, failure_days=0)
        return True


@dataclass
class FakeSchemaProbe:
    """``SchemaProbe``: set ``current`` to a revision, None, or an exception to raise."""

    head: str = "head-revision"
    at: str | Exception | None = "head-revision"

    def expected(self) -> str:
        return self.head

    async def current(self) -> str | None:
        if isinstance(self.at, Exception):
            raise self.at
        return self.at


@dataclass
class FakeWorld:
    """The fakes behind one :func:`fake_runtime`, for tests to fill and inspect."""

    groups: FakeGroupRepository
    reads: FakeFederationReads
    moderation: FakeModerationRecords
    admin: FakeFederationAdminReads
    deliveries: FakeDeliveryAdmin
    schema: FakeSchemaProbe
    events: RecordingEventLog
    clock: FixedClock


def fake_runtime(settings: Settings) -> tuple[Runtime, FakeWorld]:
    """A Runtime over in-memory fakes; the adapters no fake covers are left out (None)."""
    world = FakeWorld(
        groups=FakeGroupRepository(),
        reads=FakeFederationReads(),
        moderation=FakeModerationRecords(),
        admin=FakeFederationAdminReads(),
        deliveries=FakeDeliveryAdmin(),
        schema=FakeSchemaProbe(),
        events=RecordingEventLog(),
        clock=FixedClock(),
    )
    world.moderation.moderators_of = world.reads.moderators_of  # one roster
    world.moderation.groups = world.groups
    absent = cast(Any, None)
    rt = Runtime(
        settings=settings,
        pool=absent,
        vault=absent,
        clock=world.clock,
        ids=Ids(settings.instance.base_url),
        groups=GroupDirectory(world.groups, StaticKeys(), world.clock, world.events),
        http=absent,
        signers=absent,
        resolver=absent,
        following=absent,
        federation=absent,
        inbox_processor=absent,
        instance_actor=absent,
        member_posts=absent,
        governance=absent,
        governance_store=absent,
        elections=absent,
        federation_reads=world.reads,
        receive_activity=absent,
        moderation=Moderation(world.moderation, world.events, world.clock),
        federation_admin=world.admin,
        delivery_admin=world.deliveries,
        schema=world.schema,
        costs=absent,
        status_board=absent,
        deliveries_readings=absent,
        activity_counts=absent,
    )
    return rt, world

"""What request handlers reach for: the wired services of the running app.

:func:`imago_fed.app.build_runtime` builds one :class:`Runtime` when the
server starts serving (the CLI builds one too); handlers get it with
:func:`runtime`, never from globals.

Every field is typed by a port (``domain/ports/``), a service, or an adapter
class, never by a store class or the database driver: handlers read and
write through repositories, and tests can build a Runtime over in-memory
fakes. The pool is here only so ``app.py`` can close it and give the
background workers their wake-ups; no handler uses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from quart import current_app

from imago_fed.activitypub.actors import ActorResolver
from imago_fed.activitypub.following import Following
from imago_fed.activitypub.http import FediClient
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.inbox import Outcome
from imago_fed.activitypub.instance_actor import InstanceActor
from imago_fed.activitypub.keys import KeyVault
from imago_fed.activitypub.processing import InboxProcessor
from imago_fed.activitypub.signatures.base import HeadersLike
from imago_fed.activitypub.signers import Signers
from imago_fed.config import Settings
from imago_fed.domain.governance.service import Governance
from imago_fed.domain.groups import GroupDirectory
from imago_fed.domain.ports import Clock, DirectMessenger
from imago_fed.domain.ports.admin import (
    DeliveryAdmin,
    FederationAdminReads,
    SchemaProbe,
)
from imago_fed.domain.ports.federation import Federation
from imago_fed.domain.ports.federation_reads import FederationReads
from imago_fed.domain.ports.governance import GovernanceStore
from imago_fed.domain.ports.membership import EffectLedger
from imago_fed.domain.ports.status import ActivityCounts, DeliveryReadings
from imago_fed.matrix.bridge import MatrixBridge
from imago_fed.services.assemblies import Assemblies
from imago_fed.services.costs import Costs
from imago_fed.services.elections import Elections
from imago_fed.services.execution import Executor
from imago_fed.services.media import MediaLibrary
from imago_fed.services.media.faces import GroupFacesService
from imago_fed.services.membership import Membership
from imago_fed.services.moderation import Moderation
from imago_fed.services.propagation import Propagation
from imago_fed.services.proximity import Proximity
from imago_fed.services.relations import Relations
from imago_fed.services.resources import Resources
from imago_fed.services.status import StatusBoard
from imago_fed.services.worker import Worker

__all__ = [
    "BackgroundReader",
    "Database",
    "ReceiveActivity",
    "Runtime",
    "group_id_of",
    "runtime",
]

EXTENSION_KEY = "imago_fed"


class Database(Protocol):
    """The connection pool as the app's lifecycle sees it: something to close."""

    async def close(self) -> None: ...


class BackgroundReader(Protocol):
    """A reader of the group event log: one step at a time, run by a Worker."""

    @property
    def consumer(self) -> str: ...

    async def run_once(self, limit: int = 50) -> bool: ...


class ReceiveActivity(Protocol):
    """An inbox POST, verified and stored (``activitypub.inbox.receive``, wired)."""

    async def __call__(
        self,
        *,
        group_id: int | None,
        method: str,
        url: str,
        headers: HeadersLike,
        body: bytes,
        document: Any,
        now: datetime,
    ) -> Outcome: ...


@dataclass
class Runtime:
    settings: Settings
    pool: Database
    vault: KeyVault
    clock: Clock
    ids: Ids
    groups: GroupDirectory
    http: FediClient
    signers: Signers
    resolver: ActorResolver
    following: Following
    federation: Federation  # what the fediverse side keeps (the workers' repositories)
    inbox_processor: InboxProcessor
    instance_actor: InstanceActor
    member_posts: BackgroundReader
    governance: Governance
    governance_store: GovernanceStore  # for the CLI and tests; handlers use the services
    federation_reads: FederationReads  # actors, collections, objects
    receive_activity: ReceiveActivity  # the inboxes
    moderation: Moderation  # blocks, reports, Matrix moderators
    federation_admin: FederationAdminReads  # inbox log, Matrix members
    delivery_admin: DeliveryAdmin  # the outbound queue, peer hosts
    schema: SchemaProbe  # readiness
    elections: Elections
    costs: Costs  # bills, pledges, contributions
    status_board: StatusBoard  # the dashboard's checks and charts
    deliveries_readings: DeliveryReadings  # queue depth and history (dashboard, metrics)
    activity_counts: ActivityCounts  # totals for /metrics
    matrix: MatrixBridge | None = None  # when [matrix] enabled (its ports: .store, .inbox)
    delivery: Any = None  # the delivery worker, when this process runs one
    messengers: tuple[DirectMessenger, ...] = ()  # private messages (credentials)
    workers: list[Worker] = field(default_factory=list)  # background work, when started
    # Group ids by slug for the inboxes (web/federation.py): found ones only, kept
    # a minute; the statement that stores an activity checks the group still exists.
    inbox_group_ids: dict[str, tuple[float, int]] = field(default_factory=dict)
    relations: Relations | None = None  # the graph of groups: typed relations
    propagation: Propagation | None = None  # feed rules, propagated items
    proximity: Proximity | None = None  # places, themes, the nearest groups
    assemblies: Assemblies | None = None  # meetings: the floor, motions, minutes
    membership: Membership | None = None  # invitations, founder, roster, roles, rights
    executor: Executor | None = None  # decisions' effects (the retry worker's step)
    effects: EffectLedger | None = None  # what each decision did
    resources: Resources | None = None  # offers, needs, agreements, inventories
    media: MediaLibrary | None = None  # the media store (attachments, group faces)
    faces: GroupFacesService | None = None  # groups' avatars and headers


def runtime() -> Runtime:
    return current_app.extensions[EXTENSION_KEY]


async def group_id_of(slug: str) -> int:
    """The storage id of a live group (NotFound, hence 404, otherwise)."""
    group = await runtime().groups.get(slug)
    assert group.id is not None
    return group.id

"""What request handlers reach for: the wired services of the running app.

:func:`imago_fed.app.build_runtime` builds one :class:`Runtime` when the
server starts serving (the CLI builds one too); handlers get it with
:func:`runtime`, never from globals.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from quart import current_app

from imago_fed.activitypub.actors import ActorResolver
from imago_fed.activitypub.following import Following
from imago_fed.activitypub.http import FediClient
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.instance_actor import InstanceActor
from imago_fed.activitypub.keys import KeyVault
from imago_fed.activitypub.processing import InboxProcessor
from imago_fed.activitypub.signers import Signers
from imago_fed.config import Settings
from imago_fed.domain.governance.service import Governance
from imago_fed.domain.groups import GroupDirectory
from imago_fed.domain.ports import Clock, DirectMessenger
from imago_fed.domain.ports.governance import GovernanceStore
from imago_fed.matrix.bridge import MatrixBridge
from imago_fed.services.elections import Elections
from imago_fed.store.group_events import GroupEventReader

__all__ = ["Runtime", "group_id_of", "runtime"]

EXTENSION_KEY = "imago_fed"


@dataclass
class Runtime:
    settings: Settings
    pool: asyncpg.Pool
    vault: KeyVault
    clock: Clock
    ids: Ids
    groups: GroupDirectory
    http: FediClient
    signers: Signers
    resolver: ActorResolver
    following: Following
    inbox_processor: InboxProcessor
    instance_actor: InstanceActor
    member_posts: GroupEventReader
    governance: Governance
    governance_store: GovernanceStore  # for the CLI and tests; handlers use the services
    elections: Elections
    matrix: MatrixBridge | None = None  # when [matrix] enabled
    delivery: Any = None  # the delivery worker, when this process runs one
    messengers: tuple[DirectMessenger, ...] = ()  # private messages (credentials)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)  # periodic work


def runtime() -> Runtime:
    return current_app.extensions[EXTENSION_KEY]


async def group_id_of(slug: str) -> int:
    """The storage id of a live group (NotFound, hence 404, otherwise)."""
    group = await runtime().groups.get(slug)
    assert group.id is not None
    return group.id

"""Every implementation of a port, checked against the port by mypy (tests/test_types.py).

A ``typing.Protocol`` is satisfied structurally: nothing says "PgFollows
implements Follows" until an instance is passed where a ``Follows`` is
expected. Where app.py does not pass it that way (a repository bundled in
another, an in-memory fake only the tests build), a method renamed or given
a new parameter would drift from its port unnoticed and the fakes would
test a world that no longer exists. Each function below takes an
implementation and returns it as its port: mypy refuses one that no longer
fits. Nothing here runs.
"""

from __future__ import annotations

from imago_fed.domain.ports import (
    admin,
    assemblies,
    bridge,
    costs,
    delivery,
    elections,
    events,
    federation_reads,
    governance,
    graph,
    groups,
    media,
    membership,
    personal_feeds,
    propagation,
    relations,
    resources,
    status,
    wikidata,
)
from imago_fed.domain.ports import federation as fed
from imago_fed.services import worker
from imago_fed.store.admin import (
    PgDeliveryAdmin,
    PgFederationAdminReads,
    PgModerationRecords,
    PgSchemaProbe,
)
from imago_fed.store.assemblies import PgAssemblyStore
from imago_fed.store.costs import PgCostsStore
from imago_fed.store.deliveries import PgDeliveries
from imago_fed.store.elections import PgElectionStore
from imago_fed.store.federation import PgFederation
from imago_fed.store.federation_reads import PgFederationReads
from imago_fed.store.follows import PgFollows
from imago_fed.store.governance import PgGovernanceStore
from imago_fed.store.graph_nodes import PgGraphNodes
from imago_fed.store.graph_relations import PgRelationStore
from imago_fed.store.group_events import PgGroupEventLog
from imago_fed.store.groups import PgGroupRepository
from imago_fed.store.inbox import PgInbox
from imago_fed.store.instance_keys import PgSigningKeys
from imago_fed.store.locks import PgAdvisoryLock
from imago_fed.store.matrix import PgBridgedMessages, PgBridgeInbox, PgBridgeStore
from imago_fed.store.media import DiskBlobs, PgGroupFaces, PgMediaCatalogue
from imago_fed.store.media_s3 import S3Blobs
from imago_fed.store.membership import PgEffectLedger, PgMembershipStore
from imago_fed.store.moderation import PgFederationModeration, PgGroupBlocks
from imago_fed.store.notify import Wakeup as PgWakeup
from imago_fed.store.outbox import PgOutbox
from imago_fed.store.peer_hosts import PgPeerHosts
from imago_fed.store.people import PgLocalPeople
from imago_fed.store.personal_feeds import PgPersonalFeedStore
from imago_fed.store.propagation import PgPropagationStore
from imago_fed.store.remote_actors import PgRemoteActors
from imago_fed.store.resources import PgResourceStore
from imago_fed.store.status import PgActivityCounts, PgDeliveryReadings
from imago_fed.web.wikidata import WikidataApi
from tests.fakes.assemblies import MemoryAssemblyStore
from tests.fakes.bridge import FakeBridgeInbox, FakeBridgeStore
from tests.fakes.federation import (
    MemoryBridgedMessages,
    MemoryDeliveries,
    MemoryFederation,
    MemoryFederationModeration,
    MemoryFollows,
    MemoryInbox,
    MemoryLocalPeople,
    MemoryOutbox,
    MemoryPeerHealth,
    MemoryRemoteActors,
    MemorySigningKeys,
)
from tests.fakes.governance import MemoryBlocks, MemoryElectionStore, MemoryGovernanceStore
from tests.fakes.membership import MemoryEffectLedger, MemoryMembershipStore
from tests.fakes.status import MemoryCostsStore
from tests.fakes.web import (
    FakeDeliveryAdmin,
    FakeFederationAdminReads,
    FakeFederationReads,
    FakeGroupRepository,
    FakeModerationRecords,
    FakeSchemaProbe,
)


# ------------------------------------------------------------------ the store
def store_admin(
    a: PgModerationRecords, b: PgFederationAdminReads, c: PgDeliveryAdmin, d: PgSchemaProbe
) -> tuple[
    admin.ModerationRecords, admin.FederationAdminReads, admin.DeliveryAdmin, admin.SchemaProbe
]:
    return a, b, c, d


def store_federation(
    a: PgRemoteActors, b: PgInbox, c: PgFollows, d: PgOutbox, e: PgFederationModeration,
    f: PgLocalPeople, g: PgBridgedMessages, h: PgSigningKeys, i: PgFederation,
    j: PgDeliveries, k: PgPeerHosts, m: PgGroupEventLog, n: PgFederationReads,
) -> tuple[
    fed.RemoteActors, fed.InboxQueue, fed.Follows, fed.Outbox, fed.FederationModeration,
    fed.LocalPeople, fed.BridgedMessages, fed.SigningKeys, fed.Federation,
    delivery.DeliveryQueue, delivery.PeerHealth, events.GroupEventLog,
    federation_reads.FederationReads,
]:  # fmt: skip
    return a, b, c, d, e, f, g, h, i, j, k, m, n


def store_bridge(
    a: PgBridgeInbox, b: PgBridgeStore
) -> tuple[
    bridge.BridgeInbox, bridge.RoomMap, bridge.ChatMembers, bridge.Puppets, bridge.MessageMap,
    bridge.PollMap,
]:  # fmt: skip
    return a, b, b, b, b, b


def store_decisions(
    a: PgGovernanceStore, b: PgGroupBlocks, c: PgElectionStore, d: PgGroupRepository,
    e: PgMembershipStore, f: PgEffectLedger, g: PgAssemblyStore,
) -> tuple[
    governance.GovernanceStore, governance.GroupBlocks, elections.ElectionStore,
    groups.GroupRepository, membership.MembershipStore, membership.EffectLedger,
    assemblies.AssemblyStore,
]:  # fmt: skip
    return a, b, c, d, e, f, g


def store_graph_and_the_rest(
    a: PgRelationStore, b: PgGraphNodes, c: PgPropagationStore, d: PgResourceStore,
    e: PgCostsStore, f: PgDeliveryReadings, g: PgActivityCounts,
) -> tuple[
    relations.RelationStore, graph.GraphNodes, propagation.PropagationStore,
    resources.ResourceStore, costs.CostsStore, status.DeliveryReadings, status.ActivityCounts,
]:  # fmt: skip
    return a, b, c, d, e, f, g


def store_personal_feeds(a: PgPersonalFeedStore) -> personal_feeds.PersonalFeedStore:
    return a


def store_media(
    a: PgMediaCatalogue, b: PgGroupFaces, c: DiskBlobs, d: S3Blobs
) -> tuple[media.MediaCatalogue, media.GroupFaces, media.MediaBlobs, media.MediaBlobs]:
    return a, b, c, d


def store_worker(a: PgWakeup, b: PgAdvisoryLock) -> tuple[worker.Wakeup, worker.ExclusiveLock]:
    return a, b


# ------------------------------------------------------------------ the fakes
def fakes_federation(
    a: MemoryRemoteActors, b: MemoryInbox, c: MemoryFollows, d: MemoryOutbox,
    e: MemoryFederationModeration, f: MemoryLocalPeople, g: MemoryBridgedMessages,
    h: MemorySigningKeys, i: MemoryFederation, j: MemoryDeliveries, k: MemoryPeerHealth,
    n: FakeFederationReads,
) -> tuple[
    fed.RemoteActors, fed.InboxQueue, fed.Follows, fed.Outbox, fed.FederationModeration,
    fed.LocalPeople, fed.BridgedMessages, fed.SigningKeys, fed.Federation,
    delivery.DeliveryQueue, delivery.PeerHealth, federation_reads.FederationReads,
]:  # fmt: skip
    return a, b, c, d, e, f, g, h, i, j, k, n


def fakes_admin(
    a: FakeModerationRecords, b: FakeFederationAdminReads, c: FakeDeliveryAdmin,
    d: FakeSchemaProbe,
) -> tuple[
    admin.ModerationRecords, admin.FederationAdminReads, admin.DeliveryAdmin, admin.SchemaProbe
]:  # fmt: skip
    return a, b, c, d


def fakes_bridge(
    a: FakeBridgeInbox, b: FakeBridgeStore
) -> tuple[
    bridge.BridgeInbox, bridge.RoomMap, bridge.ChatMembers, bridge.Puppets, bridge.MessageMap,
    bridge.PollMap,
]:  # fmt: skip
    return a, b, b, b, b, b


def fakes_decisions(
    a: MemoryGovernanceStore, b: MemoryBlocks, c: MemoryElectionStore, d: FakeGroupRepository,
    e: MemoryMembershipStore, f: MemoryEffectLedger, g: MemoryAssemblyStore,
    h: MemoryCostsStore,
) -> tuple[
    governance.GovernanceStore, governance.GroupBlocks, elections.ElectionStore,
    groups.GroupRepository, membership.MembershipStore, membership.EffectLedger,
    assemblies.AssemblyStore, costs.CostsStore,
]:  # fmt: skip
    return a, b, c, d, e, f, g, h


# ---------------------------------------------------------- other adapters
def web_wikidata(a: WikidataApi) -> wikidata.WikidataLookup:
    return a

"""The app factory: the one place that wires pool, services and blueprints.

    create_app(settings, dsn)
      before_serving: pool ─> repositories ─> domain services ─> Runtime
      each request:   inbox POSTs: web/inbox_door.py (raw ASGI, before Quart)
                      others: request id ─> blueprint handler ─> access log line, metrics
                      (blueprints: health, admin API, federation, appservice,
                      elections, pages for people, /metrics)
      after_serving:  close the pool (in-flight requests have finished)

The database itself (embedded or not) and migrations are the caller's job
(``imago-fed serve``), so tests can build an app over any database.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from quart import Quart, Response, g, request

from imago_fed.activitypub import people
from imago_fed.activitypub.actors import ActorResolver, FetchJson
from imago_fed.activitypub.assemblies import AssemblyMinutes
from imago_fed.activitypub.delivery import DeliveryWorker, WorkerConfig
from imago_fed.activitypub.direct import FediverseDirectMessages
from imago_fed.activitypub.following import Following
from imago_fed.activitypub.group_profile import GroupProfile
from imago_fed.activitypub.http import ACCEPT_JRD, FediClient
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.inbox import receive
from imago_fed.activitypub.instance_actor import InstanceActor
from imago_fed.activitypub.keys import KeyVault, RsaKeyPairFactory, instance_secret
from imago_fed.activitypub.media import FediverseMedia
from imago_fed.activitypub.membership import FediverseMembers
from imago_fed.activitypub.people import MemberPosts
from imago_fed.activitypub.places import GroupPlaces
from imago_fed.activitypub.processing import InboxProcessor
from imago_fed.activitypub.publish import publish, publish_to_followers
from imago_fed.activitypub.questions import QuestionPublisher, VoteIntake
from imago_fed.activitypub.relations import ApGraph, GraphIntake, GroupSpaces
from imago_fed.activitypub.resource_exchange import (
    ApResources,
    FollowTrust,
    PropagatedIntents,
    ResourceIntake,
)
from imago_fed.activitypub.signers import Signers
from imago_fed.config import Settings
from imago_fed.domain.clock import SystemClock
from imago_fed.domain.events import EventHandlers
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.counting import count_choices
from imago_fed.domain.governance.service import Governance
from imago_fed.domain.groups import GroupDirectory
from imago_fed.domain.media import MediaLimits
from imago_fed.domain.ports import DirectMessenger
from imago_fed.logs import log_access, new_request_id, request_id_var
from imago_fed.matrix import bridge as matrix_bridge
from imago_fed.matrix.bridge import MatrixBridge
from imago_fed.matrix.client import AppserviceClient
from imago_fed.matrix.commands import StatusSources
from imago_fed.matrix.direct import MatrixDirectMessages
from imago_fed.matrix.ids import MatrixIds
from imago_fed.matrix.media import MatrixMedia
from imago_fed.matrix.membership import MatrixMembers
from imago_fed.services.assemblies import Assemblies
from imago_fed.services.costs import Costs
from imago_fed.services.elections import Elections
from imago_fed.services.execution import Executor
from imago_fed.services.media import MediaLibrary
from imago_fed.services.media.faces import GroupFacesService
from imago_fed.services.member_effects import register_member_effects
from imago_fed.services.membership import Membership
from imago_fed.services.moderation import Moderation
from imago_fed.services.personal_feeds import PersonalFeeds
from imago_fed.services.propagation import Propagation
from imago_fed.services.proximity import Proximity
from imago_fed.services.relations import Relations
from imago_fed.services.resources import Resources
from imago_fed.services.status import StatusBoard
from imago_fed.services.worker import Worker, exclusively
from imago_fed.store import deliveries, group_events, inbox
from imago_fed.store import matrix as matrix_store
from imago_fed.store.admin import (
    PgDeliveryAdmin,
    PgFederationAdminReads,
    PgModerationRecords,
    PgSchemaProbe,
)
from imago_fed.store.assemblies import PgAssemblyStore
from imago_fed.store.costs import PgCostsStore
from imago_fed.store.database import create_pool, unreachable
from imago_fed.store.elections import PgElectionStore
from imago_fed.store.federation import PgFederation
from imago_fed.store.federation_reads import PgFederationReads
from imago_fed.store.governance import PgGovernanceStore
from imago_fed.store.graph_nodes import PgGraphNodes
from imago_fed.store.graph_relations import PgRelationStore
from imago_fed.store.group_events import GroupEventReader, PgGroupEventLog
from imago_fed.store.groups import PgGroupRepository
from imago_fed.store.instance_keys import PgSigningKeys
from imago_fed.store.locks import PgAdvisoryLock
from imago_fed.store.matrix import PgBridgeInbox, PgBridgeStore
from imago_fed.store.media import DiskBlobs, PgGroupFaces, PgMediaCatalogue
from imago_fed.store.media_s3 import S3Blobs
from imago_fed.store.membership import PgEffectLedger, PgMembershipStore
from imago_fed.store.moderation import PgGroupBlocks
from imago_fed.store.notify import Wakeup
from imago_fed.store.peer_hosts import PgPeerHosts
from imago_fed.store.personal_feeds import PgPersonalFeedStore
from imago_fed.store.propagation import PgPropagationStore
from imago_fed.store.resources import PgResourceStore
from imago_fed.store.status import PgActivityCounts, PgDeliveryReadings
from imago_fed.web import (  # noqa: F401  (register routes)
    admin_assemblies,
    admin_costs,
    admin_delivery,
    admin_elections,
    admin_federation,
    admin_governance,
    admin_groups,
    admin_media,
    admin_membership,
    admin_places,
    admin_relations,
    admin_resources,
    federation_graph,
    federation_resources,
)
from imago_fed.web.admin import admin
from imago_fed.web.appservice import appservice
from imago_fed.web.elections import elections
from imago_fed.web.errors import ApiError, register_error_handlers
from imago_fed.web.federation import federation
from imago_fed.web.health import health
from imago_fed.web.inbox_door import InboxDoor
from imago_fed.web.media import media_files
from imago_fed.web.metrics import METRICS_PATH, Metrics, metrics, on_metrics_address
from imago_fed.web.pages import install_pages
from imago_fed.web.pages.admin import csrf_refused_page
from imago_fed.web.pages.session import CsrfRefused
from imago_fed.web.params import install_converters
from imago_fed.web.probes import Probes
from imago_fed.web.runtime import EXTENSION_KEY, Runtime
from imago_fed.web.wikidata import wikidata_lookup

__all__ = [
    "background_workers",
    "build_runtime",
    "close_runtime",
    "create_app",
    "start_workers",
    "stop_workers",
]

log = logging.getLogger(__name__)
_WORKERS_KEY = "imago_fed.workers"  # the background workers' runtime (app.extensions)


def build_runtime(settings: Settings, pool: asyncpg.Pool) -> Runtime:
    """Wire repositories, adapters and domain services over an open pool.

    The app and the CLI both use it; nothing here starts background work
    (see ``create_app`` for the workers that run inside ``serve``).
    """
    clock = SystemClock()
    ids = Ids(settings.instance.base_url)
    vault = KeyVault(instance_secret(settings))
    repository = PgGroupRepository(pool)
    fed = PgFederation(pool, clock.now)
    http = FediClient(settings, schemes=PgPeerHosts(pool))
    keys = RsaKeyPairFactory(vault)
    signers = Signers(PgSigningKeys(pool), vault, ids, keys)
    instance_actor = InstanceActor(signers, http)
    resolver = ActorResolver(fed.remote_actors, instance_actor.fetch_json, clock)
    following = Following(
        fed,
        resolver,
        functools.partial(http.get_json, accept=ACCEPT_JRD),
        ids,
        clock,
        allow_http=settings.federation.allow_http,
    )
    governance_store = PgGovernanceStore(pool)
    event_log = PgGroupEventLog(pool, clock.now)
    ledger = PgEffectLedger(pool)
    executor = Executor(governance_store, PgGroupBlocks(pool), clock, following, repository, ledger)
    governance = Governance(governance_store, event_log, executor, clock, count_choices)
    relations, proximity, propagation, resources = _graph(
        settings, fed, pool, resolver, following, ids, repository, clock, executor, event_log,
        instance_actor.fetch_json,
    )  # fmt: skip
    relations.attach(governance)
    propagation.attach(governance)
    assemblies = Assemblies(PgAssemblyStore(pool), governance, event_log, clock)
    executor.register(ActionKind.CONVENE, assemblies)
    executor.register(ActionKind.MOTION, assemblies)
    resources.attach(governance)
    federation_reads = PgFederationReads(pool)
    media = _media_library(settings, pool, clock, http)
    faces = PgGroupFaces(pool)
    directory = GroupDirectory(repository, keys, clock, event_log)
    costs = Costs(
        PgCostsStore(pool), clock, settings.costs.currency, governed_by=settings.costs.group
    )
    costs.attach(governance, repository)
    executor.register(ActionKind.SPEND, costs)
    schema = PgSchemaProbe(pool)
    deliveries_readings = PgDeliveryReadings(pool)
    bridge = _matrix_bridge(
        settings,
        pool,
        repository,
        clock,
        governance,
        federation_reads,
        assemblies,
        media,
        faces,
    )
    fediverse_members = FediverseMembers(fed, following, resolver, ids, clock, repository)
    membership = Membership(
        PgMembershipStore(pool),
        [*([MatrixMembers(bridge)] if bridge is not None else []), fediverse_members],
        repository, governance, event_log, clock,
        invite_url=lambda code: f"{ids.base_url}/invite/{code}",
    )  # fmt: skip
    register_member_effects(
        executor, membership, repository, governance, lambda group: ids.group(group.slug)
    )
    if bridge is not None:
        bridge.attach_membership(membership)
        bridge.attach_resources(resources)
    status_board = StatusBoard(
        schema,
        deliveries_readings,
        Probes(settings, bridge.client if bridge is not None else None),
        costs,
        clock,
        matrix_enabled=bridge is not None,
    )
    if bridge is not None:
        base = settings.instance.base_url
        bridge.attach(
            propagation=propagation,
            feeds=PersonalFeeds(PgPersonalFeedStore(pool), relations.addresses, clock),
            status=StatusSources(
                status_board, costs, f"{base}/admin/status",
                f"{base}/status" if settings.status.public else None,
            ),
        )  # fmt: skip
    messengers: list[DirectMessenger] = []
    if bridge is not None:
        messengers.append(MatrixDirectMessages(bridge.client, bridge.ids, repository))
    messengers.append(FediverseDirectMessages(fed, http, signers, resolver, repository, ids, clock))
    return Runtime(
        settings=settings,
        pool=pool,
        vault=vault,
        clock=clock,
        ids=ids,
        groups=directory,
        http=http,
        signers=signers,
        instance_actor=instance_actor,
        resolver=resolver,
        following=following,
        governance_store=governance_store,
        governance=governance,
        elections=Elections(PgElectionStore(pool), governance, clock, messengers, ids.base_url),
        federation=fed,
        inbox_processor=InboxProcessor(
            fed,
            Wakeup(pool, inbox.CHANNEL),
            resolver,
            repository,
            ids,
            clock,
            votes=VoteIntake(ids, governance, membership),
            graph=_first_of(ResourceIntake(resources), GraphIntake(ids, relations, propagation)),
            membership=membership,
            refuse=fediverse_members.refuse,
            lease=timedelta(seconds=settings.federation.inbox_lease_seconds),
        ),
        member_posts=GroupEventReader(
            pool,
            "activitypub",
            people.SOURCE,
            # one reader, the fediverse side's handlers by kind (in this order)
            EventHandlers.of(
                MemberPosts(fed, ids, repository, keys, clock),
                GroupProfile(fed, ids, repository, clock, faces, proximity),
                QuestionPublisher(fed, ids, repository, clock),
                AssemblyMinutes(fed, ids, repository, clock),
                fediverse_members,  # member_invited: a founder admitted late
            ),
        ),
        federation_reads=federation_reads,
        receive_activity=functools.partial(receive, fed, resolver),
        moderation=Moderation(PgModerationRecords(pool), event_log, clock),
        federation_admin=PgFederationAdminReads(pool),
        delivery_admin=PgDeliveryAdmin(pool),
        schema=schema,
        costs=costs,
        status_board=status_board,
        deliveries_readings=deliveries_readings,
        activity_counts=PgActivityCounts(pool),
        matrix=bridge,
        messengers=tuple(messengers),
        relations=relations,
        proximity=proximity,
        propagation=propagation,
        assemblies=assemblies,
        resources=resources,
        membership=membership,
        executor=executor,
        effects=ledger,
        media=media,
        faces=GroupFacesService(directory, media, faces, event_log, clock),
    )


def _media_library(
    settings: Settings, pool: asyncpg.Pool, clock: SystemClock, http: FediClient
) -> MediaLibrary:
    """The media store: files on disk under ``[media] dir`` (default <data_dir>/media)."""
    config = settings.media
    folder = config.dir if config.dir != Path("") else Path(settings.instance.data_dir) / "media"
    limits = MediaLimits(config.max_image_bytes, config.max_av_bytes, config.max_pixels)
    blobs: DiskBlobs | S3Blobs = DiskBlobs(folder)
    if config.storage == "s3":
        blobs = S3Blobs(
            config.s3_endpoint, config.s3_bucket, access_key=config.s3_access_key.value,
            secret_key=config.s3_secret_key.value, region=config.s3_region,
        )  # fmt: skip
    return MediaLibrary(blobs, PgMediaCatalogue(pool), clock, limits, FediverseMedia(http))


Intake = Callable[[dict[str, Any], str], Awaitable[str | None]]


def _first_of(*intakes: Intake) -> Intake:
    """Ask each intake in turn; the first that claims the activity (not None) answers."""

    async def intake(activity: dict[str, Any], actor: str) -> str | None:
        for candidate in intakes:
            outcome = await candidate(activity, actor)
            if outcome is not None:
                return outcome
        return None

    return intake


def _graph(
    settings: Settings, fed: PgFederation, pool: asyncpg.Pool, resolver: ActorResolver,
    following: Following, ids: Ids, repository: PgGroupRepository, clock: SystemClock,
    executor: Executor, events: PgGroupEventLog, fetch_json: FetchJson,
) -> tuple[Relations, Proximity, Propagation, Resources]:  # fmt: skip
    """The graph of groups: relations, places and themes, propagation and resources
    over ActivityPub, their ``relate``/``propagate``/``publish_offer``/``spend``
    effects registered with the executor; remote group actors' places and themes
    recorded as they are fetched; offers and needs propagated like announcements
    (read from their origin with ``fetch_json``, a GET signed by the instance)."""

    async def send(
        group_id: int, activity: dict, inboxes: list[str] | None, object_id: str | None = None
    ) -> None:
        if inboxes is None:
            await publish_to_followers(fed, group_id=group_id, activity=activity,
                                       object_id=object_id, now=clock.now())  # fmt: skip
        else:
            await publish(fed, group_id=group_id, activity=activity, inboxes=inboxes,
                          object_id=object_id, public=False, now=clock.now())  # fmt: skip

    wire = ApGraph(send, resolver, following, ids, repository)
    relations = Relations(
        PgRelationStore(pool), wire, wire, repository, clock, events=events,
        actors=fed.remote_actors,
    )  # fmt: skip
    proximity = Proximity(
        PgGraphNodes(pool), wire, repository, clock, settings.instance.domain, events=events,
        lookup=wikidata_lookup(settings),
    )  # fmt: skip
    resolver.observe(GroupPlaces(proximity))
    resolver.observe(GroupSpaces(relations))
    spread = PgPropagationStore(pool)
    resources = Resources(
        PgResourceStore(pool), wire, ApResources(send, resolver, ids, clock), repository, clock,
        relations, FollowTrust(fed.follows), events, PgGraphNodes(pool), spread,
    )  # fmt: skip
    propagation = Propagation(
        spread, proximity, relations, wire, repository, clock,
        events=events, intents=PropagatedIntents(resources, fetch_json, ids),
    )  # fmt: skip
    executor.register(ActionKind.RELATE, relations)
    executor.register(ActionKind.PROPAGATE, propagation)
    executor.register(ActionKind.PUBLISH_OFFER, resources)
    executor.register(ActionKind.SPEND, resources)
    return relations, proximity, propagation, resources


def _matrix_bridge(
    settings: Settings,
    pool: asyncpg.Pool,
    groups: PgGroupRepository,
    clock: SystemClock,
    governance: Governance,
    reads: PgFederationReads,
    assemblies: Assemblies,
    media: MediaLibrary,
    faces: PgGroupFaces,
) -> MatrixBridge | None:
    config = settings.matrix
    if not config.enabled:
        return None
    client = AppserviceClient(config.homeserver_url, config.as_token.value)
    return MatrixBridge(
        client,
        MatrixIds(config.server_name, config.namespace_prefix, config.bot_localpart),
        groups,
        clock,
        store=PgBridgeStore(pool),
        inbox=PgBridgeInbox(pool),
        events=PgGroupEventLog(pool, clock.now),
        reads=reads,
        appservice_id=config.appservice_id,
        handle_domain=settings.instance.domain,
        governance=governance,
        assemblies=assemblies,
        call_domain=config.call_domain,
        admins=config.admin_ids,
        media=MatrixMedia(client, media, faces),
    )


async def _decide(rt: Runtime) -> bool:
    """Close proposals and elections whose time has come (the ticker's step)."""
    await rt.governance.tick()
    await rt.elections.close_due()
    if rt.assemblies is not None:
        await rt.assemblies.tick()  # opens, times turns, votes motions
    if rt.resources is not None:
        await rt.resources.tick()
    return False  # decisions come due with time: look again at the next tick


def background_workers(rt: Runtime) -> list[Worker]:
    """The background work of a server process, in the order it starts.

    decisions (one process at a time: a lock) · decisions' effects to retry ·
    inbox · deliveries · the
    fediverse side of the group event log · the Matrix bridge's workers.
    """
    rt.delivery = _delivery_worker(rt)
    decide = exclusively(PgAdvisoryLock(rt.pool), "governance", functools.partial(_decide, rt))
    workers = [
        Worker("governance", decide, poll_interval=1.0, backoff_cap=30.0),
        rt.inbox_processor.worker,
        rt.delivery.worker,
        Worker(
            f"events-{rt.member_posts.consumer}",
            rt.member_posts.run_once,
            Wakeup(rt.pool, group_events.CHANNEL),
        ),
    ]
    if rt.media is not None and rt.settings.media.remote_days > 0:
        prune = functools.partial(rt.media.prune, days=rt.settings.media.remote_days)
        workers.append(Worker("media-prune", prune, poll_interval=3600.0))
    if rt.executor is not None:  # failed effects of decisions, tried again with backoff
        workers.insert(1, Worker(
            "decision-effects", rt.executor.retry_due, poll_interval=5.0,
            next_due=rt.executor.next_retry_in, backoff_cap=60.0,
        ))  # fmt: skip
    if rt.matrix is not None:
        workers.extend(_matrix_workers(rt.matrix, rt.pool))
        if rt.relations is not None:  # spaces of relations accepted before they were linked
            workers.append(Worker(
                "graph-relink", rt.relations.relink, once=True, poll_interval=1.0,
                backoff_cap=60.0, max_failures=10,
            ))  # fmt: skip
    return workers


def _delivery_worker(rt: Runtime) -> DeliveryWorker:
    lease = timedelta(seconds=rt.settings.federation.delivery_lease_seconds)
    return DeliveryWorker(
        rt.federation,
        Wakeup(rt.pool, deliveries.CHANNEL),
        rt.http,
        rt.signers,
        WorkerConfig(lease=lease),
    )


def _matrix_workers(bridge: MatrixBridge, pool: asyncpg.Pool) -> list[Worker]:
    """The bridge's work, started in this order and drained in reverse: the
    warm-up (ping, rooms; retried while the homeserver starts, then done), the
    homeserver's events, and the group event log."""
    reader = GroupEventReader(pool, "matrix", matrix_bridge.SOURCE, bridge.handlers)
    return [
        Worker(
            "matrix-startup", bridge.startup, once=True, poll_interval=1.0,
            backoff_cap=30.0, max_failures=60, drain_timeout=0.0,
        ),
        Worker(
            "matrix-events", bridge.run_events_once, Wakeup(pool, matrix_store.CHANNEL),
        ),
        # The homeserver away: its backoff is capped low, so sending resumes
        # within half a minute of its return.
        Worker(
            f"events-{reader.consumer}", reader.run_once, Wakeup(pool, group_events.CHANNEL),
            backoff_cap=30.0,
        ),
    ]  # fmt: skip


async def start_workers(rt: Runtime, *, delivery_only: bool = False) -> None:
    """Start the background workers in order (none of them blocks to start).

    ``delivery_only``: the delivery worker alone, for the serving processes
    other than the first (``[serve] deliver_from_every_process``). A fan-out
    is CPU-bound in the process that POSTs (framing, sockets, the RSA
    signature's hand-off); claims are leased per host in the database,
    so workers in several processes share the queue and its limits."""
    if delivery_only:
        rt.delivery = _delivery_worker(rt)
        rt.workers = [rt.delivery.worker]
    else:
        rt.workers = background_workers(rt)
    for worker in rt.workers:
        worker.start()
    log.info("background workers started", extra={"workers": [w.name for w in rt.workers]})


async def stop_workers(rt: Runtime) -> None:
    """Drain in reverse order; in-flight work finishes (bounded) before the pool closes."""
    workers, rt.workers = rt.workers, []
    for worker in reversed(workers):
        await worker.stop()


async def close_runtime(rt: Runtime) -> None:
    if rt.matrix is not None:
        await rt.matrix.client.close()
    await rt.http.aclose()
    if rt.media is not None and isinstance(rt.media.blobs, S3Blobs):
        await rt.media.blobs.aclose()
    await rt.pool.close()


def create_app(
    settings: Settings, dsn: str, *, workers: bool = True, delivery_only: bool = False
) -> Quart:
    """The app over ``dsn``; ``workers=False`` for a serving process that only
    answers requests (``imago-fed serve`` runs the workers in one process),
    ``delivery_only`` with it for one that also delivers."""
    app = Quart("imago_fed", template_folder="web/templates", static_folder="web/static")
    app.config["MAX_CONTENT_LENGTH"] = settings.http.max_body_bytes
    app.config["JSON_SORT_KEYS"] = False
    install_converters(app)  # path parameters checked into their types (web/params.py)

    @app.before_serving
    async def _start() -> None:
        rt = build_runtime(settings, await create_pool(dsn, settings))
        app.extensions[EXTENSION_KEY] = rt
        if (workers or delivery_only) and settings.federation.workers_in_serve:
            # The workers get the same services over a pool of their own: under
            # inbound load the request handlers hold every connection of theirs,
            # and a worker's step (a dozen statements, each acquiring one) would
            # queue behind the requests for each of them.
            background = build_runtime(settings, await create_pool(dsn, settings))
            app.extensions[_WORKERS_KEY] = background
            await start_workers(background, delivery_only=not workers)

    @app.after_serving
    async def _stop() -> None:
        background: Runtime | None = app.extensions.pop(_WORKERS_KEY, None)
        if background is not None:
            await stop_workers(background)
            await close_runtime(background)
        rt: Runtime | None = app.extensions.pop(EXTENSION_KEY, None)
        if rt is not None:
            await stop_workers(rt)
            await close_runtime(rt)

    @app.before_request
    async def _begin() -> None:
        request_id = new_request_id(request.headers.get("X-Request-Id", ""))
        g.request_id_token = request_id_var.set(request_id)
        g.started = time.perf_counter()
        if request.path != METRICS_PATH and on_metrics_address():
            raise ApiError(404, "not_found", "only /metrics answers on this address")

    @app.after_request
    async def _finish(response: Response) -> Response:
        # Read what a refused request sent (a 401 answered before the body): an
        # unread body makes the server drop the keep-alive connection, and a
        # client reusing it (Synapse, other servers) sees its next request fail.
        with contextlib.suppress(Exception):
            await request.get_data(cache=False)
        request_id = request_id_var.get()
        if request_id:
            response.headers["X-Request-Id"] = request_id
        log_access(request.method, request.path, response.status_code,
                   g.get("started", time.perf_counter()))  # fmt: skip
        return response

    register_error_handlers(app, unavailable=unreachable)
    app.register_error_handler(CsrfRefused, csrf_refused_page)
    Metrics().install(app)
    install_pages(app, settings, instance_secret(settings))
    app.register_blueprint(metrics)
    app.register_blueprint(health)
    app.register_blueprint(admin)
    app.register_blueprint(federation)
    app.register_blueprint(appservice)
    app.register_blueprint(elections)
    app.register_blueprint(media_files)
    # The inbox POSTs are answered before Quart sees them (web/inbox_door.py).
    app.asgi_app = InboxDoor(app, app.asgi_app, unavailable=unreachable)  # type: ignore[method-assign,assignment]
    return app

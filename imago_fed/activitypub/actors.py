"""Resolving remote actors and their keys, with a cache (``RemoteActors``, in PostgreSQL).

Key ids come in two shapes: ``<actor>#main-key`` (Mastodon, us: the key is
inline in the actor) and a separate key document whose ``owner`` names the
actor (Fedify, some others). Either way we end with the actor document and
insist that its ``publicKey.id`` is the key id we were given, so a key can
only ever speak for the actor that publishes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urldefrag, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from imago_fed.activitypub.media import icon_url
from imago_fed.activitypub.spaces import parse_space
from imago_fed.activitypub.vocab import as_list, id_of
from imago_fed.domain.ports import Clock
from imago_fed.domain.ports.federation import RemoteActor, RemoteActors

__all__ = ["ACTOR_TYPES", "ActorError", "ActorObserver", "ActorResolver", "parse_actor"]

log = logging.getLogger(__name__)
KEY_CACHE_SECONDS = 300.0
KEY_CACHE_SIZE = 10_000
ACTOR_TYPES = frozenset({"Application", "Group", "Organization", "Person", "Service"})
FetchJson = Callable[[str], Awaitable[dict[str, Any]]]
# Told of every actor document fetched and cached (e.g. a group's place and themes).
ActorObserver = Callable[[RemoteActor, dict[str, Any]], Awaitable[None]]


class ActorError(Exception):
    """The actor or key cannot be resolved or is not acceptable."""


def _key_of(document: dict[str, Any]) -> tuple[str | None, str | None]:
    for key in as_list(document.get("publicKey")):
        if isinstance(key, dict) and isinstance(key.get("publicKeyPem"), str):
            return id_of(key), key["publicKeyPem"]
    return None, None


def parse_actor(document: dict[str, Any], fetched_from: str, now: Any) -> RemoteActor:
    """Validate an actor document fetched from ``fetched_from``; raise ActorError."""
    uri = id_of(document)
    kind = document.get("type")
    if not uri or urlsplit(uri).hostname != urlsplit(fetched_from).hostname:
        raise ActorError("actor id is missing or on another host than its document")
    if kind not in ACTOR_TYPES:
        raise ActorError(f"not an actor type: {kind!r}")
    inbox = id_of(document.get("inbox"))
    if not inbox:
        raise ActorError("actor has no inbox")
    endpoints = document.get("endpoints")
    shared = id_of(endpoints.get("sharedInbox")) if isinstance(endpoints, dict) else None
    key_id, pem = _key_of(document)
    name = document.get("name")
    username = document.get("preferredUsername")
    space, space_server = parse_space(document)
    return RemoteActor(
        uri=uri,
        host=urlsplit(uri).hostname or "",
        type=kind,
        preferred_username=username if isinstance(username, str) else None,
        name=name if isinstance(name, str) else None,
        inbox=inbox,
        shared_inbox=shared,
        key_id=key_id,
        public_key_pem=pem,
        fetched_at=now,
        icon=icon_url(document),
        space=space,
        space_server=space_server,
    )


class ActorResolver:
    """Actors and keys by URI, from the cache or fetched (signed) from their server."""

    def __init__(self, cache: RemoteActors, fetch_json: FetchJson, clock: Clock) -> None:
        self._cache = cache
        self._fetch = fetch_json
        self._clock = clock
        # Parsed keys by key id: verifying a busy peer's requests would otherwise
        # read and parse the same PEM for each one. A refresh replaces the entry.
        self._keys: dict[str, tuple[float, RemoteActor, PublicKeyTypes]] = {}
        self._observers: list[ActorObserver] = []

    def observe(self, observer: ActorObserver) -> None:
        """Call ``observer`` with each actor fetched, after it is cached."""
        self._observers.append(observer)

    async def _cached(self, actor: RemoteActor, document: dict[str, Any]) -> None:
        await self._cache.upsert(actor, document)
        for observer in self._observers:
            await observer(actor, document)

    async def actor(self, uri: str, *, refresh: bool = False) -> RemoteActor:
        if not refresh:
            cached = await self._cache.get_by_uri(uri)
            if cached is not None:
                return cached
        return await self._fetch_actor(uri)

    async def _fetch_actor(self, uri: str) -> RemoteActor:
        try:
            document = await self._fetch(uri)
        except Exception as exc:  # every fetch failure means "unresolvable"
            raise ActorError(f"cannot fetch actor {uri}: {exc}") from exc
        actor = parse_actor(document, uri, self._clock.now())
        if actor.uri != uri:
            # Fetched by an alias (e.g. a profile URL): trust only the canonical id.
            return await self.actor(actor.uri, refresh=True)
        await self._cached(actor, document)
        return actor

    async def key(
        self, key_id: str, *, refresh: bool = False
    ) -> tuple[RemoteActor, PublicKeyTypes]:
        """The actor owning ``key_id`` and the key itself.

        Parsed keys are kept in this process for ``KEY_CACHE_SECONDS``: a busy
        peer's requests are then verified with no database read. A key the
        peer has since rotated fails to verify and is fetched again
        (``refresh``), which replaces the entry; so does a refresh in another
        process, in this one at the next failure or when the entry expires.
        """
        if not refresh:
            cached = self._keys.get(key_id)
            if cached is not None and time.monotonic() - cached[0] < KEY_CACHE_SECONDS:
                return cached[1], cached[2]
        actor = None if refresh else await self._cache.get_by_key_id(key_id)
        if actor is None:
            actor = await self._actor_for_key(key_id)
        if actor.key_id != key_id or not actor.public_key_pem:
            raise ActorError("the key's owner does not publish this key")
        try:
            public = serialization.load_pem_public_key(actor.public_key_pem.encode())
        except ValueError as exc:
            raise ActorError("the actor's public key is not valid PEM") from exc
        self._keys.pop(key_id, None)  # re-inserted last: the oldest entries go first
        if len(self._keys) >= KEY_CACHE_SIZE:
            self._keys.pop(next(iter(self._keys)))
        self._keys[key_id] = (time.monotonic(), actor, public)
        return actor, public

    def knows_key(self, key_id: str) -> bool:
        """Whether ``key(key_id)`` would be answered from this process's memory."""
        cached = self._keys.get(key_id)
        return cached is not None and time.monotonic() - cached[0] < KEY_CACHE_SECONDS

    async def _actor_for_key(self, key_id: str) -> RemoteActor:
        document_url, _ = urldefrag(key_id)
        try:
            document = await self._fetch(document_url)
        except Exception as exc:
            raise ActorError(f"cannot fetch key {key_id}: {exc}") from exc
        if document.get("type") in ACTOR_TYPES:
            actor = parse_actor(document, document_url, self._clock.now())
            await self._cached(actor, document)
            return actor
        owner = id_of(document.get("owner") or document.get("controller"))
        if not owner or urlsplit(owner).hostname != urlsplit(key_id).hostname:
            raise ActorError("key document names no owner on its own host")
        return await self._fetch_actor(owner)

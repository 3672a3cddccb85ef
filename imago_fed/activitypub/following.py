"""Use cases that start on our side: a group follows or unfollows another
actor (usually a partner group), and moderators answer follow requests.

Handles (``@name@host``) are resolved by WebFinger, over https; plain http
is tried only when the instance allows it (local testing).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlsplit

from imago_fed.activitypub import outbound
from imago_fed.activitypub.actors import ActorError, ActorResolver
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.publish import publish, publish_to_followers
from imago_fed.activitypub.vocab import JSON_CONTENT_TYPES
from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.groups import Group
from imago_fed.domain.ports import Clock
from imago_fed.domain.ports.federation import Federation

__all__ = ["Following", "parse_handle"]

_HANDLE = re.compile(r"@?([^@\s/]+)@([a-z0-9.-]+(?::\d+)?)", re.IGNORECASE)
FetchJson = Callable[[str], Awaitable[dict[str, Any]]]


def parse_handle(handle: str) -> tuple[str, str] | None:
    match = _HANDLE.fullmatch(handle.strip())
    return (match.group(1), match.group(2).lower()) if match else None


class Following:
    def __init__(
        self,
        fed: Federation,
        resolver: ActorResolver,
        fetch_json: FetchJson,
        ids: Ids,
        clock: Clock,
        *,
        allow_http: bool,
    ) -> None:
        self._fed, self._resolver, self._fetch = fed, resolver, fetch_json
        self._ids, self._clock, self._allow_http = ids, clock, allow_http

    async def resolve(self, handle_or_url: str) -> str:
        """An actor id from ``@name@host`` (WebFinger) or from an actor URL."""
        if urlsplit(handle_or_url).scheme in ("http", "https"):
            return handle_or_url
        parsed = parse_handle(handle_or_url)
        if parsed is None:
            raise InvalidInput("expected @name@host or an actor URL", field="actor")
        name, host = parsed
        resource = quote(f"acct:{name}@{host}", safe=":@")
        errors = []
        for scheme in ("https", "http") if self._allow_http else ("https",):
            try:
                jrd = await self._fetch(
                    f"{scheme}://{host}/.well-known/webfinger?resource={resource}"
                )
            except Exception as exc:  # try the next scheme, then report all
                errors.append(f"{scheme}: {exc}")
                continue
            for link in jrd.get("links", []) if isinstance(jrd, dict) else []:
                if (
                    isinstance(link, dict)
                    and link.get("rel") == "self"
                    and any(t in str(link.get("type", "")) for t in JSON_CONTENT_TYPES)
                    and isinstance(link.get("href"), str)
                ):
                    return link["href"]
            errors.append(f"{scheme}: no ActivityPub actor link")
        raise NotFound(f"cannot resolve {handle_or_url}: {'; '.join(errors)}")

    async def follow(self, group: Group, handle_or_url: str) -> dict[str, Any]:
        assert group.id is not None
        uri = await self.resolve(handle_or_url)
        if uri == self._ids.group(group.slug):
            raise InvalidInput("a group cannot follow itself", field="actor")
        try:
            target = await self._resolver.actor(uri, refresh=True)
        except ActorError as exc:
            raise NotFound(str(exc)) from exc
        activity = outbound.follow(self._ids, group.slug, target.uri)
        async with self._fed.transaction() as tx:
            await tx.follows.set_following(group.id, target.uri, activity["id"], self._clock.now())
            await publish(
                tx, group_id=group.id, activity=activity, inboxes=[target.inbox],
                public=False, now=self._clock.now(),
            )  # fmt: skip
        return {"actor": target.uri, "follow_id": activity["id"], "state": "requested"}

    async def unfollow(self, group: Group, actor_uri: str) -> None:
        assert group.id is not None
        async with self._fed.transaction() as tx:
            follow_id = await tx.follows.remove_following(group.id, actor_uri)
            if follow_id is None:
                raise NotFound(f"{group.slug} does not follow {actor_uri}")
            target = await self._resolver.actor(actor_uri)
            original = {"id": follow_id, "type": "Follow", "actor": self._ids.group(group.slug),
                        "object": actor_uri}  # fmt: skip
            await publish(
                tx, group_id=group.id,
                activity=outbound.undo(self._ids, group.slug, original, actor_uri),
                inboxes=[target.inbox], public=False, now=self._clock.now(),
            )  # fmt: skip

    async def answer_follower(self, group: Group, actor_uri: str, *, accept: bool) -> None:
        """A moderator accepts or rejects a pending follow request."""
        assert group.id is not None
        async with self._fed.transaction() as tx:
            if accept:
                follow_id = await tx.follows.accept_follower(group.id, actor_uri)
            else:
                follow_id = await tx.follows.remove_follower(group.id, actor_uri)
            if follow_id is None:
                raise Conflict(f"no pending follow request from {actor_uri}")
            follower = await self._resolver.actor(actor_uri)
            request = {"id": follow_id, "type": "Follow", "actor": actor_uri,
                       "object": self._ids.group(group.slug)}  # fmt: skip
            build = outbound.accept if accept else outbound.reject
            await publish(
                tx, group_id=group.id, activity=build(self._ids, group.slug, request),
                inboxes=[follower.inbox], public=False, now=self._clock.now(),
            )  # fmt: skip

    async def set_moderator(self, group: Group, handle_or_url: str, *, present: bool) -> str:
        """Add or remove a moderator and tell the followers (FEP-1b12 Add/Remove)."""
        assert group.id is not None
        uri = await self.resolve(handle_or_url)
        try:
            actor = await self._resolver.actor(uri)
        except ActorError as exc:
            raise NotFound(str(exc)) from exc
        async with self._fed.transaction() as tx:
            changed = await tx.moderation.set_moderator(
                group.id, actor.uri, present, self._clock.now()
            )
            if not changed:
                state = "already" if present else "not"
                raise Conflict(f"{actor.uri} is {state} a moderator of {group.slug}")
            await publish_to_followers(
                tx,
                group_id=group.id,
                activity=outbound.moderators_change(
                    self._ids, group.slug, actor.uri, added=present
                ),
                object_id=None,
                now=self._clock.now(),
            )
        return actor.uri

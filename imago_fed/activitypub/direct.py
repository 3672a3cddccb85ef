"""Private messages from a group to one fediverse actor, sent now, kept nowhere.

The :class:`~imago_fed.domain.ports.DirectMessenger` for actor URIs. What
goes through here are secrets (voting credentials), so this is the one
place that POSTs an activity *without* the outbox and the delivery queue:
no row, no retry, no log line with the text::

    send(group, https://server/users/dana, text)
      ├─ the group is live; the actor (or its host) is not blocked
      ├─ actors.py: the actor, from the cache or fetched (signed GET, guarded)
      ├─ direct_note(): Create{Note} by the group, to [actor] only (no Public,
      │  no followers), a Mention tag, content starting with the mention link
      │  (what makes Mastodon show a private mention, its "direct message")
      └─ FediClient.post_activity(actor.inbox, signed with the group's key)
           2xx ──> done      anything else ──> DirectMessageFailed(reason)

Each failure (the actor cannot be fetched, a forbidden or private address,
a network error, a non-2xx answer) raises
:class:`~imago_fed.domain.ports.DirectMessageFailed` with a reason that never
quotes the text; the caller still holds the secret and decides what to do.
When the inbox refuses or cannot be reached and the actor came from the
cache, it is fetched again once (it may have moved) and the POST retried if
its inbox changed.

The Note and the Create have ids from :func:`outbound.derived_id` (under
``/activities/``, salted with a random nonce, never derived from the text),
but neither is stored nor served: ``GET`` on them answers 404. That is on
purpose: anything we could serve again is a copy of the secret. Receivers
need no fetch, since the Create embeds the Note, comes from the Note's own
origin and carries the group's HTTP signature (Mastodon and Fedify accept
an embedded object on those terms).
"""

from __future__ import annotations

import html
import json
import logging
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from imago_fed.activitypub.actors import ActorError, ActorResolver
from imago_fed.activitypub.documents import CONTEXT
from imago_fed.activitypub.http import FediClient, FetchError, Signer
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.outbound import derived_id
from imago_fed.activitypub.signers import Signers, UnknownGroup
from imago_fed.domain.ports import Clock, DirectMessageFailed, GroupRepository
from imago_fed.domain.ports.federation import Federation, RemoteActor

__all__ = ["FediverseDirectMessages", "direct_note"]

log = logging.getLogger(__name__)


def _mention_name(actor: RemoteActor) -> str:
    netloc = urlsplit(actor.uri).netloc
    return f"@{actor.preferred_username}@{netloc}" if actor.preferred_username else actor.uri


def _paragraphs(text: str) -> str:
    """Plain text as HTML: escaped, paragraphs on blank lines, <br> on line breaks."""
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    return "".join(f"<p>{html.escape(b).replace(chr(10), '<br>')}</p>" for b in blocks)


def direct_note(
    ids: Ids,
    slug: str,
    actor: RemoteActor,
    text: str,
    *,
    markup: str | None = None,
    published: datetime,
    nonce: str,
) -> dict[str, Any]:
    """``Create{Note}`` from the group to ``actor`` alone (pure: no I/O).

    ``markup`` (HTML) replaces the escaped ``text`` as the content when given.
    """
    group = ids.group(slug)
    name = _mention_name(actor)
    handle = name.split("@")[1] if name.startswith("@") else name
    mention = (
        f'<span class="h-card"><a href="{html.escape(actor.uri, quote=True)}" '
        f'class="u-url mention">@<span>{html.escape(handle)}</span></a></span>'
    )
    body = markup or _paragraphs(text)
    # The mention opens the first paragraph, as Mastodon writes a private mention.
    opened = body.startswith("<p>")
    content = f"<p>{mention} {body[3:]}" if opened else f"<p>{mention}</p>{body}"
    when = published.strftime("%Y-%m-%dT%H:%M:%SZ")
    note = {
        "id": derived_id(ids, slug, "direct-note", actor.uri, nonce),
        "type": "Note",
        "attributedTo": group,
        "to": [actor.uri],
        "cc": [],
        "content": content,
        "published": when,
        "tag": [{"type": "Mention", "href": actor.uri, "name": name}],
    }
    return {
        "@context": CONTEXT,
        "id": derived_id(ids, slug, "direct-create", actor.uri, nonce),
        "type": "Create",
        "actor": group,
        "to": [actor.uri],
        "cc": [],
        "published": when,
        "object": note,
    }


class FediverseDirectMessages:
    """Direct messages signed by the group; see the module docstring."""

    def __init__(
        self,
        fed: Federation,
        http: FediClient,
        signers: Signers,
        resolver: ActorResolver,
        groups: GroupRepository,
        ids: Ids,
        clock: Clock,
    ) -> None:
        self._fed, self._http, self._signers = fed, http, signers
        self._resolver, self._groups, self._ids, self._clock = resolver, groups, ids, clock

    def accepts(self, recipient: str) -> bool:
        """http(s) actor URIs on another server (our own groups are not members)."""
        parts = urlsplit(recipient)
        return (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and not self._ids.is_local(recipient)
        )

    async def send(
        self, group_id: int, recipient: str, text: str, *, html: str | None = None
    ) -> None:
        if not self.accepts(recipient):
            raise DirectMessageFailed(f"{recipient!r} is not a fediverse actor we can write to")
        group = await self._groups.get_by_id(group_id)
        if group is None:
            raise DirectMessageFailed(f"no live group with id {group_id}")
        await self._refuse_blocked(group_id, recipient, recipient)
        actor, cached = await self._actor(recipient)
        try:
            signer = await self._signers.for_group(group_id)
        except UnknownGroup as exc:
            raise DirectMessageFailed(f"no signing key for group {group_id}") from exc
        body = json.dumps(
            direct_note(
                self._ids, group.slug, actor, text, markup=html,
                published=self._clock.now(), nonce=uuid.uuid4().hex,
            )
        ).encode()  # fmt: skip
        failure = await self._post(group_id, actor, body, signer)
        if failure and cached:
            fresh, _ = await self._actor(recipient, refresh=True)
            if fresh.inbox != actor.inbox:
                actor, failure = fresh, await self._post(group_id, fresh, body, signer)
        if failure:
            raise DirectMessageFailed(failure)
        log.info(
            "direct message sent",
            extra={"group_id": group_id, "recipient": recipient, "inbox": actor.inbox},
        )

    # ----------------------------------------------------------- private
    async def _refuse_blocked(self, group_id: int, actor_uri: str, url: str) -> None:
        host = (urlsplit(url).hostname or "").lower()
        if await self._fed.moderation.is_blocked(group_id, actor_uri, host):
            raise DirectMessageFailed(f"{actor_uri} is blocked (actor or domain {host})")

    async def _actor(self, uri: str, *, refresh: bool = False) -> tuple[RemoteActor, bool]:
        """The actor, and whether it came from the cache."""
        cached = None if refresh else await self._fed.remote_actors.get_by_uri(uri)
        if cached is not None:
            return cached, True
        try:
            return await self._resolver.actor(uri, refresh=True), False
        except ActorError as exc:
            raise DirectMessageFailed(f"cannot resolve {uri}: {exc}") from exc

    async def _post(self, group_id: int, actor: RemoteActor, body: bytes, signer: Signer) -> str:
        """'' when the inbox took it, else why not."""
        await self._refuse_blocked(group_id, actor.uri, actor.inbox)
        try:
            status = await self._http.post_activity(actor.inbox, body, signer)
        except FetchError as exc:
            return f"delivery to {actor.inbox} failed: {exc}"
        if 200 <= status < 300:
            return ""
        return f"{actor.inbox} answered HTTP {status}"

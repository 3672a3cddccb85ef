"""Receiving an activity: verify, store, answer. Processing happens later.

    POST inbox ─> (web/body.py: size cap 413, media type 415, strict JSON 400)
       ─> JSON object with id/type/actor (400)
       ─> signature parsed: scheme, coverage, freshness (400 / 401)
       ─> instance-blocked domain (403)
       ─> key fetched/cached; owner == actor (401); verify, refetch once (401)
       ─> stored in inbox_activities (a redelivery is a no-op) ─> 202

Nothing is processed before the signature verifies; unknown activity types
are acknowledged (202) and dropped with a log line, as Mastodon does, so a
sender does not retry them for days.

What the sender is told is about its own request only: when its key cannot
be fetched or used, the answer is a plain 401 and what our fetch saw (a
remote status, a refused address) goes to our log, so the inbox cannot be
used to probe which hosts we can reach.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from imago_fed.activitypub import jsonld
from imago_fed.activitypub.actors import ActorError, ActorResolver
from imago_fed.activitypub.signatures import (
    InvalidSignature,
    MalformedSignature,
    SignatureError,
    parse_signed_request,
)
from imago_fed.activitypub.signatures.base import HeadersLike, normalize_headers
from imago_fed.activitypub.vocab import id_of
from imago_fed.domain.ports.federation import Federation

__all__ = ["HANDLED_TYPES", "Outcome", "authenticate", "receive"]

log = logging.getLogger(__name__)

BLOCKED = "this instance does not accept activities from you"
_KEY_ID = re.compile(r'keyid="([^"]+)"', re.IGNORECASE)
HANDLED_TYPES = frozenset(
    {"Follow", "Undo", "Accept", "Reject", "Create", "Update", "Delete", "Like", "Announce",
     "Flag", "Block", "Add", "Remove", "EmojiReact", "Dislike", "Offer"}
)  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """What to answer: an HTTP status and a reason for the sender (and our log)."""

    status: int
    reason: str
    detail: str = ""  # for our log only, never for the sender


async def authenticate(
    resolver: ActorResolver,
    *,
    method: str,
    url: str,
    headers: HeadersLike,
    body: bytes | None,
    now: datetime,
) -> str:
    """Verify a request's signature; return the signing actor's id.

    Raises SignatureError (malformed/invalid/stale) or ActorError (key unusable).
    A key that fails to verify is refetched once: the actor may have rotated it.
    """
    signed = parse_signed_request(method, url, headers, now=now)
    actor, key = await resolver.key(signed.key_id)
    try:
        signed.verify(key, body)
    except InvalidSignature:
        actor, key = await resolver.key(signed.key_id, refresh=True)
        signed.verify(key, body)
    return actor.uri


def _key_id(headers: HeadersLike) -> str | None:
    """The keyId a request's signature names, if it is easily read (cavage or RFC 9421);
    only a hint for choosing which checks come first: ``authenticate`` parses for real."""
    found = normalize_headers(headers)
    for name in ("signature", "signature-input"):
        match = _KEY_ID.search(found.get(name, ""))
        if match:
            return match.group(1)
    return None


def _refused(exc: Exception, activity: dict[str, Any], actor_uri: str) -> Outcome:
    """The answer to a request whose signature could not be verified."""
    if isinstance(exc, MalformedSignature):
        return Outcome(400, f"malformed signature: {exc}")
    if isinstance(exc, SignatureError):
        return Outcome(401, f"signature rejected: {exc}")
    if activity["type"] == "Delete" and id_of(activity.get("object")) == actor_uri:
        # An account deleting itself: its key is usually gone already (410).
        return Outcome(202, "accepted")
    return Outcome(
        401, "cannot verify the signature: the key could not be obtained", detail=str(exc)
    )


def _parse(document: Any) -> dict[str, Any]:
    """The activity's shape: a JSON object with an http(s) id, a type, an actor."""
    if not isinstance(document, dict):
        raise ValueError("the body must be a JSON object")
    document = jsonld.normalize(document)
    for field in ("id", "type", "actor"):
        if field == "actor":
            if not id_of(document.get("actor")):
                raise ValueError("the activity has no actor")
        elif not isinstance(document.get(field), str) or not document[field]:
            raise ValueError(f"the activity has no {field}")
    if urlsplit(document["id"]).scheme not in ("http", "https"):
        raise ValueError("the activity id must be an http(s) URL")
    return document


async def receive(
    fed: Federation,
    resolver: ActorResolver,
    *,
    group_id: int | None,
    method: str,
    url: str,
    headers: HeadersLike,
    body: bytes,
    document: Any,
    now: datetime,
) -> Outcome:
    """``body`` is the raw bytes (they are signed), ``document`` the JSON they hold,
    decoded strictly by the caller (``web/strict_json.py``)."""
    try:
        activity = _parse(document)
    except ValueError as exc:  # includes JsonLdError
        return Outcome(400, str(exc))
    actor_uri = id_of(activity["actor"]) or ""
    actor_host = urlsplit(actor_uri).hostname or ""
    if urlsplit(activity["id"]).hostname != actor_host:
        return Outcome(400, "the activity id is not on the actor's host")

    # A sender whose key this process holds costs no database read before
    # the one statement that stores its activity (which checks the blocks
    # again, exactly). Any other is checked first: a blocked server's key is
    # never fetched.
    signed_key = _key_id(headers)
    known = signed_key is not None and resolver.knows_key(signed_key)

    async def unless_blocked(outcome: Outcome) -> Outcome:
        """``outcome``, or 403 when the sender is blocked (as if checked first)."""
        if known and await fed.moderation.is_blocked(None, actor_uri, actor_host):
            return Outcome(403, BLOCKED)
        return outcome

    if not known and await fed.moderation.is_blocked(None, actor_uri, actor_host):
        return Outcome(403, BLOCKED)
    try:
        signer = await authenticate(
            resolver, method=method, url=url, headers=headers, body=body, now=now
        )
    except (SignatureError, ActorError) as exc:
        return await unless_blocked(_refused(exc, activity, actor_uri))
    if signer != actor_uri:
        return await unless_blocked(
            Outcome(401, "the signing key does not belong to the activity's actor")
        )
    if activity["type"] not in HANDLED_TYPES:
        outcome = await unless_blocked(Outcome(202, "accepted (type not handled)"))
        if outcome.status == 202:
            log.info("ignored activity of unknown type", extra={"type": activity["type"]})
        return outcome
    admitted = await fed.inbox.admit(
        activity=activity, actor_uri=actor_uri, host=actor_host, group_id=group_id, now=now
    )
    if admitted == "blocked":
        return Outcome(403, BLOCKED)
    if admitted == "no group":
        return Outcome(404, "no such group")
    if admitted == "duplicate":
        log.info("duplicate activity ignored", extra={"activity": activity["id"]})
    return Outcome(202, "accepted")

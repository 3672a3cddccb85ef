"""The inboxes' door: ``POST /inbox`` and ``POST /groups/<slug>/inbox`` answered
in raw ASGI, in front of the Quart app.

An inbox POST is the one request that arrives by the thousand a second
from other servers, and Quart's per-request machinery (request and response
objects, contexts, hooks, routing) cost about as much CPU as verifying and
storing the activity. Here it costs a dict look-up and a few header reads;
everything else still goes to Quart::

    ASGI http request
      ├─ not a POST to /inbox or /groups/<slug>/inbox (slug: a clean path
      │  segment, as the router's converter wants), or on [metrics] listen,
      │  or before the app started ─> Quart
      ├─ /groups/<slug>/inbox and no such group ─> Quart (its 404, as for
      │  any path it does not route; the body is left unread)
      └─ web/body.py's rules: size 413, media type 415, strict JSON 400
           ─> activitypub/inbox.py ``receive`` (shape, signature, blocks,
              one INSERT) ─> 202, or ``{"error": reason}`` with its status
           ─> X-Request-Id, the access log line, the request and inbox
              metrics, exactly as Quart's hooks write them

Anything unexpected becomes what Quart's error table makes of it
(``web/errors.py``: 503 with Retry-After when the database is away, 500
with the request id otherwise), never a traceback to the sender.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from quart import Quart

from imago_fed.activitypub.inbox import Outcome
from imago_fed.domain.errors import NotFound
from imago_fed.logs import log_access, new_request_id, request_id_var
from imago_fed.web.body import ACTIVITY_TYPES, BodyRefused, decode, require_type, too_large
from imago_fed.web.errors import unexpected_error
from imago_fed.web.metrics import app_metrics, inbox_reason, on_metrics_address
from imago_fed.web.params import MAX_SEGMENT, clean_text
from imago_fed.web.runtime import EXTENSION_KEY, Runtime

__all__ = ["INBOX_GROUP_ENTRIES", "INBOX_GROUP_SECONDS", "InboxDoor", "inbox_route"]

log = logging.getLogger("imago_fed.web.federation")  # the inbox's lines keep their logger

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[..., Awaitable[None]]  # (Quart's own, typed with its scope types)

SHARED_RULE, GROUP_RULE = "/inbox", "/groups/<slug>/inbox"  # the metrics' route labels
INBOX_GROUP_SECONDS = 60.0
INBOX_GROUP_ENTRIES = 10_000
_PROBLEM_HEADERS = [
    (b"content-type", b"application/json; charset=utf-8"),
    (b"vary", b"Accept"),
    (b"access-control-allow-origin", b"*"),
]
_ACCEPTED_HEADERS = [(b"content-type", b"text/html; charset=utf-8")]  # Quart's for ""


def inbox_route(path: str) -> tuple[str, str | None] | None:
    """``(rule, slug)`` when ``path`` is an inbox (slug None: the shared one), else None."""
    if path == SHARED_RULE:
        return SHARED_RULE, None
    if path.startswith("/groups/") and path.endswith("/inbox"):
        slug = path[len("/groups/") : -len("/inbox")]
        if slug and "/" not in slug and len(slug) <= MAX_SEGMENT and clean_text(slug):
            return GROUP_RULE, slug
    return None


class _Gone(Exception):
    """The client went away before its body arrived: nothing to answer."""


class InboxDoor:
    """ASGI: the inbox POSTs here, every other request to ``inner`` (Quart's)."""

    def __init__(
        self, app: Quart, inner: Asgi, *, unavailable: Callable[[BaseException], bool]
    ) -> None:
        self._app, self._inner, self._unavailable = app, inner, unavailable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = None
        if scope["type"] == "http" and scope["method"] == "POST":
            route = inbox_route(scope["path"])
        rt: Runtime | None = self._app.extensions.get(EXTENSION_KEY)
        if route is None or rt is None or on_metrics_address(scope, rt.settings.metrics.listen):
            await self._inner(scope, receive, send)
            return
        started = time.perf_counter()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        found: dict[str, str] = {}
        for name, value in headers:  # the first of a repeated header, as Quart's .get
            found.setdefault(name, value)
        token = request_id_var.set(new_request_id(found.get("x-request-id", "")))
        try:
            answered = await self._door(rt, scope, receive, send, route, headers, found, started)
        finally:
            request_id_var.reset(token)
        if not answered:  # no such group: as if no route matched, Quart's own 404
            await self._inner(scope, receive, send)

    async def _door(
        self,
        rt: Runtime,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: tuple[str, str | None],
        headers: list[tuple[str, str]],
        found: dict[str, str],
        started: float,
    ) -> bool:
        """Answer the inbox POST; False (nothing sent, body unread) for no such group."""
        rule, slug = route
        try:
            try:
                group_id = None if slug is None else await _group_id(rt, slug)
            except NotFound:
                return False
            status, body = await self._answer(rt, scope, receive, headers, found, group_id)
            kind = _PROBLEM_HEADERS if body else _ACCEPTED_HEADERS
            if status == 404 and slug is not None:  # deleted since (its slug may be reused)
                rt.inbox_group_ids.pop(slug, None)
        except _Gone:
            return True
        except Exception as exc:
            status, document, more = unexpected_error(exc, self._unavailable)
            body = json.dumps(document).encode()
            kind = [(b"content-type", b"application/json")]
            kind += [(k.lower().encode(), v.encode()) for k, v in more.items()]
        try:
            await _respond(send, status, body, kind)
        finally:
            app_metrics(self._app).count("POST", rule, status, started)
            log_access("POST", scope["path"], status, started)
        return True

    async def _answer(
        self,
        rt: Runtime,
        scope: Scope,
        receive: Receive,
        headers: list[tuple[str, str]],
        found: dict[str, str],
        group_id: int | None,
    ) -> tuple[int, bytes]:
        """What ``web/federation.py``'s inbox answered under Quart: status and body."""
        path = scope["path"]
        metrics = app_metrics(self._app)
        try:
            raw = await _read_body(receive, found.get("content-length"), rt, path)
            require_type(ACTIVITY_TYPES, found.get("content-type"), path)
            document = decode(raw, path)
        except BodyRefused as exc:  # (logged by web/body.py)
            metrics.inbox.labels("refused", f"http_{exc.status}").inc()
            return exc.status, _problem(exc.message)
        query = scope.get("query_string", b"").decode("utf-8", "replace")
        outcome: Outcome = await rt.receive_activity(
            group_id=group_id,
            method="POST",
            url=rt.settings.instance.base_url + (f"{path}?{query}" if query else path),
            headers=headers,
            body=raw,
            document=document,
            now=rt.clock.now(),
        )
        if outcome.status < 400:
            metrics.inbox.labels("accepted", "").inc()
            return outcome.status, b""
        metrics.inbox.labels("refused", inbox_reason(outcome.status, outcome.reason)).inc()
        client = scope.get("client")
        log.info(
            "inbox refused a request",
            extra={
                "status": outcome.status,
                "reason": outcome.reason,
                "detail": outcome.detail,
                "remote": client[0] if client else None,
                "sender_host": urlsplit(found.get("origin", "")).hostname,
            },
        )
        return outcome.status, _problem(outcome.reason)


async def _group_id(rt: Runtime, slug: str) -> int:
    """The group's id, from this process's memory when it was found in the last minute.

    A busy inbox would otherwise read the group once per activity. Only groups
    found are kept (a new group is seen at once); one deleted since is caught
    by the statement that stores the activity (404 then, and the entry is
    dropped). ``NotFound`` when there is no such group.
    """
    cache = rt.inbox_group_ids
    now = time.monotonic()
    hit = cache.get(slug)
    if hit is not None and now - hit[0] < INBOX_GROUP_SECONDS:
        return hit[1]
    group = await rt.groups.get(slug)
    assert group.id is not None
    if len(cache) >= INBOX_GROUP_ENTRIES:
        cache.clear()
    cache[slug] = (now, group.id)
    return group.id


async def _read_body(receive: Receive, declared: str | None, rt: Runtime, path: str) -> bytes:
    """The raw body (it is what was signed), refused past ``[http] max_body_bytes``:
    at once when Content-Length says so, else as soon as more than that arrived."""
    limit = rt.settings.http.max_body_bytes
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large(limit, path)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Gone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit, path)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _problem(message: str) -> bytes:
    return json.dumps({"error": message}, ensure_ascii=False).encode()


async def _respond(send: Send, status: int, body: bytes, kind: list[tuple[bytes, bytes]]) -> None:
    headers = [*kind]
    headers.append((b"content-length", str(len(body)).encode()))
    request_id = request_id_var.get()
    if request_id:
        headers.append((b"x-request-id", request_id.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

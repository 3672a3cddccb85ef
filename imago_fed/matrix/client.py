"""Client-server API calls as the appservice, in one place.

Built on matrix-nio's ``AsyncClient`` transport (its aiohttp session and
homeserver handling) with the ``as_token``. Two things every call needs are
done here and nowhere else:

* masquerading: acting as a puppet adds ``?user_id=@puppet:server``;
* 429: wait ``retry_after_ms`` (bounded) and try again.

Errors become :class:`MatrixError` with the ``errcode``; callers decide what
``M_USER_IN_USE`` or ``M_ROOM_IN_USE`` mean for them. A homeserver that
cannot be reached (refused, timed out, 502/503/504 from its proxy) raises
:class:`HomeserverAway`, a ``MatrixError`` that is also the domain's
``Unavailable``: what we were sending is kept and sent when it comes back.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from nio import AsyncClient, AsyncClientConfig

from imago_fed.domain.errors import Unavailable

__all__ = ["AppserviceClient", "HomeserverAway", "MatrixError"]

log = logging.getLogger(__name__)
MAX_429_RETRIES = 5
MAX_WAIT_S = 30.0


class MatrixError(Exception):
    def __init__(self, status: int, errcode: str, message: str) -> None:
        super().__init__(f"{status} {errcode}: {message}")
        self.status, self.errcode, self.message = status, errcode, message


class HomeserverAway(MatrixError, Unavailable):
    """The homeserver did not answer (or its proxy said it is away): try later."""


_AWAY_STATUSES = frozenset({502, 503, 504})


def path(*parts: str) -> str:
    """Join path segments, escaping each (room ids, aliases, user ids contain : ! # @)."""
    return "/".join(quote(part, safe="") for part in parts)


def _json_object(text: str) -> dict[str, Any]:
    try:
        payload = json.loads(text) if text else {}
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


class AppserviceClient:
    def __init__(self, homeserver_url: str, as_token: str, *, timeout: float = 30.0) -> None:
        self._nio = AsyncClient(
            homeserver_url.rstrip("/"),
            config=AsyncClientConfig(request_timeout=timeout, max_limit_exceeded=0),
        )
        self._nio.access_token = as_token
        self._token = as_token
        # Aliases we are looking up right now: the homeserver asks *us* about
        # an unknown alias in our namespace, and must get "no" then, not wait
        # on a lookup that waits on it (a deadlock).
        self._resolving: set[str] = set()

    def resolving(self, alias: str) -> bool:
        return alias in self._resolving

    async def close(self) -> None:
        await self._nio.close()

    async def request(
        self,
        method: str,
        endpoint: str,
        body: dict[str, Any] | None = None,
        *,
        as_user: str | None = None,
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Call ``/_matrix/client/...`` ``endpoint``; ``as_user`` masquerades."""
        params = dict(query or {})
        if as_user:
            params["user_id"] = as_user
        target = f"/_matrix/client/{endpoint}" + (f"?{urlencode(params)}" if params else "")
        data = json.dumps(body) if body is not None else None
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        for attempt in range(MAX_429_RETRIES + 1):
            try:
                response = await self._nio.send(method, target, data, headers)
                try:
                    text = await response.text()
                finally:
                    response.release()
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                raise HomeserverAway(0, "M_UNREACHABLE", f"{type(exc).__name__}: {exc}") from exc
            try:
                payload = json.loads(text) if text else {}
            except ValueError:
                payload = {}
            if response.status == 429 and attempt < MAX_429_RETRIES:
                wait = min(MAX_WAIT_S, payload.get("retry_after_ms", 1000) / 1000)
                log.info("homeserver rate limit; waiting", extra={"seconds": wait})
                await asyncio.sleep(wait)
                continue
            if response.status in _AWAY_STATUSES:
                raise HomeserverAway(response.status, "M_UNREACHABLE", text[:200])
            if response.status >= 400:
                raise MatrixError(
                    response.status,
                    str(payload.get("errcode", "M_UNKNOWN")),
                    str(payload.get("error", text[:200])),
                )
            return payload if isinstance(payload, dict) else {}
        raise MatrixError(429, "M_LIMIT_EXCEEDED", "still rate-limited")  # pragma: no cover

    # ------------------------------------------------------------ media
    async def upload(self, data: bytes, content_type: str, filename: str) -> str:
        """Put a file in the homeserver's media repository; its ``mxc://`` URI."""
        target = "/_matrix/media/v3/upload?" + urlencode({"filename": filename})
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": content_type}
        for attempt in range(MAX_429_RETRIES + 1):
            response = await self._nio.send("POST", target, data, headers)
            try:
                text = await response.text()
            finally:
                response.release()
            payload = _json_object(text)
            if response.status == 429 and attempt < MAX_429_RETRIES:
                await asyncio.sleep(min(MAX_WAIT_S, payload.get("retry_after_ms", 1000) / 1000))
                continue
            if response.status >= 400 or not str(payload.get("content_uri", "")).startswith(
                "mxc://"
            ):
                raise MatrixError(
                    response.status, str(payload.get("errcode", "M_UNKNOWN")),
                    str(payload.get("error", text[:200])),
                )  # fmt: skip
            return str(payload["content_uri"])
        raise MatrixError(429, "M_LIMIT_EXCEEDED", "still rate-limited")  # pragma: no cover

    async def download(self, mxc: str, *, max_bytes: int) -> tuple[bytes, str]:
        """A file of the media repository (authenticated media), at most ``max_bytes``.

        Returns the bytes and the Content-Type the homeserver gave;
        MatrixError for an unusable URI, an error status or a file too large.
        """
        server, _, media_id = mxc.removeprefix("mxc://").partition("/")
        if not mxc.startswith("mxc://") or not server or not media_id or "/" in media_id:
            raise MatrixError(400, "M_INVALID_PARAM", f"not an mxc URI: {mxc[:100]}")
        target = f"/_matrix/client/v1/media/download/{path(server, media_id)}"
        headers = {"Authorization": f"Bearer {self._token}"}
        response = await self._nio.send("GET", target, None, headers)
        try:
            if response.status >= 400:
                payload = _json_object((await response.content.read(4096)).decode(errors="replace"))
                raise MatrixError(
                    response.status, str(payload.get("errcode", "M_UNKNOWN")),
                    str(payload.get("error", "download failed")),
                )  # fmt: skip
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise MatrixError(413, "M_TOO_LARGE", f"{declared} bytes is over {max_bytes}")
            chunks, size = [], 0
            async for chunk in response.content.iter_chunked(65536):
                size += len(chunk)
                if size > max_bytes:
                    raise MatrixError(413, "M_TOO_LARGE", f"more than {max_bytes} bytes")
                chunks.append(chunk)
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
            return b"".join(chunks), content_type.lower()
        finally:
            response.release()

    # ------------------------------------------------------------ helpers
    async def register_puppet(self, localpart: str) -> None:
        """Register a namespaced user without a device; an existing one is fine."""
        try:
            await self.request(
                "POST",
                "v3/register",
                {
                    "type": "m.login.application_service",
                    "username": localpart,
                    "inhibit_login": True,
                },
            )
        except MatrixError as exc:
            if exc.errcode != "M_USER_IN_USE":
                raise

    async def ping(self, appservice_id: str) -> dict[str, Any]:
        return await self.request(
            "POST", f"v1/appservice/{path(appservice_id)}/ping", {"transaction_id": "imago-start"}
        )

    async def resolve_alias(self, alias: str) -> str | None:
        self._resolving.add(alias)
        try:
            found = await self.request("GET", f"v3/directory/room/{path(alias)}")
        except MatrixError as exc:
            if exc.errcode == "M_NOT_FOUND" or exc.status == 404:
                return None
            raise
        finally:
            self._resolving.discard(alias)
        return found.get("room_id")

    async def send_state(
        self, room_id: str, event_type: str, state_key: str, content: dict[str, Any],
        *, as_user: str | None = None,
    ) -> str:  # fmt: skip
        result = await self.request(
            "PUT",
            f"v3/rooms/{path(room_id)}/state/{path(event_type)}/{path(state_key)}",
            content,
            as_user=as_user,
        )
        return str(result.get("event_id", ""))

    async def send_message(
        self, room_id: str, txn_id: str, content: dict[str, Any], *, as_user: str | None = None,
        event_type: str = "m.room.message",
    ) -> str:  # fmt: skip
        """Send an event; ``txn_id`` makes a retry idempotent on the homeserver."""
        result = await self.request(
            "PUT",
            f"v3/rooms/{path(room_id)}/send/{path(event_type)}/{path(txn_id)}",
            content,
            as_user=as_user,
        )
        return str(result["event_id"])

    async def join(self, room_id: str, *, as_user: str | None = None) -> None:
        await self.request("POST", f"v3/join/{path(room_id)}", {}, as_user=as_user)

    async def invite(self, room_id: str, user_id: str) -> None:
        try:
            await self.request("POST", f"v3/rooms/{path(room_id)}/invite", {"user_id": user_id})
        except MatrixError as exc:
            if "already in the room" not in exc.message and exc.errcode != "M_FORBIDDEN":
                raise

    async def set_displayname(self, user_id: str, name: str) -> None:
        await self.request(
            "PUT", f"v3/profile/{path(user_id)}/displayname", {"displayname": name},
            as_user=user_id,
        )  # fmt: skip

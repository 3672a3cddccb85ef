"""Keep-alive HTTP/1.1 connections per host, for deliveries (POSTs).

Why not httpx for POSTs: httpcore's pool re-scans every pooled connection on
each request and each response close, so at a fan-out's 32 POSTs in flight
over hundreds of hosts its bookkeeping was a quarter of the server's CPU.
Deliveries need little of a general client: one request and its status,
no redirects, a small answer read and dropped. So each host (scheme, name,
port) gets its own short list of idle connections, taken and given back in
O(1), and the bytes are framed by h11::

    POST url ──> idle connection for (scheme, host, port), not expired?
                   ├─ yes: use it (a stale one that fails before any answer
                   │       byte is retried once on a new connection)
                   └─ no:  resolve + check every address (AddressPolicy),
                           connect to a checked address (TLS: verified
                           against the host name), 5 s
                 h11: request ─> status; answer read up to ``max_bytes``
                 both sides done, not "Connection: close"? ─> idle again

The address guard runs where the socket is opened, as for httpx's pool
(:mod:`.guard`), so a host name that resolves elsewhere later is checked
again on its next connection. Timeouts are the caller's (the whole
exchange runs under its deadline); a connection cut short by a timeout or
any error is closed, never reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11
import httpcore

from .errors import FetchTimeout, ForbiddenUrl, NetworkError
from .guard import AddressPolicy

__all__ = ["HostConnections"]

_READ = 65_536
_Key = tuple[str, str, int]  # scheme, host name (lower case), port


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    h11: h11.Connection
    idle_since: float = 0.0

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()

    @property
    def usable(self) -> bool:
        return (
            not self.writer.is_closing()
            and not self.reader.at_eof()
            and self.h11.our_state is h11.IDLE
        )


class _Stale(Exception):
    """A reused connection failed before any byte of an answer: safe to try anew."""


class HostConnections:
    """Idle keep-alive connections, a few per host; one exchange per connection at a time.

    ``max_idle_per_host`` and ``max_idle`` bound what is kept (least recently
    used host dropped first); an idle connection older than ``idle_expiry``
    seconds is closed instead of reused.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        ssl_context: ssl.SSLContext,
        *,
        connect_timeout: float = 5.0,
        max_idle_per_host: int = 4,
        max_idle: int = 256,
        idle_expiry: float = 5.0,
    ) -> None:
        self._policy, self._ssl = policy, ssl_context
        self._connect_timeout = connect_timeout
        self._max_idle_per_host, self._max_idle = max_idle_per_host, max_idle
        self._idle_expiry = idle_expiry
        self._idle: OrderedDict[_Key, list[_Connection]] = OrderedDict()
        self._idle_count = 0
        self.opened = 0  # connections made, for the curious (tests, benchmarks)

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        self._idle_count = 0

    async def post(
        self, url: str, headers: list[tuple[str, str]], body: bytes, *, max_bytes: int
    ) -> int:
        """POST ``body``; the final status. An answer over ``max_bytes`` is cut (and the
        connection closed); raises :class:`NetworkError` when there is no status."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise ForbiddenUrl(f"invalid port in {url}", url) from exc
        key = (scheme, host, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = h11.Request(method="POST", target=target, headers=headers)
        connection = self._take(key)
        if connection is not None:
            try:
                return await self._exchange(key, connection, request, body, max_bytes, url)
            except _Stale:
                pass  # the server closed it while idle; a new connection below
        connection = await self._connect(key, url)
        try:
            return await self._exchange(key, connection, request, body, max_bytes, url)
        except _Stale as exc:
            raise NetworkError(f"{url}: connection closed before an answer", url) from exc

    # ----------------------------------------------------------- private
    def _take(self, key: _Key) -> _Connection | None:
        connections = self._idle.get(key)
        now = time.monotonic()
        while connections:
            connection = connections.pop()
            self._idle_count -= 1
            if connection.usable and now - connection.idle_since < self._idle_expiry:
                if not connections:
                    del self._idle[key]
                return connection
            connection.close()
        self._idle.pop(key, None)
        return None

    def _give_back(self, key: _Key, connection: _Connection) -> None:
        connections = self._idle.setdefault(key, [])
        self._idle.move_to_end(key)
        if len(connections) >= self._max_idle_per_host:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        connections.append(connection)
        self._idle_count += 1
        while self._idle_count > self._max_idle:
            oldest_key, oldest = next(iter(self._idle.items()))
            if oldest:
                oldest.pop(0).close()
                self._idle_count -= 1
            if not oldest:
                del self._idle[oldest_key]

    async def _connect(self, key: _Key, url: str) -> _Connection:
        scheme, host, port = key
        tls = self._ssl if scheme == "https" else None
        try:
            async with asyncio.timeout(self._connect_timeout):
                addresses = await self._policy.resolve(host, port, self._connect_timeout)
                failure: Exception | None = None
                for address in addresses:
                    try:
                        reader, writer = await asyncio.open_connection(
                            address, port, ssl=tls, server_hostname=host if tls else None,
                            limit=_READ,
                        )  # fmt: skip
                        break
                    except OSError as exc:  # ssl.SSLError included: refused, bad certificate
                        failure = exc
                else:
                    raise NetworkError(f"{url}: ConnectError: {failure}", url)
        except TimeoutError as exc:
            within = f"no connection within {self._connect_timeout} s"
            raise FetchTimeout(f"{url}: ConnectTimeout: {within}", url) from exc
        except httpcore.ConnectTimeout as exc:
            raise FetchTimeout(f"{url}: ConnectTimeout: {exc}", url) from exc
        except httpcore.ConnectError as exc:
            raise NetworkError(f"{url}: ConnectError: {exc}", url) from exc
        self.opened += 1
        return _Connection(reader, writer, h11.Connection(h11.CLIENT))

    async def _exchange(
        self,
        key: _Key,
        connection: _Connection,
        request: h11.Request,
        body: bytes,
        max_bytes: int,
        url: str,
    ) -> int:
        conn = connection.h11
        reused = connection.idle_since > 0  # it was given back once: it may have gone stale
        answered = False
        try:
            connection.writer.write(
                conn.send(request) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
            )
            await connection.writer.drain()
            status = 0
            read = 0
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await connection.reader.read(_READ)
                    if data:
                        answered = True
                    conn.receive_data(data)
                    continue
                if isinstance(event, h11.InformationalResponse):
                    continue
                if isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.Data):
                    read += len(event.data)
                    if read > max_bytes:  # the status is the answer; hang up on the rest
                        connection.close()
                        return status
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    raise h11.RemoteProtocolError("connection closed mid-answer")
        except BaseException as exc:
            connection.close()
            if reused and not answered and isinstance(exc, OSError | h11.RemoteProtocolError):
                raise _Stale() from exc
            if isinstance(exc, OSError | h11.ProtocolError):
                raise NetworkError(f"{url}: {type(exc).__name__}: {exc}", url) from exc
            raise
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
            self._give_back(key, connection)
        else:
            connection.close()
        return status

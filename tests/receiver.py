"""A tiny real HTTP/1.1 server on 127.0.0.1 for outbound-HTTP tests.

Written on asyncio streams rather than a framework so a test controls the
exact bytes: a body longer than it announces, one delimited by closing the
connection, a response that never comes. Each test gives a handler; the
server records every request it parsed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from imago_fed.activitypub.signatures import SignatureScheme, parse_signed_request


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    url: str  # absolute, as the client addressed it

    def verify(self, public_key: PublicKeyTypes | str) -> tuple[SignatureScheme, str]:
        """Check the request's HTTP signature; return its scheme and key id, or raise."""
        if isinstance(public_key, str):
            public_key = serialization.load_pem_public_key(public_key.encode())
        signed = parse_signed_request(self.method, self.url, self.headers, now=datetime.now(UTC))
        signed.verify(public_key, self.body)
        return signed.scheme, signed.key_id


async def read_head(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str]] | None:
    """The request line and headers (names lower-cased), or None at end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return method, target, headers


@dataclass
class Reply:
    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    close_delimited: bool = False  # no Content-Length: the body ends when we hang up


Handler = Callable[[Request], Awaitable[Reply]]


async def accept_all(request: Request) -> Reply:
    return Reply(202)


@dataclass
class Receiver:
    handler: Handler
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    connections: set[asyncio.Task[None]] = field(default_factory=set)
    accepted: int = 0  # connections the server accepted, over its whole life

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.connections.add(task)
        self.accepted += 1
        try:
            while True:
                parsed = await read_head(reader)
                if parsed is None:
                    return
                method, target, headers = parsed
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                authority = headers.get("host", f"127.0.0.1:{self.port}")
                request = Request(method, target, headers, body, f"http://{authority}{target}")
                self.requests.append(request)
                reply = await self.handler(request)
                out = [f"HTTP/1.1 {reply.status} X"]
                out += [f"{name}: {value}" for name, value in reply.headers.items()]
                if reply.close_delimited:
                    out.append("Connection: close")
                elif "content-length" not in {name.lower() for name in reply.headers}:
                    out.append(f"Content-Length: {len(reply.body)}")
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + reply.body)
                await writer.drain()
                if reply.close_delimited:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:  # shutting down; asyncio 3.11 logs a cancelled handler
            return
        finally:
            self.connections.discard(task)
            writer.close()


@contextlib.asynccontextmanager
async def receiver(handler: Handler = accept_all) -> AsyncIterator[Receiver]:
    """A running :class:`Receiver` on a free loopback port, closed afterwards."""
    rx = Receiver(handler)
    server = await asyncio.start_server(rx._serve, "127.0.0.1", 0)
    rx.port = server.sockets[0].getsockname()[1]
    try:
        yield rx
    finally:
        server.close()
        for task in list(rx.connections):  # handlers still sleeping, clients gone
            task.cancel()
        await asyncio.gather(*rx.connections, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)

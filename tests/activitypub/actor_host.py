"""A tiny remote fediverse server for tests: actors with real keys, on loopback.

It serves actor documents (key inline, Mastodon style) and separate key
documents (Fedify style), so the server under test has something real to
fetch when it verifies a signature. Tests sign their requests themselves
with :meth:`RemoteActor.sign` — correctly, or forged on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, Response

from imago_fed.activitypub.signatures import sign_request_cavage, sign_request_rfc9421
from tests.support import free_port, wait_until

_KEYS: list[rsa.RSAPrivateKey] = []


def _key(index: int) -> rsa.RSAPrivateKey:
    while len(_KEYS) <= index:  # key generation is slow: share keys across tests
        _KEYS.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _KEYS[index]


@dataclass
class RemoteActor:
    host: ActorHost
    name: str
    private_key: rsa.RSAPrivateKey = field(repr=False)

    @property
    def id(self) -> str:
        return f"{self.host.base_url}/users/{self.name}"

    @property
    def key_id(self) -> str:
        return f"{self.id}#main-key"

    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def document(self) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.id,
            "type": "Person",
            "preferredUsername": self.name,
            "inbox": f"{self.id}/inbox",
            "endpoints": {"sharedInbox": f"{self.host.base_url}/inbox"},
            "publicKey": {"id": self.key_id, "owner": self.id, "publicKeyPem": self.public_pem()},
        }

    def activity(self, kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
        self.host.counter += 1
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{self.id}/activities/{self.host.counter}",
            "type": kind,
            "actor": self.id,
            "object": obj,
            **extra,
        }

    def sign(
        self,
        url: str,
        body: bytes,
        *,
        scheme: str = "cavage",
        now: datetime | None = None,
        key: rsa.RSAPrivateKey | None = None,
        key_id: str | None = None,
    ) -> dict[str, str]:
        headers = {"Content-Type": "application/activity+json"}
        sign = sign_request_rfc9421 if scheme == "rfc9421" else sign_request_cavage
        headers |= sign(
            "POST", url, headers, body, key_id or self.key_id, key or self.private_key,
            now or datetime.now(UTC),
        )  # fmt: skip
        return headers

    def sign_get(self, url: str) -> dict[str, str]:
        return sign_request_cavage(
            "GET", url, {}, None, self.key_id, self.private_key, datetime.now(UTC)
        )


class ActorHost:
    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.actors: dict[str, RemoteActor] = {}
        self.counter = 0
        self.fetches: list[str] = []
        self.app = Quart("actor_host")

        @self.app.get("/users/<name>")
        async def actor(name: str) -> Response:
            self.fetches.append(f"/users/{name}")
            if name not in self.actors:
                return Response("{}", status=404)
            body = json.dumps(self.actors[name].document())
            return Response(body, content_type="application/activity+json")

    def add(self, name: str, key_index: int = 0) -> RemoteActor:
        actor = RemoteActor(self, name, _key(key_index))
        self.actors[name] = actor
        return actor


@contextlib.asynccontextmanager
async def actor_host() -> AsyncIterator[ActorHost]:
    host = ActorHost()
    config = Config()
    config.bind = [f"127.0.0.1:{host.port}"]
    config.accesslog = None
    stop = asyncio.Event()
    task = asyncio.create_task(serve(host.app, config, shutdown_trigger=stop.wait))

    async def up() -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", host.port)
        except OSError:
            return False
        writer.close()
        return True

    await wait_until(up, timeout=10)
    try:
        yield host
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)

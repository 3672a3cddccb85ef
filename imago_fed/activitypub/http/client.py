"""The one outbound HTTP client for the fediverse: bounded, guarded, signing.

Every remote call (actor and key fetches, WebFinger, deliveries) goes
through :class:`FediClient`, so the limits hold everywhere:

* plain http only with ``[federation] allow_http``; never another scheme;
* no loopback/private/... address unless ``allow_private_addresses``,
  checked at connect time for every hop (see :mod:`.guard`);
* connect 5 s, whole call (redirects and a second knock included) 15 s;
* bodies capped at 1 MiB while streaming, compressed bodies refused
  (we ask for ``identity``, so a decompression bomb cannot get through);
* at most 3 redirects on GET, each hop checked and signed anew; POSTs
  never follow redirects (the receiver's status is the answer);
* JSON documents only under a JSON media type.

Signing, when a :class:`Signer` is given (every GET for servers with
authorized fetch, every POST), knocks twice if needed::

    scheme = remembered for the host (else cavage)
    send signed with scheme ──> 401/403? ──> send signed with the other one
                                                 └─ accepted? remember it
                                                    (memory + peer_hosts)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import ssl
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpcore
import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from imago_fed import __version__
from imago_fed.activitypub.signatures import (
    SignatureScheme,
    sign_request_cavage,
    sign_request_rfc9421,
)
from imago_fed.activitypub.signatures.base import host_from_url
from imago_fed.config import Settings

from .connections import HostConnections
from .errors import (
    BadContentType,
    BadDocument,
    FetchTimeout,
    ForbiddenUrl,
    NetworkError,
    RemoteStatus,
    ResponseTooLarge,
    TooManyRedirects,
)
from .guard import AddressPolicy, GuardedBackend, IPNetwork

__all__ = [
    "ACCEPT_ACTIVITY",
    "ACCEPT_JRD",
    "ClientLimits",
    "FediClient",
    "SchemeMemory",
    "Signer",
]

ACTIVITY_JSON = "application/activity+json"
ACCEPT_ACTIVITY = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
ACCEPT_JRD = "application/jrd+json, application/json"
JSON_MEDIA_TYPES = frozenset(
    {"application/activity+json", "application/ld+json", "application/json", "application/jrd+json"}
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_KNOCK_AGAIN = frozenset({401, 403})
# What we read of a POST's answer so the connection can be reused; beyond it we hang up.
_DRAIN_BYTES = 64 * 1024
_MAX_REMEMBERED_HOSTS = 10_000


@dataclass(frozen=True)
class Signer:
    """Who signs: a key id (``…#main-key``) and its RSA private key."""

    key_id: str
    private_key: rsa.RSAPrivateKey = field(repr=False)

    def headers(
        self,
        scheme: SignatureScheme,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        now: datetime,
    ) -> dict[str, str]:
        sign = sign_request_rfc9421 if scheme is SignatureScheme.RFC9421 else sign_request_cavage
        return sign(method, url, headers, body, self.key_id, self.private_key, now)


class SchemeMemory(Protocol):
    """Where the signature scheme that worked for a host is kept (``peer_hosts``), by name."""

    async def signature_scheme(self, host: str) -> str | None: ...

    async def signature_schemes(self, hosts: list[str]) -> dict[str, str]: ...

    async def remember_signature_scheme(self, host: str, scheme: str) -> None: ...


@dataclass(frozen=True)
class ClientLimits:
    connect_timeout: float = 5.0
    total_timeout: float = 15.0
    max_bytes: int = 1_048_576
    max_redirects: int = 3


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a pool whose network backend is :class:`GuardedBackend`.

    httpx has no public way to choose httpcore's network backend, so the pool
    it built is replaced by an equivalent one; request conversion and
    exception mapping stay httpx's own.
    """

    def __init__(
        self, policy: AddressPolicy, limits: httpx.Limits, ssl_context: ssl.SSLContext
    ) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )


def _other(scheme: SignatureScheme) -> SignatureScheme:
    if scheme is SignatureScheme.CAVAGE:
        return SignatureScheme.RFC9421
    return SignatureScheme.CAVAGE


def signing_threads() -> int:
    """How many threads sign deliveries: one per core this process may run on (at most 4).

    ``cryptography`` releases the GIL inside an RSA signature, so signing
    threads use the other cores while the event loop goes on with the
    exchanges; more threads than cores would only queue for them.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


class FediClient:
    """Outbound HTTP for federation; one per process, shared by fetches and delivery."""

    def __init__(
        self,
        settings: Settings,
        *,
        schemes: SchemeMemory | None = None,
        limits: ClientLimits | None = None,
        allowed_networks: Iterable[IPNetwork] = (),
    ) -> None:
        self.limits = limits or ClientLimits()
        self._allow_http = settings.federation.allow_http
        policy = AddressPolicy(
            allow_private=settings.federation.allow_private_addresses,
            allowed=tuple(allowed_networks),
        )
        pool_limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        ssl_context = httpx.create_ssl_context()  # certificates verified (certifi's roots)
        self._user_agent = f"imago-fed/{__version__} (+{settings.instance.base_url})"
        # Deliveries keep their own connections per host (see .connections: why not httpx).
        self.posts = HostConnections(
            policy, ssl_context, connect_timeout=self.limits.connect_timeout
        )
        self._client = httpx.AsyncClient(
            transport=_GuardedTransport(policy, pool_limits, ssl_context),
            timeout=httpx.Timeout(self.limits.total_timeout, connect=self.limits.connect_timeout),
            follow_redirects=False,
            trust_env=False,  # no proxies or .netrc from the environment
            headers={
                "User-Agent": self._user_agent,
                "Accept-Encoding": "identity",
            },
        )
        self._schemes = schemes
        self._known: dict[str, SignatureScheme] = {}
        # Deliveries are signed off the event loop (an RSA-2048 signature is
        # ~0.3 ms of CPU, a third of a delivery's); made on the first POST.
        self._signing: ThreadPoolExecutor | None = None

    async def aclose(self) -> None:
        await self._client.aclose()
        await self.posts.aclose()
        if self._signing is not None:
            self._signing.shutdown(wait=False, cancel_futures=True)
            self._signing = None

    # ------------------------------------------------------------ public
    async def get_json(
        self, url: str, signer: Signer | None = None, *, accept: str = ACCEPT_ACTIVITY
    ) -> dict[str, Any]:
        """GET a JSON object (signed when ``signer`` is given), following ≤ 3 redirects.

        Raises a :class:`FetchError` subclass; a non-2xx answer is
        :class:`RemoteStatus` with its ``status``.
        """
        async with self._deadline(url):
            for _ in range(self.limits.max_redirects + 1):
                response = await self._send("GET", url, None, signer, {"Accept": accept})
                try:
                    status = response.status_code
                    location = response.headers.get("location")
                    if status in _REDIRECTS and location:
                        url = str(response.url.join(location))
                        continue
                    if not 200 <= status < 300:
                        raise RemoteStatus(status, url)
                    media_type = response.headers.get("content-type", "").split(";")[0]
                    if media_type.strip().lower() not in JSON_MEDIA_TYPES:
                        raise BadContentType(f"{url} is {media_type or 'untyped'}, not JSON", url)
                    encoding = response.headers.get("content-encoding", "identity").lower()
                    if encoding.strip() not in ("", "identity"):
                        raise BadDocument(f"{url} sent a {encoding} body we did not ask for", url)
                    data = await self._read(response, url)
                finally:
                    await response.aclose()
                try:
                    document = json.loads(data)
                except ValueError as exc:
                    raise BadDocument(f"{url} is not valid JSON", url) from exc
                if not isinstance(document, dict):
                    raise BadDocument(f"{url} is not a JSON object", url)
                return document
        raise TooManyRedirects(f"more than {self.limits.max_redirects} redirects", url)

    async def get_bytes(
        self, url: str, *, max_bytes: int, timeout: float = 60.0
    ) -> tuple[bytes, str]:
        """GET a file (an attachment, an avatar): its bytes and declared media type.

        Unsigned (media servers answer anyone), the same guard and redirect
        rules as documents, at most ``max_bytes`` (:class:`ResponseTooLarge`
        beyond, checked on the announced length and while reading).
        """
        async with self._deadline(url, timeout):
            for _ in range(self.limits.max_redirects + 1):
                response = await self._send("GET", url, None, None, {"Accept": "*/*"})
                try:
                    status = response.status_code
                    location = response.headers.get("location")
                    if status in _REDIRECTS and location:
                        url = str(response.url.join(location))
                        continue
                    if not 200 <= status < 300:
                        raise RemoteStatus(status, url)
                    encoding = response.headers.get("content-encoding", "identity").lower()
                    if encoding.strip() not in ("", "identity"):
                        raise BadDocument(f"{url} sent a {encoding} body we did not ask for", url)
                    media_type = response.headers.get("content-type", "").split(";")[0].strip()
                    return await self._read(response, url, limit=max_bytes), media_type.lower()
                finally:
                    await response.aclose()
        raise TooManyRedirects(f"more than {self.limits.max_redirects} redirects", url)

    async def post_activity(self, inbox_url: str, body: bytes, signer: Signer) -> int:
        """POST a signed activity; return the receiver's status (redirects not followed).

        Raises :class:`ForbiddenUrl` (permanent) or :class:`NetworkError`
        (transient) when there is no status to return. Goes over a kept-alive
        connection to the inbox's host when there is one (:attr:`posts`); the
        answer is read up to 64 KiB so the connection can serve the next POST.
        """
        async with self._deadline(inbox_url):
            self._check_url(inbox_url)
            host = host_from_url(inbox_url)
            scheme = await self.signature_scheme_for(host)
            status = await self._post_signed(inbox_url, body, signer, scheme)
            if status not in _KNOCK_AGAIN:
                return status
            scheme = _other(scheme)
            status = await self._post_signed(inbox_url, body, signer, scheme)
            if status < 400:
                await self._remember(host, scheme)
            return status

    async def signature_scheme_for(self, host: str) -> SignatureScheme:
        """The scheme to knock with first at ``host``: remembered, else cavage."""
        scheme = self._known.get(host)
        if scheme is None:
            remembered = await self._schemes.signature_scheme(host) if self._schemes else None
            scheme = SignatureScheme(remembered) if remembered else SignatureScheme.CAVAGE
            self._cache(host, scheme)
        return scheme

    async def prime_schemes(self, hosts: Iterable[str]) -> None:
        """Look up the schemes of hosts not known yet, in one query (a fan-out
        reaches hundreds of new hosts at once; one query each would be slow)."""
        unknown = sorted({host for host in hosts if host not in self._known})
        if not unknown or self._schemes is None:
            return
        remembered = await self._schemes.signature_schemes(unknown)
        for host in unknown:
            name = remembered.get(host)
            self._cache(host, SignatureScheme(name) if name else SignatureScheme.CAVAGE)

    # ----------------------------------------------------------- private
    def _cache(self, host: str, scheme: SignatureScheme) -> None:
        if host not in self._known and len(self._known) >= _MAX_REMEMBERED_HOSTS:
            self._known.pop(next(iter(self._known)))
        self._known[host] = scheme

    async def _remember(self, host: str, scheme: SignatureScheme) -> None:
        self._cache(host, scheme)
        if self._schemes is not None:
            await self._schemes.remember_signature_scheme(host, scheme.value)

    def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise ForbiddenUrl(f"refusing a {scheme or 'relative'} URL", url)
        if scheme == "http" and not self._allow_http:
            raise ForbiddenUrl("refusing plain http (set [federation] allow_http)", url)
        if not parts.hostname or parts.username is not None or parts.password is not None:
            raise ForbiddenUrl("refusing a URL without a host or with credentials", url)

    async def _send(
        self,
        method: str,
        url: str,
        body: bytes | None,
        signer: Signer | None,
        headers: dict[str, str],
    ) -> httpx.Response:
        """One hop, knocking a second time with the other signature scheme on 401/403."""
        self._check_url(url)
        if signer is None:
            return await self._exchange(method, url, headers, body)
        host = host_from_url(url)
        scheme = await self.signature_scheme_for(host)
        response = await self._signed_exchange(method, url, headers, body, signer, scheme)
        if response.status_code not in _KNOCK_AGAIN:
            return response
        await response.aclose()
        scheme = _other(scheme)
        response = await self._signed_exchange(method, url, headers, body, signer, scheme)
        if response.status_code < 400:
            await self._remember(host, scheme)
        return response

    async def _post_signed(
        self, url: str, body: bytes, signer: Signer, scheme: SignatureScheme
    ) -> int:
        headers = {"Content-Type": ACTIVITY_JSON}
        if self._signing is None:
            self._signing = ThreadPoolExecutor(signing_threads(), thread_name_prefix="signing")
        signed = await asyncio.get_running_loop().run_in_executor(
            self._signing, signer.headers, scheme, "POST", url, headers, body, datetime.now(UTC)
        )
        fields = [
            ("Host", signed.get("Host") or host_from_url(url)),
            ("User-Agent", self._user_agent),
            ("Accept-Encoding", "identity"),
            ("Content-Length", str(len(body))),
            *headers.items(),
            *((name, value) for name, value in signed.items() if name.lower() != "host"),
        ]
        return await self.posts.post(url, fields, body, max_bytes=_DRAIN_BYTES)

    async def _signed_exchange(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        signer: Signer,
        scheme: SignatureScheme,
    ) -> httpx.Response:
        signed = signer.headers(scheme, method, url, headers, body, datetime.now(UTC))
        return await self._exchange(method, url, {**headers, **signed}, body)

    async def _exchange(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> httpx.Response:
        request = self._client.build_request(method, url, headers=headers, content=body)
        with self._mapped(url):
            return await self._client.send(request, stream=True)

    async def _read(self, response: httpx.Response, url: str, limit: int | None = None) -> bytes:
        limit = self.limits.max_bytes if limit is None else limit
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ResponseTooLarge(f"{url} announces {declared} bytes (cap {limit})", url)
        chunks: list[bytes] = []
        size = 0
        with self._mapped(url):
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > limit:
                    raise ResponseTooLarge(f"{url} sent more than {limit} bytes", url)
                chunks.append(chunk)
        return b"".join(chunks)

    @contextlib.contextmanager
    def _mapped(self, url: str) -> Iterator[None]:
        """httpx's exceptions become ours here, and nowhere else."""
        try:
            yield
        except httpx.TimeoutException as exc:
            raise FetchTimeout(f"{url}: timed out ({exc})", url) from exc
        except httpx.TransportError as exc:
            raise NetworkError(f"{url}: {type(exc).__name__}: {exc}", url) from exc
        except httpx.InvalidURL as exc:
            raise ForbiddenUrl(f"invalid URL: {exc}", url) from exc

    @contextlib.asynccontextmanager
    async def _deadline(self, url: str, seconds: float | None = None) -> AsyncIterator[None]:
        seconds = self.limits.total_timeout if seconds is None else seconds
        try:
            async with asyncio.timeout(seconds):
                yield
        except TimeoutError as exc:
            raise FetchTimeout(f"{url}: no answer within {seconds} s", url) from exc

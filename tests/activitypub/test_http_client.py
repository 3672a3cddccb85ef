"""The outbound HTTP client against real servers on loopback.

The address guard is tested with the guard on (private addresses refused)
and a real server listening, so a refusal that came too late -- after
connecting -- shows up as a request the server saw.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import threading
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from imago_fed import __version__
from imago_fed.activitypub.http import (
    BadContentType,
    BadDocument,
    ClientLimits,
    FediClient,
    FetchTimeout,
    ForbiddenAddress,
    ForbiddenUrl,
    NetworkError,
    RemoteStatus,
    ResponseTooLarge,
    Signer,
    TooManyRedirects,
    forbidden_reason,
)
from imago_fed.activitypub.http.client import signing_threads
from imago_fed.activitypub.signatures import SignatureScheme
from tests.receiver import Receiver, Reply, Request, receiver
from tests.support import free_port

AS_JSON = {"Content-Type": "application/activity+json"}
LOOPBACK_V4 = ipaddress.ip_network("127.0.0.1/32")
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SIGNER = Signer("https://groups.test/groups/garden#main-key", KEY)


@pytest.fixture
def open_settings(make_settings):
    """Plain http and loopback allowed: what talking to a test server needs."""
    return make_settings(
        IMAGO_FEDERATION_ALLOW_HTTP="true", IMAGO_FEDERATION_ALLOW_PRIVATE_ADDRESSES="true"
    )


@pytest.fixture
async def client(open_settings) -> AsyncIterator[FediClient]:
    http = FediClient(open_settings, limits=ClientLimits(total_timeout=3))
    yield http
    await http.aclose()


@pytest.fixture
async def guarded(make_settings) -> AsyncIterator[FediClient]:
    """Plain http allowed (test servers have no TLS), private addresses not."""
    http = FediClient(make_settings(IMAGO_FEDERATION_ALLOW_HTTP="true"))
    yield http
    await http.aclose()


async def document(request: Request) -> Reply:
    return Reply(200, AS_JSON, json.dumps({"id": request.url}).encode())


# ----------------------------------------------------------- the guard
@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.9.9.9",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "[::1]",
        "[::]",
        "[fe80::1]",
        "[fc00::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:10.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::1]",
        "localhost",
    ],
)
async def test_private_addresses_are_refused_before_connecting(
    guarded: FediClient, host: str
) -> None:
    async with receiver(document) as rx:
        url = f"http://{host}:{rx.port}/doc"
        with pytest.raises(ForbiddenAddress):
            await guarded.get_json(url)
        with pytest.raises(ForbiddenAddress):
            await guarded.post_activity(url, b"{}", SIGNER)
    assert rx.requests == []


def test_public_addresses_pass_the_guard() -> None:
    for text in ("8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8", "93.184.216.34"):
        assert forbidden_reason(ipaddress.ip_address(text)) is None, text


async def test_the_guard_lifted_reaches_loopback(client: FediClient) -> None:
    async with receiver(document) as rx:
        assert await client.get_json(f"{rx.base_url}/doc") == {"id": f"{rx.base_url}/doc"}
        assert f"http://localhost:{rx.port}/doc" in str(
            await client.get_json(f"http://localhost:{rx.port}/doc")
        )


async def test_plain_http_and_other_schemes_are_refused(make_settings) -> None:
    http = FediClient(make_settings(IMAGO_FEDERATION_ALLOW_PRIVATE_ADDRESSES="true"))
    try:
        async with receiver(document) as rx:
            for url in (
                f"{rx.base_url}/doc",
                "ftp://example.com/x",
                "file:///etc/passwd",
                "/relative",
                "https://user:secret@example.com/x",
            ):
                with pytest.raises(ForbiddenUrl):
                    await http.get_json(url)
            with pytest.raises(ForbiddenUrl):
                await http.post_activity(f"{rx.base_url}/inbox", b"{}", SIGNER)
        assert rx.requests == []
    finally:
        await http.aclose()


# ------------------------------------------------------------- bodies
async def test_oversized_bodies_are_cut_off(client: FediClient) -> None:
    big = b"[" + b"0," * 600_000 + b"0]"  # ~1.2 MB of valid JSON

    async def handler(request: Request) -> Reply:
        return Reply(200, AS_JSON, big, close_delimited=request.target == "/streamed")

    async with receiver(handler) as rx:
        with pytest.raises(ResponseTooLarge):
            await client.get_json(f"{rx.base_url}/announced")  # Content-Length says it all
        with pytest.raises(ResponseTooLarge):
            await client.get_json(f"{rx.base_url}/streamed")  # no length: counted while read


async def test_json_documents_need_a_json_content_type(client: FediClient) -> None:
    replies = {
        "/html": Reply(200, {"Content-Type": "text/html"}, b"<p>hi</p>"),
        "/untyped": Reply(200, {}, b"{}"),
        "/array": Reply(200, AS_JSON, b"[1, 2]"),
        "/broken": Reply(200, AS_JSON, b"{not json"),
        "/gzip": Reply(200, {**AS_JSON, "Content-Encoding": "gzip"}, b"\x1f\x8b..."),
        "/ld": Reply(200, {"Content-Type": 'application/ld+json; profile="x"'}, b'{"ok": 1}'),
        "/jrd": Reply(200, {"Content-Type": "application/jrd+json"}, b'{"ok": 2}'),
        "/json": Reply(200, {"Content-Type": "application/json; charset=utf-8"}, b'{"ok": 3}'),
    }

    async def handler(request: Request) -> Reply:
        return replies[request.target]

    async with receiver(handler) as rx:
        for path in ("/html", "/untyped"):
            with pytest.raises(BadContentType):
                await client.get_json(rx.base_url + path)
        for path in ("/array", "/broken", "/gzip"):
            with pytest.raises(BadDocument):
                await client.get_json(rx.base_url + path)
        assert await client.get_json(rx.base_url + "/ld") == {"ok": 1}
        assert await client.get_json(rx.base_url + "/jrd") == {"ok": 2}
        assert await client.get_json(rx.base_url + "/json") == {"ok": 3}


async def test_headers_statuses_and_failures(client: FediClient, open_settings) -> None:
    async def handler(request: Request) -> Reply:
        if request.target == "/slow":
            await asyncio.sleep(10)
        if request.target == "/missing":
            return Reply(404, AS_JSON, b"{}")
        return await document(request)

    async with receiver(handler) as rx:
        await client.get_json(f"{rx.base_url}/doc")
        sent = rx.requests[-1].headers
        assert sent["user-agent"] == f"imago-fed/{__version__} (+https://groups.test)"
        assert sent["accept"].startswith("application/activity+json")
        assert "signature" not in sent  # no signer, no signature
        with pytest.raises(RemoteStatus) as missing:
            await client.get_json(f"{rx.base_url}/missing")
        assert missing.value.status == 404
        fast = FediClient(open_settings, limits=ClientLimits(total_timeout=0.3))
        try:
            with pytest.raises(FetchTimeout):
                await fast.get_json(f"{rx.base_url}/slow")
        finally:
            await fast.aclose()
    with pytest.raises(NetworkError):
        await client.get_json(f"http://127.0.0.1:{free_port()}/nobody-listens")


# ---------------------------------------------------------- redirects
async def redirecting(rx_holder: list[Receiver], request: Request) -> Reply:
    path = request.target
    if path.startswith("/hop"):
        left = int(path[4:])
        target = "/doc" if left == 0 else f"/hop{left - 1}"
        return Reply(302, {"Location": target})
    if path == "/to-v6":
        return Reply(301, {"Location": f"http://[::1]:{rx_holder[0].port}/doc"})
    if path == "/to-ftp":
        return Reply(307, {"Location": "ftp://example.com/doc"})
    return await document(request)


async def test_three_redirects_are_followed_not_four(client: FediClient) -> None:
    holder: list[Receiver] = []
    async with receiver(lambda r: redirecting(holder, r)) as rx:
        holder.append(rx)
        assert await client.get_json(f"{rx.base_url}/hop2") == {"id": f"{rx.base_url}/doc"}
        assert [r.target for r in rx.requests] == ["/hop2", "/hop1", "/hop0", "/doc"]
        rx.requests.clear()
        with pytest.raises(TooManyRedirects):
            await client.get_json(f"{rx.base_url}/hop3")
        assert "/doc" not in [r.target for r in rx.requests]


async def test_every_redirect_is_checked_again(make_settings) -> None:
    # Loopback IPv4 is exempted so the test server is reachable; the guard
    # stays on for everything else, including where the redirects point.
    http = FediClient(
        make_settings(IMAGO_FEDERATION_ALLOW_HTTP="true"), allowed_networks=[LOOPBACK_V4]
    )
    holder: list[Receiver] = []
    try:
        async with receiver(lambda r: redirecting(holder, r)) as rx:
            holder.append(rx)
            assert await http.get_json(f"{rx.base_url}/hop0") == {"id": f"{rx.base_url}/doc"}
            with pytest.raises(ForbiddenAddress):
                await http.get_json(f"{rx.base_url}/to-v6")
            with pytest.raises(ForbiddenUrl):
                await http.get_json(f"{rx.base_url}/to-ftp")
    finally:
        await http.aclose()


async def test_signed_get_signs_every_hop(client: FediClient) -> None:
    holder: list[Receiver] = []
    async with receiver(lambda r: redirecting(holder, r)) as rx:
        holder.append(rx)
        await client.get_json(f"{rx.base_url}/hop1", SIGNER)
        assert len(rx.requests) == 3
        for request in rx.requests:
            scheme, key_id = request.verify(KEY.public_key())
            assert (scheme, key_id) == (SignatureScheme.CAVAGE, SIGNER.key_id)


async def test_a_post_answer_is_its_status_whatever_the_body(client: FediClient) -> None:
    async def handler(request: Request) -> Reply:
        request.verify(KEY.public_key())
        body = b"\x1f\x8b" + b"x" * 200_000
        return Reply(202, {"Content-Encoding": "gzip"}, body, close_delimited=True)

    async with receiver(handler) as rx:
        assert await client.post_activity(f"{rx.base_url}/inbox", b'{"a": 1}', SIGNER) == 202
        (request,) = rx.requests
        assert request.headers["content-type"] == "application/activity+json"
        assert request.body == b'{"a": 1}'


# ------------------------------------------- POSTs: kept-alive connections per host
async def test_posts_to_one_host_share_one_kept_alive_connection(client: FediClient) -> None:
    async with receiver() as rx, receiver() as other:
        for n in range(3):
            body = json.dumps({"n": n}).encode()
            assert await client.post_activity(f"{rx.base_url}/inbox", body, SIGNER) == 202
        assert await client.post_activity(f"{other.base_url}/inbox", b"{}", SIGNER) == 202
        assert (rx.accepted, other.accepted, client.posts.opened) == (1, 1, 2)
        for request in rx.requests:  # every POST signed on its own
            assert request.verify(KEY.public_key()) == (SignatureScheme.CAVAGE, SIGNER.key_id)
        # A connection the server asked to close is not kept.
        await client.post_activity(f"{rx.base_url}/x", b"{}", SIGNER)

    async def closing(request: Request) -> Reply:
        return Reply(202, close_delimited=True)

    async with receiver(closing) as rx:
        for _ in range(2):
            assert await client.post_activity(f"{rx.base_url}/inbox", b"{}", SIGNER) == 202
        assert rx.accepted == 2


class _ThreadNotingKey:
    """An RSA key that notes the thread each signature is made on (and signs for real)."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self._key = key
        self.threads: list[int] = []

    def sign(self, data: bytes, pad: Any, algorithm: Any) -> bytes:
        self.threads.append(threading.get_ident())
        return self._key.sign(data, pad, algorithm)


async def test_posts_are_signed_off_the_event_loop_thread(client: FediClient) -> None:
    """The RSA signature (a third of a delivery's CPU) runs in the signing
    threads, so the loop goes on with other exchanges meanwhile; each POST is
    still signed on its own and verifies."""
    noting = _ThreadNotingKey(KEY)
    signer = Signer(SIGNER.key_id, cast(rsa.RSAPrivateKey, noting))
    async with receiver() as rx:
        bodies = [json.dumps({"n": n}).encode() for n in range(6)]
        urls = [f"{rx.base_url}/inbox/{n}" for n in range(6)]
        posts = zip(urls, bodies, strict=True)
        statuses = await asyncio.gather(*(client.post_activity(u, b, signer) for u, b in posts))
        assert statuses == [202] * 6
        assert len(noting.threads) == 6
        assert threading.get_ident() not in noting.threads
        assert len(set(noting.threads)) <= signing_threads()
        signatures = set()
        for request in rx.requests:
            assert request.verify(KEY.public_key()) == (SignatureScheme.CAVAGE, SIGNER.key_id)
            signatures.add(request.headers["signature"])
        assert len(signatures) == 6


async def test_a_connection_the_server_dropped_while_idle_is_replaced(
    client: FediClient,
) -> None:
    """The keep-alive race: the server drops a kept connection as the next POST
    arrives, without answering; the POST is sent again on a new connection
    (no answer byte came back, so the receiver did not act on it)."""
    accepted, answered = 0, 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted, answered
        accepted += 1
        for turn in range(2):
            head = await reader.readuntil(b"\r\n\r\n")
            fields = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:] if line)
            await reader.readexactly(
                int({k.lower(): v for k, v in fields.items()}[b"content-length"])
            )
            if turn == 1:
                break  # hang up on the second request, silently
            writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            answered += 1
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/inbox"
    try:
        for _ in range(3):
            assert await client.post_activity(url, b"{}", SIGNER) == 202
        assert (accepted, answered) == (3, 3)  # POST 2 and 3 each came on a new connection
    finally:
        server.close()


async def test_a_post_that_times_out_leaves_no_connection_behind(open_settings) -> None:
    slow = True

    async def handler(request: Request) -> Reply:
        if slow:
            await asyncio.sleep(5)
        return Reply(202)

    fast = FediClient(open_settings, limits=ClientLimits(total_timeout=0.3))
    try:
        async with receiver(handler) as rx:
            with pytest.raises(FetchTimeout):
                await fast.post_activity(f"{rx.base_url}/inbox", b"{}", SIGNER)
            slow = False
            assert await fast.post_activity(f"{rx.base_url}/inbox", b"{}", SIGNER) == 202
            assert rx.accepted == 2  # the timed-out connection was not reused
    finally:
        await fast.aclose()


async def test_https_posts_verify_the_certificate(open_settings, tmp_path) -> None:
    """A self-signed certificate is refused: the POST never reaches the handler."""
    import datetime as dt
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(KEY.public_key()).serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(KEY, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        KEY.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    reached = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal reached
        reached += 1
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    http = FediClient(open_settings, limits=ClientLimits(total_timeout=3))
    try:
        with pytest.raises(NetworkError, match="CERTIFICATE_VERIFY_FAILED"):
            await http.post_activity(f"https://localhost:{port}/inbox", b"{}", SIGNER)
        assert reached == 0
    finally:
        await http.aclose()
        server.close()

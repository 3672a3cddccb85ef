"""Double knocking: cavage first, RFC 9421 on 401/403, and the host remembered.

The receivers really verify: each request's signature is checked with the
public key, and a receiver accepts only the scheme it is told to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from imago_fed.activitypub.http import FediClient, Signer
from imago_fed.activitypub.signatures import SignatureError, SignatureScheme
from imago_fed.store.peer_hosts import PgPeerHosts
from tests.receiver import Reply, Request, receiver

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SIGNER = Signer("https://groups.test/groups/garden#main-key", KEY)
AS_JSON = {"Content-Type": "application/activity+json"}


class OnlyScheme:
    """A receiver that verifies every signature and accepts one scheme only."""

    def __init__(self, accepted: SignatureScheme) -> None:
        self.accepted = accepted
        self.seen: list[SignatureScheme] = []

    async def __call__(self, request: Request) -> Reply:
        try:
            scheme, _ = request.verify(KEY.public_key())
        except SignatureError as exc:
            raise AssertionError(f"a signature did not verify: {exc}") from exc
        self.seen.append(scheme)
        if scheme is not self.accepted:
            return Reply(401)
        if request.method == "GET":
            return Reply(200, AS_JSON, b'{"ok": true}')
        return Reply(202)


@pytest.fixture
async def pool(migrated_db: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
def settings(make_settings):
    return make_settings(
        IMAGO_FEDERATION_ALLOW_HTTP="true", IMAGO_FEDERATION_ALLOW_PRIVATE_ADDRESSES="true"
    )


async def test_rfc9421_only_receiver_gets_the_retry_and_is_remembered(
    pool: asyncpg.Pool, settings
) -> None:
    handler = OnlyScheme(SignatureScheme.RFC9421)
    async with receiver(handler) as rx:
        host = f"127.0.0.1:{rx.port}"
        http = FediClient(settings, schemes=PgPeerHosts(pool))
        try:
            assert await http.post_activity(f"{rx.base_url}/inbox", b'{"a": 1}', SIGNER) == 202
            assert handler.seen == [SignatureScheme.CAVAGE, SignatureScheme.RFC9421]
            stored = "SELECT signature_scheme FROM peer_hosts WHERE host = $1"
            assert await pool.fetchval(stored, host) == "rfc9421"

            assert await http.post_activity(f"{rx.base_url}/inbox", b'{"a": 2}', SIGNER) == 202
            assert handler.seen[2:] == [SignatureScheme.RFC9421]  # no cavage knock this time
        finally:
            await http.aclose()

        # A fresh client (another process, a restart) reads the memory from the database.
        fresh = FediClient(settings, schemes=PgPeerHosts(pool))
        try:
            assert await fresh.get_json(f"{rx.base_url}/doc", SIGNER) == {"ok": True}
            assert handler.seen[3:] == [SignatureScheme.RFC9421]
        finally:
            await fresh.aclose()


async def test_a_host_that_went_back_to_cavage_is_remembered_again(
    pool: asyncpg.Pool, settings
) -> None:
    handler = OnlyScheme(SignatureScheme.CAVAGE)
    async with receiver(handler) as rx:
        host = f"127.0.0.1:{rx.port}"
        await PgPeerHosts(pool).remember_signature_scheme(host, SignatureScheme.RFC9421)
        http = FediClient(settings, schemes=PgPeerHosts(pool))
        try:
            assert await http.post_activity(f"{rx.base_url}/inbox", b"{}", SIGNER) == 202
            assert await http.post_activity(f"{rx.base_url}/inbox", b"{}", SIGNER) == 202
        finally:
            await http.aclose()
    assert handler.seen == [SignatureScheme.RFC9421, SignatureScheme.CAVAGE, SignatureScheme.CAVAGE]
    stored = "SELECT signature_scheme FROM peer_hosts WHERE host = $1"
    assert await pool.fetchval(stored, host) == "cavage"


async def test_schemes_are_looked_up_for_many_hosts_at_once(pool: asyncpg.Pool, settings) -> None:
    handler = OnlyScheme(SignatureScheme.RFC9421)
    async with receiver(handler) as rx:
        host = f"127.0.0.1:{rx.port}"
        await PgPeerHosts(pool).remember_signature_scheme(host, SignatureScheme.RFC9421)
        http = FediClient(settings, schemes=PgPeerHosts(pool))
        try:
            await http.prime_schemes([host, "other.example"])
            await pool.execute("DELETE FROM peer_hosts")  # from here on, only memory answers
            assert await http.signature_scheme_for("other.example") is SignatureScheme.CAVAGE
            assert await http.post_activity(f"{rx.base_url}/inbox", b"{}", SIGNER) == 202
        finally:
            await http.aclose()
    assert handler.seen == [SignatureScheme.RFC9421]  # the first knock was the right one


async def test_a_refusal_of_both_schemes_is_returned_and_nothing_remembered(
    pool: asyncpg.Pool, settings
) -> None:
    async def refuse(request: Request) -> Reply:
        request.verify(KEY.public_key())
        return Reply(403)

    async with receiver(refuse) as rx:
        http = FediClient(settings, schemes=PgPeerHosts(pool))
        try:
            assert await http.post_activity(f"{rx.base_url}/inbox", b"{}", SIGNER) == 403
        finally:
            await http.aclose()
        assert len(rx.requests) == 2  # one knock each, no more
    assert await pool.fetchval("SELECT count(*) FROM peer_hosts") == 0

"""Direct messages from a group to a real Fedify peer, and every way they fail.

    our server (subprocess: serves the group actor and its key)
    FediverseDirectMessages (in this process, same database and secret)
        ──Create{Note} to alice only, signed by the group──> alice (Fedify, strict:
          verifies the HTTP signature by fetching the group's key from our server)

Failures: an actor nobody answers for, a private address when private
addresses are not allowed, a blocked domain (no request at all), an inbox
that answers 500 (the in-process receiver: it also checks the bytes). After
all of it, no table holds the secret and no log line quotes it.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from imago_fed.activitypub.actors import ActorResolver
from imago_fed.activitypub.direct import FediverseDirectMessages
from imago_fed.activitypub.http import FediClient
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.instance_actor import InstanceActor
from imago_fed.activitypub.keys import KeyVault, RsaKeyPairFactory, instance_secret
from imago_fed.activitypub.signers import Signers
from imago_fed.activitypub.vocab import AS_PUBLIC
from imago_fed.config import Settings, load_settings
from imago_fed.domain.clock import SystemClock
from imago_fed.domain.ports import DirectMessageFailed
from imago_fed.store.federation import PgFederation
from imago_fed.store.groups import PgGroupRepository
from imago_fed.store.instance_keys import PgSigningKeys
from tests.interop.fedify_peer import FedifyPeer
from tests.interop.instance import Instance, running_instance
from tests.receiver import Reply, Request, receiver
from tests.support import free_port

SLUG = "council"


@dataclass
class Side:
    """Our server, and the adapter built in this process over its database."""

    server: Instance
    pool: asyncpg.Pool
    settings: Settings
    group_id: int
    public_pem: str
    clients: list[FediClient]

    def messenger(self, **federation: str) -> FediverseDirectMessages:
        """The adapter; ``federation`` overrides IMAGO_FEDERATION_* settings."""
        settings = self.settings
        if federation:
            env = {**self.server.env, **{f"IMAGO_FEDERATION_{k.upper()}": v
                                         for k, v in federation.items()}}  # fmt: skip
            settings = load_settings(path=self.server.workdir / "empty.toml", env=env)
        http = FediClient(settings)
        self.clients.append(http)
        vault = KeyVault(instance_secret(settings))
        ids = Ids(settings.instance.base_url)
        signers = Signers(PgSigningKeys(self.pool), vault, ids, RsaKeyPairFactory(vault))
        clock = SystemClock()
        fed = PgFederation(self.pool, clock.now)
        resolver = ActorResolver(fed.remote_actors, InstanceActor(signers, http).fetch_json, clock)
        return FediverseDirectMessages(
            fed, http, signers, resolver, PgGroupRepository(self.pool), ids, clock
        )


@pytest.fixture(scope="module")
def alice() -> Iterator[FedifyPeer]:
    with FedifyPeer("alice") as peer:
        yield peer


@pytest.fixture(scope="module")
async def side(tmp_path_factory: pytest.TempPathFactory, pg_admin_dsn: str) -> AsyncIterator[Side]:
    workdir: Path = tmp_path_factory.mktemp("direct")
    async with running_instance("dm", workdir, pg_admin_dsn) as server:
        (server.workdir / "empty.toml").write_text("")
        settings = load_settings(path=server.workdir / "empty.toml", env=server.env)
        group = await server.create_group(SLUG)
        pool = await asyncpg.create_pool(server.dsn, min_size=1, max_size=4)
        try:
            row = await pool.fetchrow("SELECT id, public_key_pem FROM groups WHERE slug = $1", SLUG)
            assert row is not None, group
            side = Side(server, pool, settings, row["id"], row["public_key_pem"], [])
            yield side
            for client in side.clients:
                await client.aclose()
        finally:
            await pool.close()


async def copies_of(side: Side, text: str) -> list[str]:
    """The tables with a row whose text contains ``text``."""
    tables = await side.pool.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )
    found = []
    for (table,) in tables:
        hit = await side.pool.fetchval(
            f'SELECT 1 FROM "{table}" AS t WHERE t::text LIKE $1 LIMIT 1', f"%{text}%"
        )
        if hit:
            found.append(table)
    return found


def assert_not_logged(caplog: pytest.LogCaptureFixture, side: Side, text: str) -> None:
    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert text not in logged
    assert text not in side.server.log_path.read_text(errors="replace")


async def test_alice_receives_a_create_note_addressed_to_her_alone(
    side: Side, alice: FedifyPeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = f"credential-{secrets.token_hex(12)}"
    messenger = side.messenger()
    assert messenger.accepts(alice.actor_url)

    await messenger.send(side.group_id, alice.actor_url, f"Your voting credential:\n{secret}")

    record = await alice.await_for(
        lambda r: r["type"] == "Create" and secret in json.dumps(r["activity"]),
        description="the direct Create",
    )
    group = side.server.actor(SLUG)
    signature = record["http_signature"]
    assert signature["verified"] is True  # Fedify fetched our key and checked it
    assert signature["key_id"] == f"{group}#main-key"
    assert signature["owner"] == group
    assert record["actor"] == group
    assert record["recipient"] == "alice"  # her own inbox, not the shared one
    assert record["inbox"] == "/users/alice/inbox"

    activity = record["activity"]
    note = activity["object"]
    assert activity["to"] == [alice.actor_url] or activity["to"] == alice.actor_url
    assert note["to"] == [alice.actor_url] or note["to"] == alice.actor_url
    assert not activity.get("cc") and not note.get("cc")
    assert AS_PUBLIC not in json.dumps(activity)
    assert f"{group}/followers" not in json.dumps(activity)
    assert note["type"] == "Note" and note["attributedTo"] == group
    tags = note["tag"] if isinstance(note["tag"], list) else [note["tag"]]
    assert tags == [
        {"type": "Mention", "href": alice.actor_url, "name": f"@alice@{alice.host}:{alice.port}"}
    ]
    assert note["content"].startswith(
        f'<p><span class="h-card"><a href="{alice.actor_url}" class="u-url mention">'
        "@<span>alice</span></a></span> Your voting credential:<br>"
    )

    # Not kept, not served: the ids are ours, but a fetch finds nothing.
    assert side.server.base_url in note["id"] and side.server.base_url in activity["id"]
    async with httpx.AsyncClient(headers={"Accept": "application/activity+json"}) as client:
        for uri in (note["id"], activity["id"]):
            assert (await client.get(uri)).status_code == 404
    assert await copies_of(side, secret) == []
    assert_not_logged(caplog, side, secret)


async def test_each_failure_raises_and_leaves_no_trace(
    side: Side, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = f"credential-{secrets.token_hex(12)}"
    messenger = side.messenger()

    nobody = f"http://127.0.0.1:{free_port()}/users/ghost"
    with pytest.raises(DirectMessageFailed, match="cannot resolve") as failed:
        await messenger.send(side.group_id, nobody, secret)
    assert secret not in str(failed.value)

    # With the production guard, a loopback or metadata address is never contacted.
    guarded = side.messenger(allow_private_addresses="false")
    for hostile in ("http://169.254.169.254/latest/meta-data", nobody):
        with pytest.raises(DirectMessageFailed) as failed:
            await guarded.send(side.group_id, hostile, secret)
        assert "refusing to connect" in str(failed.value)

    assert not messenger.accepts("file:///etc/passwd")
    assert not messenger.accepts(side.server.actor(SLUG))  # our own group
    with pytest.raises(DirectMessageFailed, match="not a fediverse actor"):
        await messenger.send(side.group_id, "@dana:matrix.example", secret)
    with pytest.raises(DirectMessageFailed, match="no live group"):
        await messenger.send(side.group_id + 1000, nobody, secret)

    assert await copies_of(side, secret) == []
    assert_not_logged(caplog, side, secret)


async def test_a_blocked_domain_is_not_contacted(side: Side) -> None:
    with FedifyPeer("mallory", host="localhost") as mallory:
        blocked = await side.server.api(
            "POST", "/blocks", json={"kind": "domain", "value": "localhost"}
        )
        assert blocked.status_code == 201, blocked.text
        try:
            with pytest.raises(DirectMessageFailed, match="blocked"):
                await side.messenger().send(side.group_id, mallory.actor_url, "secret")
            assert await mallory.areceived() == []
        finally:
            await side.server.api("DELETE", f"/blocks/{blocked.json()['id']}")


async def test_an_inbox_that_refuses_fails_the_send(side: Side) -> None:
    """The in-process receiver serves an actor whose inbox answers 500, and checks the bytes."""
    secret = f"credential-{secrets.token_hex(12)}"

    async def answer(request: Request) -> Reply:
        if request.method == "GET" and request.target == "/users/zoe":
            document = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": actor, "type": "Person", "preferredUsername": "zoe",
                "inbox": f"{actor}/inbox",
                "endpoints": {"sharedInbox": f"{base}/inbox"},
            }  # fmt: skip
            body = json.dumps(document).encode()
            return Reply(200, {"Content-Type": "application/activity+json"}, body)
        return Reply(500)

    async with receiver(answer) as rx:
        base = rx.base_url
        actor = f"{base}/users/zoe"
        with pytest.raises(DirectMessageFailed, match="HTTP 500") as failed:
            await side.messenger().send(side.group_id, actor, secret)
        assert secret not in str(failed.value)

    posts = [r for r in rx.requests if r.method == "POST"]
    assert {r.target for r in posts} == {"/users/zoe/inbox"}  # never the shared inbox
    _, key_id = posts[0].verify(side.public_pem)
    assert key_id == f"{side.server.actor(SLUG)}#main-key"
    assert posts[0].headers["content-type"] == "application/activity+json"
    sent = json.loads(posts[0].body)
    assert sent["type"] == "Create" and sent["to"] == [actor] and sent["cc"] == []
    assert secret in sent["object"]["content"]
    assert await copies_of(side, secret) == []


async def test_an_actor_that_moved_its_inbox_is_fetched_again(side: Side) -> None:
    """A cached actor whose inbox is gone: one refetch, then the new inbox gets it."""
    inbox = {"path": "/users/yan/old-inbox"}

    async def answer(request: Request) -> Reply:
        if request.method == "GET" and request.target == "/users/yan":
            document = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": actor, "type": "Person", "preferredUsername": "yan",
                "inbox": f"{rx.base_url}{inbox['path']}",
            }  # fmt: skip
            body = json.dumps(document).encode()
            return Reply(200, {"Content-Type": "application/activity+json"}, body)
        if request.method == "POST" and request.target == inbox["path"]:
            return Reply(202)
        return Reply(410)

    async with receiver(answer) as rx:
        actor = f"{rx.base_url}/users/yan"
        messenger = side.messenger()
        await messenger.send(side.group_id, actor, "first")  # fetched, then cached
        inbox["path"] = "/users/yan/new-inbox"
        await messenger.send(side.group_id, actor, "second")

    seen = [(r.method, r.target) for r in rx.requests]
    assert seen == [
        ("GET", "/users/yan"),
        ("POST", "/users/yan/old-inbox"),
        ("POST", "/users/yan/old-inbox"),  # 410 now
        ("GET", "/users/yan"),
        ("POST", "/users/yan/new-inbox"),
    ]
    first, refused, second = [json.loads(r.body) for r in rx.requests if r.method == "POST"]
    assert refused == second  # the same document, at the new address
    assert first["id"] != second["id"]  # a fresh id each time, never one from the text

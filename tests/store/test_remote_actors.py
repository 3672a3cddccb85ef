"""The remote actor cache (store/remote_actors.py) in PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg

from imago_fed.domain.ports.federation import RemoteActor
from imago_fed.store.remote_actors import PgRemoteActors

NOW = datetime(2026, 5, 1, tzinfo=UTC)
AL = RemoteActor(
    uri="https://a.example/users/al", host="a.example", type="Person",
    preferred_username="al", name="Al", inbox="https://a.example/users/al/inbox",
    shared_inbox="https://a.example/inbox", key_id="https://a.example/users/al#main-key",
    public_key_pem="-----BEGIN PUBLIC KEY-----\nold\n", fetched_at=NOW,
)  # fmt: skip


async def test_an_actor_is_found_by_uri_and_by_key_id(pool: asyncpg.Pool) -> None:
    actors = PgRemoteActors(pool)
    assert await actors.get_by_uri(AL.uri) is None
    await actors.upsert(AL, {"id": AL.uri, "type": "Person"})
    assert await actors.get_by_uri(AL.uri) == AL
    assert await actors.get_by_key_id(AL.key_id or "") == AL
    assert await actors.get_by_key_id("https://a.example/users/al#other") is None


async def test_a_refetch_replaces_the_key_and_the_document(pool: asyncpg.Pool) -> None:
    actors = PgRemoteActors(pool)
    await actors.upsert(AL, {"id": AL.uri, "name": "Al"})
    rotated = replace(
        AL, key_id=f"{AL.uri}#key-2", public_key_pem="-----BEGIN PUBLIC KEY-----\nnew\n",
        name="Al B.", fetched_at=NOW + timedelta(hours=1),
    )  # fmt: skip
    await actors.upsert(rotated, {"id": AL.uri, "name": "Al B."})
    assert await actors.get_by_uri(AL.uri) == rotated
    assert await actors.get_by_key_id(AL.key_id or "") is None
    document = await pool.fetchval("SELECT document FROM remote_actors WHERE uri = $1", AL.uri)
    assert json.loads(document) == {"id": AL.uri, "name": "Al B."}
    assert await pool.fetchval("SELECT count(*) FROM remote_actors") == 1


async def test_the_avatar_is_read_from_the_document_in_each_shape(pool: asyncpg.Pool) -> None:
    """The store reads it back from the document as the parser reads it from the actor."""
    from imago_fed.activitypub.media import icon_url

    actors = PgRemoteActors(pool)
    png = "https://a.example/al.png"
    shapes = [
        ({"type": "Image", "url": png}, png),
        ([{"type": "Image", "url": {"type": "Link", "href": png}}], png),
        ({"type": "Image", "url": [png]}, png),
        (png, png),
        ({"type": "Image"}, ""),
        (None, ""),
    ]
    for icon, expected in shapes:
        document = {"id": AL.uri, "type": "Person", "icon": icon}
        assert icon_url(document) == expected
        await actors.upsert(AL, document)
        found = await actors.get_by_uri(AL.uri)
        assert found is not None and found.icon == expected, icon


async def test_a_groups_matrix_space_is_kept_and_follows_a_refetch(pool: asyncpg.Pool) -> None:
    actors = PgRemoteActors(pool)
    hub = replace(
        AL, uri="https://b.example/groups/hub", key_id="https://b.example/groups/hub#main-key",
        type="Group", space="!hubSpace", space_server="hs.b.example",
    )  # fmt: skip
    await actors.upsert(hub, {"id": hub.uri})
    assert await actors.get_by_uri(hub.uri) == hub
    assert await actors.get_by_key_id(hub.key_id or "") == hub
    no_longer = replace(hub, space="", space_server="", fetched_at=NOW + timedelta(hours=1))
    await actors.upsert(no_longer, {"id": hub.uri})
    assert await actors.get_by_uri(hub.uri) == no_longer

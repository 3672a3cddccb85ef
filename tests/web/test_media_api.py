"""Group pictures through the admin API, and /media/<id>, on a real database and folder."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from quart.typing import TestClientProtocol as Client

from imago_fed.app import create_app
from imago_fed.web.runtime import EXTENSION_KEY, Runtime
from tests.conftest import TEST_ADMIN_TOKEN
from tests.media_samples import SVG, photo_with_gps, plain_png

AUTH = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}


@pytest.fixture
async def app_and_client(migrated_db: str, make_settings) -> AsyncIterator[tuple[Runtime, Client]]:
    app = create_app(make_settings(migrated_db), migrated_db)
    async with app.test_app() as test_app:
        yield app.extensions[EXTENSION_KEY], test_app.test_client()


async def put_face(client: Client, role: str, data: bytes, **extra: str):
    body = {"data": base64.b64encode(data).decode(), **extra}
    return await client.put(f"/api/v1/groups/garden/{role}", json=body, headers=AUTH)


async def test_avatar_and_header_are_set_served_and_removed(app_and_client) -> None:
    rt, client = app_and_client
    created = await client.post(
        "/api/v1/groups", json={"slug": "garden", "name": "Garden"}, headers=AUTH
    )
    assert created.status_code == 201
    avatar = await put_face(client, "avatar", photo_with_gps(), alt="Our logo")
    assert avatar.status_code == 200, await avatar.get_data()
    face = await avatar.get_json()
    header = await (
        await put_face(client, "header", plain_png(), media_type="image/png")
    ).get_json()

    actor = await (
        await client.get("/groups/garden", headers={"Accept": "application/activity+json"})
    ).get_json()
    assert actor["icon"]["url"] == face["url"] and actor["icon"]["name"] == "Our logo"
    assert actor["image"] == {"type": "Image", "mediaType": "image/png", "url": header["url"]}

    served = await client.get(face["url"].removeprefix(rt.ids.base_url))
    data = await served.get_data()
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    assert Image.open(io.BytesIO(data)).size == (64, 48) and b"Exif" not in data
    again = await client.get(
        f"/media/{face['media_id']}", headers={"If-None-Match": served.headers["ETag"]}
    )
    assert again.status_code == 304
    for bad in ("0" * 64, "..%2F..%2Fetc%2Fpasswd", "abc"):
        assert (await client.get(f"/media/{bad}")).status_code == 404

    # Each change is told to the other networks.
    kinds = await rt.pool.fetch(  # type: ignore[attr-defined]
        "SELECT kind FROM group_events ORDER BY id"
    )
    assert [k["kind"] for k in kinds] == ["group_changed"] * 3

    page = (
        await (await client.get("/groups/garden", headers={"Accept": "text/html"})).get_data()
    ).decode()
    assert f'src="{face["url"]}" alt="Our logo"' in page and f'src="{header["url"]}"' in page

    removed = await client.delete("/api/v1/groups/garden/header", headers=AUTH)
    assert removed.status_code == 204
    assert (await client.delete("/api/v1/groups/garden/header", headers=AUTH)).status_code == 404
    actor = await (
        await client.get("/groups/garden", headers={"Accept": "application/activity+json"})
    ).get_json()
    assert "image" not in actor and "icon" in actor

    # A picture in use is never pruned as an unused copy.
    later = datetime.now(UTC) + timedelta(days=365)
    assert face["media_id"] not in await rt.media.catalogue.unused_since(later, limit=10)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "extra", "code"),
    [
        (SVG, {}, "media_refused"),
        (plain_png(), {"media_type": "image/jpeg"}, "media_refused"),
        (b"OggS" + bytes(100), {}, "media_refused"),
        (b"not base64!", {}, "invalid_input"),
    ],
)
async def test_what_is_no_image_is_refused(app_and_client, data, extra, code) -> None:
    _, client = app_and_client
    await client.post("/api/v1/groups", json={"slug": "garden", "name": "Garden"}, headers=AUTH)
    if data == b"not base64!":
        response = await client.put(
            "/api/v1/groups/garden/avatar", json={"data": "not base64!"}, headers=AUTH
        )
    else:
        response = await put_face(client, "avatar", data, **extra)
    assert response.status_code == 422
    assert (await response.get_json())["error"]["code"] == code


async def test_no_group_no_picture(app_and_client) -> None:
    _, client = app_and_client
    assert (await put_face(client, "avatar", plain_png())).status_code == 404

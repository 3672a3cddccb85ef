"""Pictures both ways, against a real Synapse media repository and a real Fedify peer.

loopback file server (free port) serves a JPEG with GPS in its EXIF, a
plain PNG, an SVG with a script and a PNG bomb
alice (Fedify) posts to the group with the four attached
    ──> general: the text, then two m.image (EXIF gone, the PNG byte for
        byte, alt text as body, thumbnail, blurhash); the SVG and the bomb
        refused with a log line each; every file fetched once
hazel (Matrix) sends an m.image in general
    ──> alice gets the Note with a Document attachment she can fetch,
        whose bytes are the ones hazel uploaded
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from PIL import Image

from tests.interop.fedify_peer import FedifyPeer
from tests.interop.instance import Instance, bridged_instance
from tests.interop.test_matrix import GENERAL, SPACE, poll, resolve
from tests.media_samples import SVG, photo_with_gps, plain_png, png_bomb
from tests.receiver import Reply, Request, receiver


async def image_messages(client: httpx.AsyncClient, room_id: str) -> list[dict[str, Any]]:
    response = await client.get(
        f"/_matrix/client/v3/rooms/{quote(room_id)}/messages", params={"dir": "f", "limit": 100}
    )
    assert response.status_code == 200, response.text
    return [
        e for e in response.json()["chunk"]
        if e["type"] == "m.room.message" and e["content"].get("msgtype") == "m.image"
    ]  # fmt: skip


async def download(client: httpx.AsyncClient, mxc: str) -> bytes:
    server, media_id = mxc.removeprefix("mxc://").split("/")
    response = await client.get(f"/_matrix/client/v1/media/download/{server}/{media_id}")
    assert response.status_code == 200, response.text
    return response.content


async def test_pictures_travel_both_ways(
    tmp_path: Path, pg_admin_dsn: str, synapse_factory
) -> None:
    files = {
        "/photo.jpg": (photo_with_gps(), "image/jpeg"),
        "/plain.png": (plain_png(), "image/png"),
        "/drawing.png": (SVG, "image/png"),  # an SVG that says it is a PNG
        "/bomb.png": (png_bomb(), "image/png"),
    }

    async def serve(request: Request) -> Reply:
        body, media_type = files.get(request.target, (b"", ""))
        if not body:
            return Reply(404)
        return Reply(200, {"Content-Type": media_type}, body)

    async with (
        receiver(serve) as media_server,
        bridged_instance("media", tmp_path, pg_admin_dsn, synapse_factory) as running,
    ):
        await scenario(running[0], running[1], media_server, files)


async def scenario(server: Instance, hs: Any, media_server: Any, files: dict) -> None:
    await server.create_group("garden")
    _, token = await hs.aregister_user("hazel", "pw-hazel-123")
    async with hs.async_client(token) as human:
        await poll(lambda: resolve(human, SPACE), what="space alias")

        async def join(alias: str) -> httpx.Response | None:
            response = await human.post(f"/_matrix/client/v3/join/{quote(alias)}", json={})
            return response if response.is_success else None

        await poll(lambda: join(SPACE), what="joining the space")
        general = (await poll(lambda: join(GENERAL), what="joining general")).json()["room_id"]

        with FedifyPeer("alice", icon=f"{media_server.base_url}/plain.png") as alice:
            group = server.actor("garden")
            await alice.afollow(group)
            await alice.await_for_type("Accept", timeout=30)
            base = media_server.base_url
            post = await alice.apost(
                group, "<p>Our seedlings</p>", public=True,
                attachments=[
                    {"url": f"{base}/photo.jpg", "mediaType": "image/jpeg",
                     "name": "Tomato seedlings in a tray", "width": 64, "height": 48},
                    {"url": f"{base}/plain.png", "mediaType": "image/png"},
                    {"url": f"{base}/drawing.png", "mediaType": "image/png"},
                    {"url": f"{base}/bomb.png", "mediaType": "image/png"},
                ],
            )  # fmt: skip

            async def two_images() -> list[dict[str, Any]]:
                found = await image_messages(human, general)
                return found if len(found) >= 2 else []

            photo, plain = await poll(two_images, timeout=60, what="two m.image in general")
            # alice's puppet shows her picture
            profile = await human.get(
                f"/_matrix/client/v3/profile/{quote(photo['sender'])}/avatar_url"
            )
            assert profile.status_code == 200, profile.text
            assert await download(human, profile.json()["avatar_url"]) == files["/plain.png"][0]
            await fediverse_to_matrix_checks(human, server, photo, plain, files, media_server)
            await matrix_to_fediverse(human, server, alice, general)
            await group_faces(human, server, alice)

            # The author deletes the post: its text and its pictures go from the room.
            await alice.adelete(post["note_id"], group)

            async def pictures_left() -> bool:
                found = await image_messages(human, general)
                return not [m for m in found if m["sender"] == photo["sender"]]

            await poll(pictures_left, what="the post's pictures redacted")


async def fediverse_to_matrix_checks(
    human: httpx.AsyncClient, server: Instance, photo: dict, plain: dict, files: dict,
    media_server: Any,
) -> None:  # fmt: skip
    assert photo["sender"].startswith("@_imago_") and photo["sender"] == plain["sender"]
    # The alt text is the body; the size, type, thumbnail and blurhash are in info.
    assert photo["content"]["body"] == "Tomato seedlings in a tray"
    info = photo["content"]["info"]
    assert (info["mimetype"], info["w"], info["h"]) == ("image/jpeg", 64, 48)
    assert info["thumbnail_url"].startswith("mxc://") and info["thumbnail_info"]["w"] > 0
    assert len(info["xyz.amorgan.blurhash"]) >= 6
    # The photo's EXIF (GPS, camera) is gone; its pixels are untouched.
    original = files["/photo.jpg"][0]
    got = await download(human, photo["content"]["url"])
    assert info["size"] == len(got) < len(original)
    assert b"Exif" not in got and not Image.open(io.BytesIO(got)).getexif()
    assert Image.open(io.BytesIO(got)).tobytes() == Image.open(io.BytesIO(original)).tobytes()
    # A file with nothing to remove arrives byte for byte.
    assert await download(human, plain["content"]["url"]) == files["/plain.png"][0]
    assert plain["content"]["info"]["mimetype"] == "image/png"
    thumb = await download(human, info["thumbnail_url"])
    assert max(Image.open(io.BytesIO(thumb)).size) <= 320
    # Each file was fetched once; the SVG and the bomb were refused, each with a log line.
    fetched = [r.target for r in media_server.requests]
    assert sorted(fetched) == sorted(set(fetched)) and "/photo.jpg" in fetched
    refusals = [
        json.loads(line) for line in server.log_tail(400_000).splitlines()
        if '"media refused"' in line
    ]  # fmt: skip
    reasons = " | ".join(r.get("reason", "") for r in refusals)
    assert "declared image/png" in reasons or "unrecognised" in reasons, reasons
    assert "decompression bomb" in reasons, reasons
    assert len(refusals) == 2, reasons


async def matrix_to_fediverse(
    human: httpx.AsyncClient, server: Instance, alice: FedifyPeer, general: str
) -> None:
    """hazel's picture reaches alice as a Document she can fetch; an SVG sent as a
    picture is refused (logged) and reaches no one."""
    svg = await human.post(
        "/_matrix/media/v3/upload", content=SVG, headers={"Content-Type": "image/png"}
    )
    assert svg.status_code == 200, svg.text
    sent_svg = await human.put(
        f"/_matrix/client/v3/rooms/{quote(general)}/send/m.room.message/svg1",
        json={"msgtype": "m.image", "body": "harmless.png", "url": svg.json()["content_uri"],
              "info": {"mimetype": "image/png"}},
    )  # fmt: skip
    assert sent_svg.is_success, sent_svg.text
    face = io.BytesIO()
    Image.new("RGB", (12, 12), (200, 120, 40)).save(face, "PNG")
    avatar = await human.post(
        "/_matrix/media/v3/upload", content=face.getvalue(), headers={"Content-Type": "image/png"}
    )
    me = (await human.get("/_matrix/client/v3/account/whoami")).json()["user_id"]
    set_avatar = await human.put(
        f"/_matrix/client/v3/profile/{quote(me)}/avatar_url",
        json={"avatar_url": avatar.json()["content_uri"]},
    )
    assert set_avatar.is_success, set_avatar.text
    picture = plain_png()
    uploaded = await human.post(
        "/_matrix/media/v3/upload", content=picture,
        headers={"Content-Type": "image/png"}, params={"filename": "garden.png"},
    )  # fmt: skip
    assert uploaded.status_code == 200, uploaded.text
    sent = await human.put(
        f"/_matrix/client/v3/rooms/{quote(general)}/send/m.room.message/img1",
        json={
            "msgtype": "m.image", "body": "Our raised beds", "url": uploaded.json()["content_uri"],
            "info": {"mimetype": "image/png", "size": len(picture), "w": 40, "h": 30},
        },
    )  # fmt: skip
    assert sent.is_success, sent.text

    def with_attachment(record: dict) -> bool:
        obj = record["activity"].get("object")
        inner = obj.get("object") if isinstance(obj, dict) else None
        return (
            record["type"] == "Announce" and isinstance(inner, dict)
            and bool(inner.get("attachment"))
            and str(inner.get("attributedTo")).startswith(f"{server.base_url}/people/")
        )  # fmt: skip

    announce = await alice.await_for(with_attachment, timeout=30)
    note = announce["activity"]["object"]["object"]
    attachment = note["attachment"]
    attachment = attachment[0] if isinstance(attachment, list) else attachment
    assert attachment["type"] == "Document" and attachment["mediaType"] == "image/png"
    assert attachment["name"] == "Our raised beds"
    assert (attachment["width"], attachment["height"]) == (40, 30)
    url = attachment["url"] if isinstance(attachment["url"], str) else attachment["url"]["href"]
    assert url.startswith(f"{server.base_url}/media/")
    fetched = await alice.afetch(url)
    assert fetched["status"] == 200 and fetched["content_type"] == "image/png"
    assert fetched["sha256"] == hashlib.sha256(picture).hexdigest()
    refused = [
        json.loads(line) for line in server.log_tail(400_000).splitlines()
        if '"media refused"' in line and '"origin": "matrix"' in line
    ]  # fmt: skip
    assert len(refused) == 1 and "unrecognised" in refused[0]["reason"], refused
    assert len([r for r in await alice.areceived("Announce") if with_attachment(r)]) == 1
    # hazel's Matrix picture is her Person's icon
    async with httpx.AsyncClient(headers={"Accept": "application/activity+json"}) as client:
        person = (await client.get(note["attributedTo"])).json()
    icon = await alice.afetch(person["icon"]["url"])
    assert icon["sha256"] == hashlib.sha256(face.getvalue()).hexdigest()


async def group_faces(human: httpx.AsyncClient, server: Instance, alice: FedifyPeer) -> None:
    """An avatar set through the admin API: the actor's icon, the followers told, the
    space's avatar; a file that is no image is refused."""
    refused = await server.api(
        "PUT", "/groups/garden/avatar", json={"data": base64.b64encode(SVG).decode()}
    )
    assert refused.status_code == 422, refused.text
    photo = photo_with_gps()
    response = await server.api(
        "PUT", "/groups/garden/avatar",
        json={"data": base64.b64encode(photo).decode(), "alt": "A sunflower"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    face = response.json()
    assert (face["width"], face["height"], face["alt"]) == (64, 48, "A sunflower")

    async with httpx.AsyncClient() as client:
        actor = (
            await client.get(
                server.actor("garden"), headers={"Accept": "application/activity+json"}
            )
        ).json()
        served = await client.get(face["url"])
    assert actor["icon"] == {
        "type": "Image", "mediaType": "image/jpeg", "url": face["url"], "name": "A sunflower",
    }  # fmt: skip
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert b"Exif" not in served.content
    assert hashlib.sha256(served.content).hexdigest() == face["media_id"]

    def update_with_icon(record: dict) -> bool:
        obj = record["activity"].get("object")
        return record["type"] == "Update" and isinstance(obj, dict) and "icon" in obj

    update = await alice.await_for(update_with_icon, timeout=30)
    icon = update["activity"]["object"]["icon"]
    icon_url = icon["url"] if isinstance(icon["url"], str) else icon["url"]["href"]
    fetched = await alice.afetch(icon_url)
    assert fetched["status"] == 200 and fetched["sha256"] == face["media_id"]

    space = await resolve(human, SPACE)

    async def space_avatar() -> str | None:
        state = await human.get(
            f"/_matrix/client/v3/rooms/{quote(space or '')}/state/m.room.avatar/"
        )
        return state.json().get("url") if state.status_code == 200 else None

    mxc = await poll(space_avatar, what="the space's avatar")
    assert await download(human, mxc) == served.content

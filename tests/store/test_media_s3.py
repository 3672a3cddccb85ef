"""Media bytes in S3-compatible storage: a real S3 server on loopback (moto's
stand-alone server, installed from PyPI: MinIO is not in the package
registries here), and the SigV4 signature checked against botocore's signer."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.server import ThreadedMotoServer

from imago_fed.domain.media import MediaLimits
from imago_fed.services.media import MediaLibrary
from imago_fed.store.media import PgMediaCatalogue
from imago_fed.store.media_s3 import S3Blobs, sign_v4
from tests.media_samples import photo_with_gps
from tests.support import free_port

KEYS = {"access_key": "AKIDEXAMPLE", "secret_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("PUT", "http://127.0.0.1:9000/bucket/media/abc", b"hello"),
        ("GET", "https://s3.example.org/my-bucket/media/abc?versionId=1&a=b%20c&list-type=2", b""),
        ("DELETE", "http://localhost:9000/b/media/x", b""),
    ],
)
def test_the_signature_is_the_one_botocore_makes(method: str, url: str, body: bytes) -> None:
    payload = hashlib.sha256(body).hexdigest()
    headers = {"content-type": "image/png"} if body else {}
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    request.headers["x-amz-content-sha256"] = payload
    signer = S3SigV4Auth(Credentials(KEYS["access_key"], KEYS["secret_key"]), "s3", "eu-west-3")
    signer.add_auth(request)  # at the current time, which it writes in X-Amz-Date
    now = datetime.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    ours = sign_v4(method, url, headers, payload, region="eu-west-3", now=now, **KEYS)
    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours["x-amz-date"] == request.headers["X-Amz-Date"]


@pytest.fixture
def s3_server() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _boto(endpoint: str):  # an independent client to look into the bucket
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=KEYS["access_key"], aws_secret_access_key=KEYS["secret_key"],
    )  # fmt: skip


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


async def test_files_live_in_the_bucket(s3_server: str, migrated_db: str, tmp_path: Path) -> None:
    boto = _boto(s3_server)
    boto.create_bucket(Bucket="imago-media")
    blobs = S3Blobs(s3_server, "imago-media", **KEYS)
    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=2)
    try:
        media_id = hashlib.sha256(b"bytes").hexdigest()
        await blobs.put(media_id, b"bytes", "image/png")
        stored = boto.get_object(Bucket="imago-media", Key=f"media/{media_id}")
        assert stored["Body"].read() == b"bytes" and stored["ContentType"] == "image/png"
        assert await blobs.get(media_id) == b"bytes"
        await blobs.delete(media_id)
        assert await blobs.get(media_id) is None
        assert await blobs.get("../x") is None
        await blobs.delete(media_id)  # already gone: fine

        library = MediaLibrary(blobs, PgMediaCatalogue(pool), Clock(), MediaLimits())
        photo = await library.keep(photo_with_gps(), declared="image/jpeg")
        opened = await library.open(photo.id)
        assert opened is not None and hashlib.sha256(opened[1]).hexdigest() == photo.id
        keys = {o["Key"] for o in boto.list_objects_v2(Bucket="imago-media")["Contents"]}
        assert keys == {f"media/{photo.id}", f"media/{photo.thumbnail_id}"}
    finally:
        await blobs.aclose()
        await pool.close()

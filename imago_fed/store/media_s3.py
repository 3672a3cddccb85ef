"""Media bytes in S3-compatible object storage, for instances that outgrow one disk.

Implements ``MediaBlobs`` (``domain/ports/media.py``) like :class:`~.media.DiskBlobs`,
one object per file, ``<prefix><sha256>``, in a bucket the admin made:

    put     PUT    /<bucket>/<key>   (Content-Type, x-amz-content-sha256)
    get     GET    /<bucket>/<key>   404 -> None
    delete  DELETE /<bucket>/<key>

Path-style addressing (every S3-compatible server speaks it, MinIO included)
and AWS Signature Version 4, written out here (:func:`sign_v4`, checked
against botocore's signer in the tests) so the server needs no SDK.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote, unquote, urlsplit

import httpx

from imago_fed.domain.media import is_media_id

__all__ = ["S3Blobs", "S3Error", "sign_v4"]

_ALGORITHM = "AWS4-HMAC-SHA256"


class S3Error(Exception):
    """The object store answered with an error status (or not at all)."""


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign_v4(
    method: str, url: str, headers: Mapping[str, str], payload_hash: str, *,
    access_key: str, secret_key: str, region: str, now: datetime, service: str = "s3",
) -> dict[str, str]:  # fmt: skip
    """The headers to add for AWS SigV4: ``x-amz-date``, ``x-amz-content-sha256``,
    ``Authorization``. ``headers`` are the others that must be signed (``host`` added)."""
    parts = urlsplit(url)
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    signed = {k.lower(): " ".join(v.strip().split()) for k, v in headers.items()}
    signed.update({"host": parts.netloc, "x-amz-date": stamp, "x-amz-content-sha256": payload_hash})
    names = sorted(signed)
    pairs = sorted(
        (quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~"))
        for item in parts.query.split("&") if item
        for k, _, v in [item.partition("=")]
    )  # fmt: skip
    query = "&".join(f"{k}={v}" for k, v in pairs)
    canonical = "\n".join(
        [
            method.upper(),
            quote(parts.path or "/", safe="/-_.~"),
            query,
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            payload_hash,
        ]
    )
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join([_ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(("AWS4" + secret_key).encode(), stamp[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "x-amz-date": stamp,
        "x-amz-content-sha256": payload_hash,
        "Authorization": (
            f"{_ALGORITHM} Credential={access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        ),
    }


class S3Blobs:
    """``MediaBlobs`` over an S3-compatible server (path-style, SigV4)."""

    def __init__(
        self, endpoint: str, bucket: str, *, access_key: str, secret_key: str,
        region: str = "us-east-1", prefix: str = "media/", timeout: float = 60.0,
    ) -> None:  # fmt: skip
        self._base = f"{endpoint.rstrip('/')}/{quote(bucket, safe='')}/"
        self._access_key, self._secret_key, self._region = access_key, secret_key, region
        self._prefix = prefix
        # The store's own endpoint, chosen by the admin: no address guard, no proxies.
        self._http = httpx.AsyncClient(timeout=timeout, trust_env=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    def url(self, media_id: str) -> str:
        if not is_media_id(media_id):
            raise ValueError(f"not a media id: {media_id!r}")
        return self._base + self._prefix + media_id

    async def put(self, media_id: str, data: bytes, media_type: str) -> None:
        response = await self._send("PUT", self.url(media_id), data, {"content-type": media_type})
        if response.status_code >= 300:
            raise S3Error(f"PUT {media_id}: {response.status_code} {response.text[:200]}")

    async def get(self, media_id: str) -> bytes | None:
        try:
            url = self.url(media_id)
        except ValueError:
            return None
        response = await self._send("GET", url, b"", {})
        if response.status_code == 404:
            return None
        if response.status_code >= 300:
            raise S3Error(f"GET {media_id}: {response.status_code} {response.text[:200]}")
        return response.content

    async def delete(self, media_id: str) -> None:
        response = await self._send("DELETE", self.url(media_id), b"", {})
        if response.status_code >= 300 and response.status_code != 404:
            raise S3Error(f"DELETE {media_id}: {response.status_code} {response.text[:200]}")

    async def _send(
        self, method: str, url: str, body: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        auth = sign_v4(
            method, url, headers, hashlib.sha256(body).hexdigest(),
            access_key=self._access_key, secret_key=self._secret_key, region=self._region,
            now=datetime.now(UTC),
        )  # fmt: skip
        try:
            return await self._http.request(
                method, url, content=body or None, headers={**headers, **auth}
            )
        except httpx.HTTPError as exc:
            raise S3Error(f"{method} {url}: {type(exc).__name__}: {exc}") from exc

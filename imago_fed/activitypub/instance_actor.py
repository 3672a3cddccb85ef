"""The instance actor: who we are when no group is asking.

Fetching a remote actor to check an inbound signature is done on no group's
behalf, yet servers in authorized-fetch mode only answer signed GETs; the
instance actor (``{base}/actor``) signs those, with the key kept by
:class:`~imago_fed.activitypub.signers.Signers`.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization

from imago_fed.activitypub.http import FediClient
from imago_fed.activitypub.signers import Signers

__all__ = ["InstanceActor"]


class InstanceActor:
    def __init__(self, signers: Signers, http: FediClient) -> None:
        self._signers, self._http = signers, http

    async def public_pem(self) -> str:
        key = (await self._signers.instance()).private_key.public_key()
        pem = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem.decode()

    async def fetch_json(self, url: str) -> dict[str, Any]:
        """A GET signed by the instance actor."""
        return await self._http.get_json(url, await self._signers.instance())

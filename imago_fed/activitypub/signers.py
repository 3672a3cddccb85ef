"""Signers for our own actors: each group, and the instance actor.

A group signs what it sends (its Announces, Accepts) with its own key --
receivers check that the key's owner is the activity's actor. The instance
actor signs fetches made on no group's behalf and deliveries queued without
a group; its key is made on first use. Keys are unsealed once and kept (a
bounded cache: unsealing costs an AES decryption and a PEM parse).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from imago_fed.activitypub.http import Signer
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.keys import KeyVault
from imago_fed.domain.ports import KeyPairFactory
from imago_fed.domain.ports.federation import SigningKeys

__all__ = ["Signers", "UnknownGroup"]

_CACHED = 1024


class UnknownGroup(LookupError):
    """No group with this id: its deliveries cannot be signed."""


class Signers:
    def __init__(
        self, keys: SigningKeys, vault: KeyVault, ids: Ids, factory: KeyPairFactory
    ) -> None:
        self._keys, self._vault, self._ids, self._factory = keys, vault, ids, factory
        self._groups: OrderedDict[int, Signer] = OrderedDict()
        self._instance: Signer | None = None
        self._instance_lock = asyncio.Lock()
        self._group_locks: dict[int, asyncio.Lock] = {}

    async def for_group(self, group_id: int | None) -> Signer:
        """The group's signer; the instance actor's for ``None``."""
        if group_id is None:
            return await self.instance()
        signer = self._groups.get(group_id)
        if signer is not None:
            self._groups.move_to_end(group_id)
            return signer
        # One unsealing per group even when a fan-out asks 32 times at once:
        # unsealing (AES + RSA key checks) costs tens of ms, off the event loop.
        async with self._group_locks.setdefault(group_id, asyncio.Lock()):
            signer = self._groups.get(group_id)
            if signer is not None:
                return signer
            found = await self._keys.group_key(group_id)
            if found is None:
                raise UnknownGroup(f"no group with id {group_id}")
            slug, sealed = found
            key = await asyncio.to_thread(self._vault.unseal, sealed)
            signer = Signer(self._ids.group_key(slug), key)
            self._groups[group_id] = signer
            if len(self._groups) > _CACHED:
                evicted, _ = self._groups.popitem(last=False)
                self._group_locks.pop(evicted, None)
        return signer

    async def instance(self) -> Signer:
        """The instance actor's signer (``{base}/actor#main-key``)."""
        async with self._instance_lock:  # one key made, even with concurrent first calls
            if self._instance is None:
                pair = await self._keys.instance_key(self._factory)
                key = await asyncio.to_thread(self._vault.unseal, pair.sealed_private)
                self._instance = Signer(self._ids.instance_key, key)
            return self._instance

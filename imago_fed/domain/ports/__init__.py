"""Ports: what the domain and the services need from outside, as Protocols.

One module per area (groups, governance, elections, federation, bridge, ...);
this package re-exports the common ones (clock, groups, events, messaging,
federation, delivery).
The area ports (``ports.governance``, ``ports.elections``) are imported from
their module: they name domain types this package must not pull in eagerly.

Adapters (``imago_fed.store``, ``imago_fed.activitypub.keys``, ...) implement
these; the domain never imports an adapter, and a test checks that it does not.
"""

from __future__ import annotations

from imago_fed.domain.ports.clock import Clock
from imago_fed.domain.ports.delivery import DeliveryQueue, PeerHealth
from imago_fed.domain.ports.events import GroupEventLog
from imago_fed.domain.ports.federation import (
    Federation,
    RemoteActor,
    RemoteActors,
    SigningKeys,
)
from imago_fed.domain.ports.groups import GroupRepository, KeyPairFactory
from imago_fed.domain.ports.messaging import DirectMessageFailed, DirectMessenger

__all__ = [
    "Clock",
    "DeliveryQueue",
    "DirectMessageFailed",
    "DirectMessenger",
    "Federation",
    "GroupEventLog",
    "GroupRepository",
    "KeyPairFactory",
    "PeerHealth",
    "RemoteActor",
    "RemoteActors",
    "SigningKeys",
]

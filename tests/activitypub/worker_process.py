"""A delivery worker in a process of its own, sized for tests (short lease and polls).

``python -m tests.activitypub.worker_process DSN``: settings come from the
file ``$IMAGO_CONFIG`` names (required: a test process never falls back on
the ``config/imago.toml`` of whatever directory it runs in) and the
``IMAGO_*`` environment; it prints ``ready`` once running and stops cleanly
on SIGTERM. The kill -9 test kills it mid-queue; the lease (2 s) is what
brings the rows it had in flight back to the next worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta

import asyncpg

from imago_fed.activitypub.delivery import Backoff, DeliveryWorker, WorkerConfig
from imago_fed.activitypub.http import FediClient
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.keys import KeyVault, RsaKeyPairFactory, instance_secret
from imago_fed.activitypub.signers import Signers
from imago_fed.config import CONFIG_ENV, load_settings
from imago_fed.domain.clock import SystemClock
from imago_fed.store import deliveries
from imago_fed.store.federation import PgFederation
from imago_fed.store.instance_keys import PgSigningKeys
from imago_fed.store.notify import Wakeup
from imago_fed.store.peer_hosts import PgPeerHosts

CONFIG = WorkerConfig(
    global_limit=8,
    per_host=4,
    lease=timedelta(seconds=2),
    poll_interval=0.2,
    backoff=Backoff(base=timedelta(milliseconds=50), jitter=0),
)


async def main(dsn: str) -> None:
    settings = load_settings(os.environ[CONFIG_ENV])
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=12)
    vault = KeyVault(instance_secret(settings))
    http = FediClient(settings, schemes=PgPeerHosts(pool))
    ids = Ids(settings.instance.base_url)
    signers = Signers(PgSigningKeys(pool), vault, ids, RsaKeyPairFactory(vault))
    fed = PgFederation(pool, SystemClock().now)
    worker = DeliveryWorker(fed, Wakeup(pool, deliveries.CHANNEL), http, signers, CONFIG)
    worker.start()
    print("ready", flush=True)
    await stop.wait()
    await worker.stop()
    await http.aclose()
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))

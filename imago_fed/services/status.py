"""The status dashboard's use case: take every reading, turn each into a check.

    readings (database, queue, peers)   ┐
    probes (disk, certificate, RDAP,    ├─ each bounded by a timeout ─> domain/status.py ─> checks
            homeserver)                 │  (a failure is a reading of its own)
    costs (hosting paid up to)          ┘

Readings run concurrently, so one slow probe (a TLS handshake, RDAP) costs
the page its own timeout, not the sum of all of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from imago_fed.domain import status
from imago_fed.domain.ports import Clock
from imago_fed.domain.ports.admin import SchemaProbe
from imago_fed.domain.ports.status import DeliveryReadings, SystemProbes
from imago_fed.domain.status import Check, Level
from imago_fed.services.costs import Costs

__all__ = ["Hour", "StatusBoard"]

T = TypeVar("T")
READING_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Hour:
    hour: datetime
    waiting: int
    delivered: int


@dataclass(frozen=True)
class _Failed:
    reason: str


async def _read(reading: Awaitable[T]) -> T | _Failed:
    try:
        async with asyncio.timeout(READING_TIMEOUT_S):
            return await reading
    except TimeoutError:
        return _Failed("timed out")
    except Exception as exc:  # a probe that fails is a reading too: it says why
        return _Failed(f"{type(exc).__name__}: {exc}"[:160])


class StatusBoard:
    def __init__(
        self,
        schema: SchemaProbe,
        deliveries: DeliveryReadings,
        probes: SystemProbes,
        costs: Costs,
        clock: Clock,
        *,
        matrix_enabled: bool,
        thresholds: status.Thresholds = status.DEFAULT,
    ) -> None:
        self._schema, self._deliveries, self._probes = schema, deliveries, probes
        self._costs, self._clock = costs, clock
        self._matrix_enabled, self._t = matrix_enabled, thresholds

    async def checks(self) -> list[Check]:
        now = self._clock.now()
        today = now.date()
        async with asyncio.TaskGroup() as readings:  # _read never raises: all finish
            schema_t = readings.create_task(_read(self._schema.current()))
            queue_t = readings.create_task(_read(self._deliveries.queue()))
            disk_t = readings.create_task(_read(self._probes.disk()))
            cert_t = readings.create_task(_read(self._probes.certificate_expiry()))
            domain_t = readings.create_task(_read(self._probes.domain_expiry()))
            homeserver_t = readings.create_task(_read(self._probes.homeserver()))
            hosting_t = readings.create_task(_read(self._costs.hosting_paid_until()))
        schema, queue, disk = schema_t.result(), queue_t.result(), disk_t.result()
        cert, domain, hosting = cert_t.result(), domain_t.result(), hosting_t.result()
        homeserver = homeserver_t.result()
        free, total = disk if isinstance(disk, tuple) else (None, None)
        checks = [
            status.check_database(
                None if isinstance(schema, _Failed) else schema,
                self._schema.expected(),
                schema.reason if isinstance(schema, _Failed) else None,
            ),
            status.check_disk(free, total, self._t),
        ]
        if isinstance(queue, _Failed):
            checks.append(
                Check("queue", "Delivery queue", Level.WARNING, f"Unknown ({queue.reason}).")
            )
        else:
            checks += [
                status.check_queue(queue.depth, queue.oldest, now, self._t),
                status.check_peers(queue.failing_peers, now),
                status.check_dead_deliveries(queue.dead, self._t),
            ]
        checks.append(
            status.check_homeserver(
                self._matrix_enabled,
                homeserver.reason if isinstance(homeserver, _Failed) else homeserver,
            )
        )
        checks.append(
            self._days(
                "certificate", "TLS certificate", "The certificate", cert, today,
                off="No certificate is watched (set [status] certificate or tls_handshake).",
            )
        )  # fmt: skip
        checks.append(
            self._days(
                "domain", "Domain registration", "The registration", domain, today,
                off="Registration expiry is not looked up ([status] rdap is off).",
            )
        )  # fmt: skip
        checks.append(
            self._days(
                "hosting", "Hosting paid", "The paid hosting", hosting, today,
                off="No hosting bill is recorded in the costs.",
            )
        )  # fmt: skip
        return checks

    def _days(
        self, key: str, name: str, what: str, reading: Any, today: date, *, off: str
    ) -> Check:
        if isinstance(reading, _Failed):
            return Check(key, name, Level.WARNING, f"Could not be read ({reading.reason}).")
        return status.check_days_left(
            key, name, what, reading, today, unknown=off, unknown_level=Level.SUCCESS, t=self._t
        )

    async def hours(self, days: int = 3) -> list[Hour]:
        since = self._clock.now() - timedelta(days=days)
        return [Hour(*row) for row in await self._deliveries.hourly(since)]

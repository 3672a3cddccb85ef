"""The status use case over in-memory readings: every check present, failures turned
into levels that say why, a slow probe bounded by its timeout."""

from __future__ import annotations

from datetime import timedelta

import pytest

from imago_fed.domain.ports.status import QueueReading
from imago_fed.domain.status import Level
from imago_fed.services import status as status_module
from imago_fed.services.costs import Costs
from imago_fed.services.status import StatusBoard
from tests.fakes.governance import T0, FakeClock
from tests.fakes.status import Broken, MemoryCostsStore, SetProbes, SetQueue, SetSchema


def board(schema=None, queue=None, probes=None, costs=None, *, matrix: bool = True):
    clock = FakeClock(T0)
    costs = costs or Costs(MemoryCostsStore(), clock, "EUR")
    return StatusBoard(
        schema or SetSchema(), queue or SetQueue(), probes or SetProbes(), costs, clock,
        matrix_enabled=matrix,
    )  # fmt: skip


def levels(checks) -> dict[str, Level]:
    return {check.key: check.level for check in checks}


async def test_all_well() -> None:
    checks = await board().checks()
    assert list(levels(checks)) == [
        "database", "disk", "queue", "peers", "dead", "homeserver", "certificate", "domain",
        "hosting",
    ]  # fmt: skip
    assert set(levels(checks).values()) == {Level.SUCCESS}


async def test_failures_become_levels_that_say_why() -> None:
    probes = SetProbes(
        free_total=(3, 100),
        certificate=Broken("no such file"),
        domain=T0.date() + timedelta(days=20),
        homeserver_error=Broken("connection refused"),
    )
    queue = SetQueue(QueueReading(5, T0 - timedelta(hours=30), 2, [("a.example", T0)]))
    checks = await board(SetSchema(fail=True), queue, probes).checks()
    found = levels(checks)
    assert found == {
        "database": Level.ERROR, "disk": Level.ERROR, "queue": Level.ERROR,
        "peers": Level.WARNING, "dead": Level.WARNING, "homeserver": Level.ERROR,
        "certificate": Level.WARNING, "domain": Level.WARNING, "hosting": Level.SUCCESS,
    }  # fmt: skip
    sentences = {check.key: check.sentence for check in checks}
    assert "connection refused" in sentences["database"]
    assert "no such file" in sentences["certificate"]
    assert "connection refused" in sentences["homeserver"]


async def test_hosting_paid_up_to_from_the_costs() -> None:
    clock = FakeClock(T0)
    costs = Costs(MemoryCostsStore(), clock, "EUR")
    await costs.add_bill(
        label="VPS", kind="hosting", amount="5", currency="EUR", period_months=1,
        renews_on=(T0.date() + timedelta(days=10)).isoformat(),
    )  # fmt: skip
    await costs.add_bill(
        label="name", kind="domain", amount="12", currency="EUR", period_months=12,
        renews_on=(T0.date() + timedelta(days=1)).isoformat(),
    )  # fmt: skip
    hosting = {c.key: c for c in await board(costs=costs).checks()}["hosting"]
    assert hosting.level is Level.ERROR and "ends in 10 days" in hosting.sentence


async def test_a_hanging_probe_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status_module, "READING_TIMEOUT_S", 0.05)
    checks = await board(probes=SetProbes(hang=True)).checks()
    found = {check.key: check for check in checks}
    assert found["certificate"].level is Level.WARNING
    assert "timed out" in found["certificate"].sentence
    assert found["homeserver"].level is Level.ERROR
    assert found["database"].level is Level.SUCCESS


async def test_matrix_off_is_not_a_problem() -> None:
    probes = SetProbes(homeserver_error=Broken("would fail if asked"))
    homeserver = {c.key: c for c in await board(probes=probes, matrix=False).checks()}
    assert homeserver["homeserver"].level is Level.SUCCESS

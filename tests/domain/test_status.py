"""Check levels from readings: every threshold on both sides."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from imago_fed.domain.status import (
    Check,
    Level,
    check_database,
    check_days_left,
    check_dead_deliveries,
    check_disk,
    check_homeserver,
    check_peers,
    check_queue,
    worst,
)

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


def test_database() -> None:
    assert check_database("0015", "0015", None).level is Level.SUCCESS
    behind = check_database("0010", "0015", None)
    assert behind.level is Level.ERROR and "imago-fed migrate" in behind.sentence
    down = check_database(None, "0015", "ConnectionRefusedError")
    assert down.level is Level.ERROR and "ConnectionRefusedError" in down.sentence


@pytest.mark.parametrize(
    ("free", "level"), [(50, Level.SUCCESS), (15, Level.SUCCESS), (14, Level.WARNING),
                        (5, Level.WARNING), (4, Level.ERROR)],
)  # fmt: skip
def test_disk(free: int, level: Level) -> None:
    check = check_disk(free * 2**30, 100 * 2**30)
    assert check.level is level and f"{free}.0 GiB free" in check.sentence


def test_disk_unknown() -> None:
    assert check_disk(None, None).level is Level.WARNING


@pytest.mark.parametrize(
    ("depth", "age", "level"),
    [
        (0, None, Level.SUCCESS),
        (10, timedelta(minutes=5), Level.SUCCESS),
        (999, timedelta(minutes=59), Level.SUCCESS),
        (1000, timedelta(minutes=1), Level.WARNING),
        (5, timedelta(hours=1), Level.WARNING),
        (10_000, timedelta(minutes=1), Level.ERROR),
        (1, timedelta(hours=24), Level.ERROR),
    ],
)
def test_queue(depth: int, age: timedelta | None, level: Level) -> None:
    oldest = NOW - age if age is not None else None
    assert check_queue(depth, oldest, NOW).level is level


def test_peers_and_dead() -> None:
    assert check_peers([], NOW).level is Level.SUCCESS
    failing = check_peers([("a.example", NOW - timedelta(days=3)), ("b.example", None)], NOW)
    assert failing.level is Level.WARNING
    assert "2 servers failing (a.example, b.example), the first for 3 days" in failing.sentence
    assert check_dead_deliveries(0).level is Level.SUCCESS
    assert check_dead_deliveries(1).level is Level.WARNING
    assert check_dead_deliveries(1000).level is Level.ERROR


def test_homeserver() -> None:
    assert check_homeserver(False, None).level is Level.SUCCESS
    assert check_homeserver(True, None).level is Level.SUCCESS
    down = check_homeserver(True, "ClientConnectorError: refused")
    assert down.level is Level.ERROR and "refused" in down.sentence


@pytest.mark.parametrize(
    ("days", "level"),
    [(100, Level.SUCCESS), (45, Level.SUCCESS), (44, Level.WARNING), (15, Level.WARNING),
     (14, Level.ERROR), (0, Level.ERROR), (-3, Level.ERROR)],
)  # fmt: skip
def test_days_left(days: int, level: Level) -> None:
    check = check_days_left(
        "certificate", "TLS", "The certificate", TODAY + timedelta(days=days), TODAY, unknown="?"
    )
    assert check.level is level
    assert str(abs(days)) in check.sentence


def test_days_left_unknown_uses_the_given_level() -> None:
    unknown = check_days_left(
        "d", "D", "It", None, TODAY, unknown="off", unknown_level=Level.SUCCESS
    )
    assert (unknown.level, unknown.sentence) == (Level.SUCCESS, "off")
    assert (
        check_days_left("d", "D", "It", None, date(2026, 1, 1), unknown="?").level is Level.WARNING
    )


def test_worst() -> None:
    checks = [Check("a", "A", Level.SUCCESS, ""), Check("b", "B", Level.WARNING, "")]
    assert worst(checks) is Level.WARNING
    assert worst([]) is Level.SUCCESS

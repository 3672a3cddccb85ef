"""The instance's health as checks: a level and one sentence each, from readings.

Readings (numbers, dates, booleans) are gathered elsewhere (``services/status.py``
through the ``StatusReadings`` port); this module only decides what they mean,
so every threshold is tested without a database, a disk or a network::

    readings ──> check_*() ──> Check(name, level, sentence) ──> worst() for the summary

A reading that could not be taken is passed as ``None`` and becomes a WARNING
that says so: a dashboard that hides what it could not see is worse than none.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta

__all__ = [
    "Check",
    "Level",
    "Thresholds",
    "check_database",
    "check_days_left",
    "check_dead_deliveries",
    "check_disk",
    "check_homeserver",
    "check_peers",
    "check_queue",
    "worst",
]


class Level(enum.IntEnum):
    """Ordered so that ``max`` of levels is the worst one."""

    SUCCESS = 0
    WARNING = 1
    ERROR = 2


@dataclass(frozen=True)
class Check:
    key: str  # stable identifier (HTML ids, metrics, tests)
    name: str  # what a person reads
    level: Level
    sentence: str


@dataclass(frozen=True)
class Thresholds:
    """Where a reading turns WARNING, then ERROR. Defaults suit a small instance."""

    days_warning: int = 45
    days_error: int = 15
    disk_free_warning: float = 0.15  # fraction of the file system
    disk_free_error: float = 0.05
    queue_warning: int = 1_000
    queue_error: int = 10_000
    oldest_warning: timedelta = timedelta(hours=1)
    oldest_error: timedelta = timedelta(hours=24)
    dead_warning: int = 1
    dead_error: int = 1_000


DEFAULT = Thresholds()


def worst(checks: list[Check]) -> Level:
    return max((check.level for check in checks), default=Level.SUCCESS)


def check_database(current: str | None, expected: str, error: str | None) -> Check:
    name = "Database"
    if error is not None:
        return Check("database", name, Level.ERROR, f"The database cannot be reached ({error}).")
    if current != expected:
        return Check(
            "database",
            name,
            Level.ERROR,
            f"The schema is at {current or 'no revision'}, this code expects {expected}: "
            "run imago-fed migrate.",
        )
    return Check("database", name, Level.SUCCESS, f"Reachable, schema at {expected}.")


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check_disk(free: int | None, total: int | None, t: Thresholds = DEFAULT) -> Check:
    name = "Disk"
    if free is None or not total:
        return Check(
            "disk", name, Level.WARNING, "The free space of the data directory is unknown."
        )
    share = free / total
    level = (
        Level.ERROR
        if share < t.disk_free_error
        else Level.WARNING
        if share < t.disk_free_warning
        else Level.SUCCESS
    )
    return Check(
        "disk",
        name,
        level,
        f"{_size(free)} free in the data directory ({share:.0%} of {_size(total)}).",
    )


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172_800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86_400} days"


def check_queue(
    depth: int, oldest: datetime | None, now: datetime, t: Thresholds = DEFAULT
) -> Check:
    name = "Delivery queue"
    if depth == 0 or oldest is None:
        return Check("queue", name, Level.SUCCESS, "No delivery is waiting.")
    age = max(timedelta(0), now - oldest)
    if depth >= t.queue_error or age >= t.oldest_error:
        level = Level.ERROR
    elif depth >= t.queue_warning or age >= t.oldest_warning:
        level = Level.WARNING
    else:
        level = Level.SUCCESS
    return Check(
        "queue",
        name,
        level,
        f"{depth} deliveries waiting; the oldest has waited {_duration(age)}.",
    )


def check_peers(failing: list[tuple[str, datetime | None]], now: datetime) -> Check:
    """Servers we cannot reach: their trouble, not ours, hence a WARNING at worst."""
    name = "Peers"
    if not failing:
        return Check("peers", name, Level.SUCCESS, "Every known server answers.")
    starts = [since for _, since in failing if since is not None]
    hosts = ", ".join(host for host, _ in failing[:3]) + (" …" if len(failing) > 3 else "")
    since = f", the first for {_duration(now - min(starts))}" if starts else ""
    return Check(
        "peers",
        name,
        Level.WARNING,
        f"{len(failing)} servers failing ({hosts}){since}.",
    )


def check_dead_deliveries(dead: int, t: Thresholds = DEFAULT) -> Check:
    name = "Dead deliveries"
    if dead < t.dead_warning:
        return Check("dead", name, Level.SUCCESS, "No delivery was given up.")
    level = Level.ERROR if dead >= t.dead_error else Level.WARNING
    return Check(
        "dead",
        name,
        level,
        f"{dead} deliveries were given up this week; retry them from the admin API "
        "if the peer is back.",
    )


def check_homeserver(enabled: bool, error: str | None) -> Check:
    name = "Matrix homeserver"
    if not enabled:
        return Check("homeserver", name, Level.SUCCESS, "Matrix is not enabled on this instance.")
    if error is not None:
        return Check("homeserver", name, Level.ERROR, f"The homeserver does not answer ({error}).")
    return Check("homeserver", name, Level.SUCCESS, "The homeserver answers.")


def check_days_left(
    key: str,
    name: str,
    what: str,
    until: date | None,
    today: date,
    *,
    unknown: str,
    unknown_level: Level = Level.WARNING,
    t: Thresholds = DEFAULT,
) -> Check:
    """Anything that expires: a certificate, a domain, the paid-up hosting."""
    if until is None:
        return Check(key, name, unknown_level, unknown)
    days = (until - today).days
    if days < 0:
        return Check(key, name, Level.ERROR, f"{what} ended {-days} days ago ({until}).")
    level = (
        Level.ERROR
        if days < t.days_error
        else Level.WARNING
        if days < t.days_warning
        else Level.SUCCESS
    )
    return Check(key, name, level, f"{what} ends in {days} days ({until}).")

"""Domain errors.

They carry no status codes: each adapter (HTTP admin API, ActivityPub inbox,
Matrix bot, CLI) maps them in one table of its own.

    DomainError
     ├── InvalidInput   a value breaks a rule (a bad slug, an empty name)
     ├── NotFound       the thing asked for does not exist (or no longer does)
     ├── Conflict       the request collides with existing state (a taken slug)
     └── UpstreamFailed a service asked on the caller's behalf (WikiData) did not
                        answer usably: not the caller's fault, nor a refusal

    Unavailable         not a refusal: the other side (a homeserver) is away
                        for now; the same work succeeds later, so it is retried
                        for as long as it takes and never counted against it
"""

from __future__ import annotations

__all__ = ["Conflict", "DomainError", "InvalidInput", "NotFound", "Unavailable", "UpstreamFailed"]


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """A value breaks a domain rule; ``field`` names it when there is one."""


class NotFound(DomainError):
    """The thing asked for does not exist."""


class Conflict(DomainError):
    """The request collides with existing state."""


class UpstreamFailed(DomainError):
    """A service asked on the caller's behalf failed (timed out, erred, answered nonsense)."""


class Unavailable(Exception):
    """A system we depend on cannot be reached just now (down, restarting, overloaded)."""

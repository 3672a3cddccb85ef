"""Why a remote call gave us nothing usable: one small hierarchy.

Every httpx/httpcore exception is mapped to one of these once, in
:mod:`.client`, so callers (delivery, actor fetches) decide on our types
only -- "retry later" versus "never again" -- and never import httpx::

    FetchError                   base: the remote call failed
    ├── ForbiddenUrl             refused before any traffic: not http(s),
    │   │                        plain http not allowed, no host    (permanent)
    │   └── ForbiddenAddress     the host is (or resolves to) a loopback,
    │                            private, link-local, ... address   (permanent)
    ├── TooManyRedirects         more than the allowed redirects
    ├── ResponseTooLarge         the body passed the size cap
    ├── BadDocument              the body is not a JSON object
    │   └── BadContentType       the Content-Type is not a JSON one
    ├── RemoteStatus(status)     the final answer was not 2xx
    └── NetworkError             DNS, connect, TLS, read failures   (transient)
        └── FetchTimeout         a connect or the whole call ran out of time
"""

from __future__ import annotations

__all__ = [
    "BadContentType",
    "BadDocument",
    "FetchError",
    "FetchTimeout",
    "ForbiddenAddress",
    "ForbiddenUrl",
    "NetworkError",
    "RemoteStatus",
    "ResponseTooLarge",
    "TooManyRedirects",
]


class FetchError(Exception):
    """Base class: the remote call did not give a usable answer."""

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class ForbiddenUrl(FetchError):
    """The URL is refused by policy before any connection is made."""


class ForbiddenAddress(ForbiddenUrl):
    """The host is, or resolves to, an address we must not reach (SSRF guard)."""


class TooManyRedirects(FetchError):
    """The server redirected more often than allowed."""


class ResponseTooLarge(FetchError):
    """The response body is larger than the cap."""


class BadDocument(FetchError):
    """The response body is not the JSON object we asked for."""


class BadContentType(BadDocument):
    """The response's Content-Type is not a JSON media type."""


class RemoteStatus(FetchError):
    """The server answered, but not with a 2xx status."""

    def __init__(self, status: int, url: str | None = None) -> None:
        super().__init__(f"remote answered {status}", url)
        self.status = status


class NetworkError(FetchError):
    """The exchange failed on the way: DNS, connect, TLS, a broken read."""


class FetchTimeout(NetworkError):
    """Connecting or the whole call took longer than allowed."""

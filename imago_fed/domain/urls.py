"""Pure helpers on URLs that more than one layer needs.

The delivery queue groups rows by the host they go to, and the HTTP
signature code signs the ``Host`` header of the same URL: both must name a
host the same way, so the rule lives here, below both of them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["host_from_url"]


def host_from_url(url: str) -> str:
    """The ``Host`` header an HTTP client sends for ``url`` (default port omitted)."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        raise ValueError(f"not an absolute URL: {url!r}")
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}.get(parts.scheme.lower())
    if parts.port is not None and parts.port != default_port:
        host = f"{host}:{parts.port}"
    return host

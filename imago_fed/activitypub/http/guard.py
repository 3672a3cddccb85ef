"""Which addresses outbound requests may reach, enforced where sockets are opened.

A remote document can name any URL (an inbox, a key id, a redirect target),
so without a guard a remote server could make us probe our own network
(server-side request forgery). The check cannot be a look-up made before the
request: the name could resolve differently a moment later (DNS rebinding).
So the guard is the network backend of the connection pool itself:

    connect(host, port)
      ├─ resolve host (every A/AAAA answer)
      ├─ any answer loopback/private/link-local/multicast/reserved/
      │  unspecified/not global (IPv4-mapped, 6to4, Teredo, NAT64 unwrapped)?
      │        └─> ForbiddenAddress, nothing is connected
      └─ connect to those same checked addresses, in order

TLS still verifies the certificate against the host name (httpcore passes
the name as SNI), since only the TCP connect uses the resolved address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore

from .errors import ForbiddenAddress

__all__ = ["AddressPolicy", "GuardedBackend", "forbidden_reason"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_CATEGORIES = (
    "is_loopback",
    "is_private",
    "is_link_local",
    "is_multicast",
    "is_reserved",
    "is_unspecified",
)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for, if it is one of the tunnelling forms."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def forbidden_reason(address: IPAddress) -> str | None:
    """Why ``address`` must not be reached from a public server, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            reason = forbidden_reason(inner)
            return f"{reason} (inside {address})" if reason else None
    for category in _CATEGORIES:
        if getattr(address, category):
            return f"{address} is {category[3:].replace('_', '-')}"
    if not address.is_global:  # e.g. 100.64.0.0/10, shared address space
        return f"{address} is not globally routable"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """``allow_private`` lifts the guard (tests); ``allowed`` exempts chosen networks."""

    allow_private: bool = False
    allowed: tuple[IPNetwork, ...] = ()

    def check(self, host: str, address: IPAddress) -> None:
        if self.allow_private or any(address in network for network in self.allowed):
            return
        reason = forbidden_reason(address)
        if reason:
            raise ForbiddenAddress(f"refusing to connect to {host}: {reason}")

    async def resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        """Every address ``host`` resolves to, each checked; raise if any is forbidden."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            self.check(host, literal)
            return [str(literal)]
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:  # socket.gaierror: no such name, no answer
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses: list[str] = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            self.check(host, address)
            if str(address) not in addresses:
                addresses.append(str(address))
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's AnyIO backend, connecting only to addresses the policy accepts."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._policy.resolve(host, port, timeout)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise ForbiddenAddress("unix sockets are never reached")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

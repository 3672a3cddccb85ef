"""The status dashboard's probes of the world outside the database (``SystemProbes``).

Each probe does one kind of I/O: the file system (free space), a PEM file or
a TLS handshake (certificate expiry), an RDAP query (domain registration), the
homeserver's client API (is it up). A probe that is switched off answers None;
one that fails raises, and the status service turns the exception into a
WARNING or ERROR that says why.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509

from imago_fed.config import Settings
from imago_fed.matrix.client import AppserviceClient

__all__ = ["Probes", "certificate_file_expiry", "rdap_expiry", "registrable_domain"]


def certificate_file_expiry(path: Path) -> date:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.not_valid_after_utc.date()


def registrable_domain(domain: str) -> str:
    """``groups.example.org:8443`` -> ``example.org`` (the name a registry knows).

    Two labels is right for most TLDs; a name under a public suffix such as
    ``co.uk`` needs [status] rdap off or a registry that answers for subdomains.
    """
    host = domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain
    return ".".join(host.split(".")[-2:])


def rdap_expiry(document: dict[str, Any]) -> date | None:
    """The ``expiration`` event of an RDAP domain object (RFC 9083, section 4.5)."""
    for event in document.get("events", []):
        if isinstance(event, dict) and event.get("eventAction") == "expiration":
            stamp = str(event.get("eventDate", "")).replace("Z", "+00:00")
            return datetime.fromisoformat(stamp).astimezone(UTC).date()
    return None


class Probes:
    """Implements :class:`imago_fed.domain.ports.status.SystemProbes`."""

    def __init__(self, settings: Settings, matrix: AppserviceClient | None) -> None:
        self._settings, self._matrix = settings, matrix

    async def disk(self) -> tuple[int, int] | None:
        folder = Path(self._settings.instance.data_dir).resolve()
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        usage = await asyncio.to_thread(shutil.disk_usage, folder)
        return usage.free, usage.total

    async def certificate_expiry(self) -> date | None:
        status = self._settings.status
        path = (
            status.certificate if status.certificate != Path("") else self._settings.http.tls_cert
        )
        if path != Path(""):
            return await asyncio.to_thread(certificate_file_expiry, path)
        if status.tls_handshake:
            return await self._handshake()
        return None

    async def _handshake(self) -> date:
        """The certificate the domain presents, read without verifying it: an
        expired or mis-issued certificate is exactly what this check must report,
        so it must not make the reading fail."""
        host, _, port = self._settings.instance.domain.partition(":")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        _, writer = await asyncio.open_connection(
            host, int(port or 443), ssl=context, server_hostname=host
        )
        try:
            der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        finally:
            writer.close()
        return x509.load_der_x509_certificate(der).not_valid_after_utc.date()

    async def domain_expiry(self) -> date | None:
        status = self._settings.status
        if not status.rdap:
            return None
        name = registrable_domain(self._settings.instance.domain)
        async with httpx.AsyncClient(timeout=5.0, follow_redirects=True) as client:
            response = await client.get(
                f"{status.rdap_url.rstrip('/')}/domain/{name}",
                headers={"Accept": "application/rdap+json"},
            )
            response.raise_for_status()
            found = rdap_expiry(response.json())
        if found is None:
            raise LookupError(f"RDAP has no expiration event for {name}")
        return found

    async def homeserver(self) -> str | None:
        if self._matrix is None:
            return None
        await self._matrix.request("GET", "versions")
        return None

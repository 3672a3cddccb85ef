"""Run a real ``imago-fed serve`` process for federation tests.

Each instance gets its own scratch database on the test PostgreSQL, its own
data directory, a free loopback port, and a domain ``127.0.0.1:<port>``
served over plain http with private addresses allowed (the two settings
exist for exactly this). It is stopped with SIGTERM, killed if it hangs.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.pg import scratch_database
from tests.support import free_port

TOKEN = "interop-admin-token-0123456789"


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1, and its key (PEM files)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "tls-cert.pem", folder / "tls-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Instance:
    def __init__(
        self, name: str, workdir: Path, dsn: str, *, tls: bool = False, **env: str
    ) -> None:
        self.name = name
        self.port = free_port()
        self.workdir = workdir / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.tls_cert: Path | None = None
        if tls:
            # https on "localhost", as a real instance would be named; peers that
            # resolve handles (WebFinger is https-only in Fedify) can then find us.
            self.tls_cert, tls_key = self_signed_certificate(self.workdir)
            self.domain = f"localhost:{self.port}"
            self.base_url = f"https://{self.domain}"
            env = {
                "IMAGO_HTTP_TLS_CERT": str(self.tls_cert),
                "IMAGO_HTTP_TLS_KEY": str(tls_key),
                "IMAGO_INSTANCE_SCHEME": "https",
                **env,
            }
        else:
            self.domain = f"127.0.0.1:{self.port}"
            self.base_url = f"http://{self.domain}"
        self.log_path = self.workdir / "serve.log"
        self.dsn = dsn
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("IMAGO_")},
            "IMAGO_INSTANCE_ADMIN_TOKEN": TOKEN,
            "IMAGO_INSTANCE_DOMAIN": self.domain,
            "IMAGO_INSTANCE_SCHEME": "http",
            "IMAGO_INSTANCE_DATA_DIR": str(self.workdir / "data"),
            "IMAGO_HTTP_LISTEN": f"127.0.0.1:{self.port}",
            "IMAGO_DATABASE_URL": dsn,
            "IMAGO_FEDERATION_ALLOW_HTTP": "true",
            "IMAGO_FEDERATION_ALLOW_PRIVATE_ADDRESSES": "true",
            "IMAGO_LOG_FORMAT": "json",
            "IMAGO_LOG_LEVEL": "debug",
            # One serving process keeps a test run's load sane; multi-process
            # serving has its own test (tests/commands/test_serve.py).
            "IMAGO_SERVE_WORKERS": "1",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def verify(self) -> ssl.SSLContext | bool:
        return ssl.create_default_context(cafile=str(self.tls_cert)) if self.tls_cert else True

    def actor(self, slug: str) -> str:
        return f"{self.base_url}/groups/{slug}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "imago_fed.cli", "serve"],
            cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                ready = httpx.get(f"{self.base_url}/readyz", timeout=2, verify=self.verify)
                if ready.status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready within 60 s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run an ``imago-fed`` command against this instance's configuration."""
        return subprocess.run(
            [sys.executable, "-m", "imago_fed.cli", *args],
            cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    async def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with httpx.AsyncClient(
            base_url=self.base_url, timeout=30, verify=self.verify
        ) as client:
            return await client.request(
                method, f"/api/v1{path}", headers={"Authorization": f"Bearer {TOKEN}"}, **kwargs
            )

    async def create_group(self, slug: str, **options: Any) -> dict[str, Any]:
        response = await self.api("POST", "/groups", json={"slug": slug, "name": slug, **options})
        assert response.status_code == 201, response.text
        return response.json()

    async def received(self, slug: str) -> list[dict[str, Any]]:
        response = await self.api("GET", f"/groups/{slug}/received")
        assert response.status_code == 200, response.text
        return response.json()["items"]

    async def wait_for(
        self, probe: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition"
    ) -> Any:
        """Poll an async probe until it returns something truthy (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            result = await probe()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name}: {what} not met in {timeout} s\n{self.log_tail()}"
                )
            await _sleep(0.2)


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


@contextlib.asynccontextmanager
async def running_instance(
    name: str, workdir: Path, admin_dsn: str, *, tls: bool = False, **env: str
) -> AsyncIterator[Instance]:
    async with scratch_database(admin_dsn, prefix=f"imago_{name}") as dsn:
        instance = Instance(name, workdir, dsn, tls=tls, **env)
        instance.start()
        try:
            yield instance
        finally:
            instance.stop()


@contextlib.asynccontextmanager
async def bridged_instance(
    name: str, workdir: Path, admin_dsn: str, synapse_factory: Any, *,
    hs_name: str = "localhost", **env: str,
) -> AsyncIterator[tuple[Instance, Any, dict[str, Any], str]]:  # fmt: skip
    """Our server with the Matrix bridge on, registered with a fresh Synapse.

    Yields (instance, homeserver, registration, dsn). Our port is picked
    first: the registration must name it before Synapse starts. ``hs_name``:
    the homeserver's server name (two bridged instances need two); ``env``:
    more settings for our server (``IMAGO_...``).
    """
    from tests.matrix_hs.synapse import make_registration

    async with scratch_database(admin_dsn, prefix=f"imago_{name}") as dsn:
        server = Instance(name, workdir, dsn, **env)
        registration = make_registration(server.base_url, server_name=hs_name)
        with synapse_factory(registration, name=f"hs-{name}", server_name=hs_name) as hs:
            server.env.update(
                IMAGO_MATRIX_ENABLED="true",
                IMAGO_MATRIX_HOMESERVER_URL=hs.base_url,
                IMAGO_MATRIX_SERVER_NAME=hs.server_name,
                IMAGO_MATRIX_AS_TOKEN=registration["as_token"],
                IMAGO_MATRIX_HS_TOKEN=registration["hs_token"],
            )
            server.start()
            try:
                yield server, hs, registration, dsn
            finally:
                server.stop()

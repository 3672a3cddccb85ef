"""Run a real ``imago-fed serve`` process for federation tests.

Each instance gets its own scratch database on the test PostgreSQL, its own
data directory, a free loopback port, and a domain ``127.0.0.1:<port>``
served over plain http with private addresses allowed (the two settings
exist for exactly this). It is stopped with SIGTERM, killed if it hangs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx

from tests.pg import scratch_database
from tests.support import free_port

TOKEN = "interop-admin-token-0123456789"


class Instance:
    def __init__(self, name: str, workdir: Path, dsn: str, **env: str) -> None:
        self.name = name
        self.port = free_port()
        self.domain = f"127.0.0.1:{self.port}"
        self.base_url = f"http://{self.domain}"
        self.workdir = workdir / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "serve.log"
        self.dsn = dsn
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("IMAGO_")},
            "IMAGO_INSTANCE_ADMIN_TOKEN": TOKEN,
            "IMAGO_INSTANCE_DOMAIN": self.domain,
            "IMAGO_INSTANCE_SCHEME": "http",
            "IMAGO_INSTANCE_DATA_DIR": str(self.workdir / "data"),
            "IMAGO_HTTP_LISTEN": self.domain,
            "IMAGO_DATABASE_URL": dsn,
            "IMAGO_FEDERATION_ALLOW_HTTP": "true",
            "IMAGO_FEDERATION_ALLOW_PRIVATE_ADDRESSES": "true",
            "IMAGO_LOG_FORMAT": "json",
            "IMAGO_LOG_LEVEL": "debug",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

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
                if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
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

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    async def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
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
                raise AssertionError(f"{self.name}: {what} not met in {timeout} s\n{self.log_tail()}")
            await _sleep(0.2)


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


@contextlib.asynccontextmanager
async def running_instance(
    name: str, workdir: Path, admin_dsn: str, **env: str
) -> AsyncIterator[Instance]:
    async with scratch_database(admin_dsn, prefix=f"imago_{name}") as dsn:
        instance = Instance(name, workdir, dsn, **env)
        instance.start()
        try:
            yield instance
        finally:
            instance.stop()

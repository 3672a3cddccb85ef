"""Run a real Synapse homeserver as a subprocess, for tests.

No fake homeserver: the ``matrix-synapse`` package (a ``test`` extra) is
started with ``python -m synapse.app.homeserver`` in a directory of its own,
with an SQLite database, one plain-http client listener on 127.0.0.1, no
federation listener, no key servers, fast bcrypt and every rate limit lifted.
The server name is ``localhost`` unless given (two homeservers in one test
need two names; nothing resolves them: there is no federation listener).
See PROTOCOL_NOTES.md section 7.

Typical use::

    registration = make_registration(f"http://127.0.0.1:{our_port}")
    with Synapse(tmp_path / "hs", registration) as hs:     # or: async with
        user_id, token = hs.register_user("alice", "secret")
        with hs.client(token) as client:
            client.get("/_matrix/client/v3/account/whoami")
        with hs.client(registration["as_token"]) as bot:   # act as the appservice
            ...

An appservice registration is optional. Its ``url`` is where Synapse pushes
transactions, pings and queries: it must point at *our* server, reachable
from this machine, e.g. ``http://127.0.0.1:<port>``. Synapse reads the
registration once at start, so that port has to be chosen (``free_port()``)
before Synapse starts; our server may come up later (ping it then: see
PROTOCOL_NOTES.md section 4).

Starting costs about 1.5 s to generate the configuration (first start only)
and about 2 s until ``/_matrix/client/versions`` answers; share one server per
test module (see :mod:`tests.matrix_hs.fixtures`).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import hmac
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Self

import httpx
import yaml

from tests.support import free_port

SERVER_NAME = "localhost"

GENERATE_TIMEOUT = 60.0
"""Seconds allowed for ``--generate-config`` (it takes about 1.5 s)."""

START_TIMEOUT = 30.0
"""Seconds allowed from spawning Synapse until ``/_matrix/client/versions`` answers."""

STOP_TIMEOUT = 10.0
"""Seconds Synapse gets to exit after SIGTERM before it is killed."""

UNLIMITED = {"per_second": 9999, "burst_count": 9999}

# Every rate limit a test could trip over (cf. element-hq/synapse
# docker/complement/conf/workers-shared-extra.yaml.j2).
RATE_LIMITS: dict[str, Any] = {
    "rc_message": UNLIMITED,
    "rc_registration": UNLIMITED,
    "rc_room_creation": UNLIMITED,
    "rc_joins_per_room": UNLIMITED,
    "rc_login": {"address": UNLIMITED, "account": UNLIMITED, "failed_attempts": UNLIMITED},
    "rc_joins": {"local": UNLIMITED, "remote": UNLIMITED},
    "rc_invites": {"per_room": UNLIMITED, "per_user": UNLIMITED, "per_issuer": UNLIMITED},
    "rc_presence": {"per_user": UNLIMITED},
}


def make_registration(
    as_url: str | None,
    *,
    id: str = "imago",
    prefix: str = "_imago_",
    sender_localpart: str = "imago",
    server_name: str = SERVER_NAME,
) -> dict[str, Any]:
    """A valid appservice registration with fresh random tokens.

    ``as_url`` is where Synapse reaches the appservice (``None`` = never push).
    Users ``@<prefix>.*:localhost`` and aliases ``#<prefix>.*:localhost`` are
    exclusively ours. The bot, ``@<sender_localpart>:localhost``, need not
    match the users regex: Synapse treats the sender as part of the appservice
    either way (``ApplicationService.is_interested_in_user``), so the default
    ``imago`` sits outside the ``_imago_`` namespace. Synapse still reserves
    it: registering ``imago`` as a human gives 400 ``M_EXCLUSIVE`` (and any
    human localpart starting with ``_`` gives ``M_INVALID_USERNAME``).
    """
    escaped = prefix.replace(".", r"\.")
    server = server_name.replace(".", r"\.")
    return {
        "id": id,
        "url": as_url,
        "as_token": secrets.token_urlsafe(32),
        "hs_token": secrets.token_urlsafe(32),
        "sender_localpart": sender_localpart,
        "rate_limited": False,
        "namespaces": {
            "users": [{"regex": f"@{escaped}.*:{server}", "exclusive": True}],
            "aliases": [{"regex": f"#{escaped}.*:{server}", "exclusive": True}],
            "rooms": [],
        },
    }


class SynapseError(RuntimeError):
    """Synapse could not be configured or started; the message has the log's tail."""


class Synapse:
    """One Synapse homeserver in ``directory`` (created if missing).

    Use it as a context manager (``with`` or ``async with``), or call
    :meth:`start` / :meth:`stop` yourself. The configuration is generated on
    the first start; :meth:`restart` keeps the data, port and tokens.

    Attributes: ``base_url`` (``http://127.0.0.1:<port>``), ``server_name``
    (``"localhost"``), ``port``, ``directory``, ``config_path``, ``log_path``,
    ``appservice`` (the registration dict or None), ``registration_path``,
    ``shared_secret``, ``startup_seconds`` (duration of the last start).
    """

    def __init__(
        self,
        directory: Path | str,
        appservice: dict[str, Any] | None = None,
        *,
        port: int | None = None,
        server_name: str = SERVER_NAME,
    ) -> None:
        self.directory = Path(directory).absolute()
        self.appservice = appservice
        self.port = port or free_port()
        self.server_name = server_name  # another name: two homeservers that tell apart
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.config_path = self.directory / "hs.yaml"
        self.log_path = self.directory / "synapse.log"
        self.registration_path = self.directory / "appservice.yaml" if appservice else None
        self.shared_secret = secrets.token_urlsafe(32)
        self.startup_seconds: float | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._configured = False

    # -- configuration ----------------------------------------------------

    def _configure(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            generated = subprocess.run(
                [
                    sys.executable, "-m", "synapse.app.homeserver",
                    "--server-name", self.server_name,
                    "--config-path", str(self.config_path),
                    "--generate-config", "--report-stats=no",
                ],
                cwd=self.directory, capture_output=True, text=True, timeout=GENERATE_TIMEOUT,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise SynapseError(f"--generate-config took over {GENERATE_TIMEOUT} s") from exc
        if generated.returncode != 0:
            raise SynapseError(
                f"--generate-config failed ({generated.returncode}):\n"
                f"{generated.stdout}\n{generated.stderr}"
            )

        # The generated file has no trailing newline, and PyYAML keeps the last
        # of duplicate keys silently: load, modify, dump; never append.
        config = yaml.safe_load(self.config_path.read_text())
        config.update(
            {
                "listeners": [
                    {
                        "port": self.port,
                        "bind_addresses": ["127.0.0.1"],
                        "type": "http",
                        "tls": False,
                        "x_forwarded": False,
                        "resources": [{"names": ["client"], "compress": False}],
                    }
                ],
                "database": {
                    "name": "sqlite3",
                    "args": {"database": str(self.directory / "homeserver.db")},
                },
                "trusted_key_servers": [],
                "suppress_key_server_warning": True,
                "report_stats": False,
                "bcrypt_rounds": 4,
                "enable_registration": False,
                "registration_shared_secret": self.shared_secret,
                **RATE_LIMITS,
            }
        )
        if self.appservice is not None:
            assert self.registration_path is not None
            self.registration_path.write_text(yaml.safe_dump(self.appservice, sort_keys=False))
            config["app_service_config_files"] = [str(self.registration_path)]
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

        # Log unbuffered to stderr, which goes to synapse.log (the generated
        # logging config buffers INFO lines for up to 5 s).
        log_config_path = Path(config["log_config"])
        log_config = yaml.safe_load(log_config_path.read_text())
        log_config["root"]["handlers"] = ["console"]
        log_config_path.write_text(yaml.safe_dump(log_config, sort_keys=False))
        self._configured = True

    # -- process ----------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start Synapse and wait (at most START_TIMEOUT s) until it answers."""
        if self.running:
            return
        if not self._configured:
            self._configure()
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
                cwd=self.directory, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        atexit.register(self._kill)
        deadline = began + START_TIMEOUT
        with httpx.Client(base_url=self.base_url, timeout=2) as client:
            while True:
                if self.process.poll() is not None:
                    code = self.process.returncode
                    raise SynapseError(f"Synapse exited early ({code}):\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get("/_matrix/client/versions").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    self.stop()
                    raise SynapseError(
                        f"Synapse not answering within {START_TIMEOUT} s:\n{self.log_tail()}"
                    )
                time.sleep(0.1)
        self.startup_seconds = time.monotonic() - began

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT s."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        atexit.unregister(self._kill)

    def restart(self) -> None:
        """Stop and start again on the same data, port and tokens."""
        self.stop()
        self.start()

    def _kill(self) -> None:
        if self.running:
            assert self.process is not None
            self.process.kill()

    # The async forms run the blocking ones in a thread, so an appservice served
    # on the test's own event loop keeps answering Synapse meanwhile.

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    async def arestart(self) -> None:
        await asyncio.to_thread(self.restart)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await self.astart()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.astop()

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    # -- clients ----------------------------------------------------------

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self.server_name}"

    @property
    def as_token(self) -> str:
        if self.appservice is None:
            raise SynapseError("this Synapse has no appservice registration")
        return self.appservice["as_token"]

    def _client_options(self, token: str | None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return {"base_url": self.base_url, "headers": headers, "timeout": 30}

    def client(self, token: str | None = None) -> httpx.Client:
        """A client on ``base_url``, sending ``Authorization: Bearer <token>`` if given.

        Pass the registration's ``as_token`` to act as the appservice (add
        ``params={"user_id": ...}`` to a request to masquerade as a puppet).
        """
        return httpx.Client(**self._client_options(token))

    def async_client(self, token: str | None = None) -> httpx.AsyncClient:
        """The :class:`httpx.AsyncClient` form of :meth:`client`."""
        return httpx.AsyncClient(**self._client_options(token))

    # -- users --------------------------------------------------------------

    def _registration_body(
        self, nonce: str, localpart: str, password: str, admin: bool
    ) -> dict[str, Any]:
        message = b"\x00".join(
            [
                nonce.encode(),
                localpart.encode(),
                password.encode(),
                b"admin" if admin else b"notadmin",
            ]
        )
        mac = hmac.new(self.shared_secret.encode(), message, hashlib.sha1).hexdigest()
        return {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac,
        }

    @staticmethod
    def _registered(response: httpx.Response) -> tuple[str, str]:
        if response.status_code != 200:
            raise SynapseError(f"register failed: {response.status_code} {response.text}")
        body = response.json()
        return body["user_id"], body["access_token"]

    def register_user(self, localpart: str, password: str, admin: bool = False) -> tuple[str, str]:
        """Register a (human) user with the shared-secret admin API.

        Returns ``(user_id, access_token)``.
        """
        path = "/_synapse/admin/v1/register"
        with self.client() as client:
            nonce = client.get(path).raise_for_status().json()["nonce"]
            response = client.post(
                path, json=self._registration_body(nonce, localpart, password, admin)
            )
        return self._registered(response)

    async def aregister_user(
        self, localpart: str, password: str, admin: bool = False
    ) -> tuple[str, str]:
        """The async form of :meth:`register_user`."""
        path = "/_synapse/admin/v1/register"
        async with self.async_client() as client:
            nonce = (await client.get(path)).raise_for_status().json()["nonce"]
            response = await client.post(
                path, json=self._registration_body(nonce, localpart, password, admin)
            )
        return self._registered(response)

"""Run a real Fedify 1.5.9 ActivityPub peer (``tests/interop/fedify/peer.mjs``) from tests.

Usage::

    from tests.interop.fedify_peer import FedifyPeer

    with FedifyPeer("alice") as alice:
        alice.follow("http://127.0.0.1:8000/groups/g")
        alice.wait_for(lambda r: r["type"] == "Accept")

Every peer serves one ``Person`` at ``<base_url>/users/<name>`` on 127.0.0.1 and records
what its inboxes receive.  The sync methods block; inside an event loop that also runs the
server under test, use the ``a``-prefixed coroutine twins (``await alice.afollow(...)``,
``await alice.await_for(...)``) so the loop can answer the peer's requests.

A ``received()`` record: ``seq``, ``received_at``, ``type`` (Fedify class name: Follow,
Create, Announce, ...), ``id``, ``actor``, ``object_id``, ``recipient`` (the peer's name, or
None via the shared inbox), ``inbox`` (path), ``http_signature`` (``{key_id, owner, verified,
header}`` from the strict check; None when ``strict=False``), ``ld_signature`` / ``proof``
(bools), ``activity`` (the JSON exactly as received).  Follows add ``accept`` (``{status, id}``
once the automatic Accept went out).  Announces add ``fetched``: None when the object was
embedded, else ``{uri, status: pending|ok|error, type, object, error}`` from a signed GET
made with the peer's key.  ``rejected()`` records carry ``status``, ``reason``, ``headers``,
``signature`` and the ``activity``.

Requires ``node`` (>= 20) and ``npm`` on PATH; ``npm ci`` runs once if ``node_modules`` is
missing.  Errors about the toolchain raise :class:`FedifyPeerUnavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

PEER_DIR = Path(__file__).resolve().parent / "fedify"
PEER_SCRIPT = PEER_DIR / "peer.mjs"
MIN_NODE_MAJOR = 20

Record = dict[str, Any]
Predicate = Callable[[Record], bool]


class FedifyPeerUnavailable(RuntimeError):
    """node/npm are missing or the npm dependencies cannot be installed."""


class FedifyPeerError(RuntimeError):
    """The peer failed to start, died, or a control call failed."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _which(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise FedifyPeerUnavailable(
            f"`{tool}` was not found on PATH; the Fedify test peer needs Node.js >= "
            f"{MIN_NODE_MAJOR} and npm (see tests/interop/fedify/package.json)"
        )
    return path


def _check_node(node: str) -> None:
    try:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise FedifyPeerUnavailable(f"`{node} --version` failed: {exc}") from exc
    try:
        major = int(out.lstrip("v").split(".")[0])
    except ValueError as exc:
        raise FedifyPeerUnavailable(f"cannot parse node version {out!r}") from exc
    if major < MIN_NODE_MAJOR:
        raise FedifyPeerUnavailable(
            f"node {out} is too old; @fedify/fedify 1.5.9 needs Node >= {MIN_NODE_MAJOR}"
        )


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """Serialise `npm ci` between processes (e.g. pytest-xdist workers)."""
    key = hashlib.sha256(str(PEER_DIR).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"imago-fedify-npm-{key}.lock"
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_node_modules(npm_timeout: float = 300.0) -> None:
    """Run ``npm ci`` in tests/interop/fedify unless its dependencies are already installed."""
    marker = PEER_DIR / "node_modules" / "@fedify" / "fedify" / "package.json"
    if marker.exists():
        return
    npm = _which("npm")
    with _install_lock():
        if marker.exists():
            return
        try:
            proc = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=PEER_DIR,
                capture_output=True,
                text=True,
                timeout=npm_timeout,
            )
        except subprocess.TimeoutExpired as exc:
            raise FedifyPeerUnavailable(
                f"`npm ci` in {PEER_DIR} did not finish within {npm_timeout:.0f} s"
            ) from exc
        if proc.returncode != 0 or not marker.exists():
            raise FedifyPeerUnavailable(
                f"`npm ci` in {PEER_DIR} failed (exit {proc.returncode}):\n"
                f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
            )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _describe(records: list[Record], limit: int = 20) -> str:
    lines = [
        f"  #{r.get('seq')} {r.get('type')} id={r.get('id')} actor={r.get('actor')}"
        for r in records[-limit:]
    ]
    return "\n".join(lines) if lines else "  (nothing)"


class FedifyPeer:
    """A Fedify peer process with one Person actor, driven through its ``/_test/`` API.

    ``strict`` (default) makes the peer check the HTTP signature of every inbox POST with
    Fedify's ``verifyRequest`` and the key owner against ``actor`` before Fedify handles
    it; with ``strict=False`` stock Fedify rules apply (which accept an activity with a
    valid LD signature/proof even without an HTTP signature).
    """

    def __init__(
        self,
        name: str = "alice",
        *,
        port: int | None = None,
        strict: bool = True,
        verbose: bool = False,
        startup_timeout: float = 20.0,
        request_timeout: float = 30.0,
        max_lifetime: float = 3600.0,
        log_path: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        extra_ca_file: str | os.PathLike[str] | None = None,
        icon: str | None = None,
    ) -> None:
        self.name = name
        self.icon = icon  # the URL of the actor's picture (a PNG), if any
        self.host = host
        # A CA (or self-signed certificate) Node should trust, for https peers.
        self.extra_ca_file = extra_ca_file
        self.port = port
        self.strict = strict
        self.verbose = verbose
        self.startup_timeout = startup_timeout
        self.request_timeout = request_timeout
        self.max_lifetime = max_lifetime
        self._log_path = Path(log_path) if log_path is not None else None
        self._own_log = False
        self._log_file: Any = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._client: httpx.Client | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise FedifyPeerError("peer not started")
        return f"http://{self.host}:{self.port}"

    @property
    def actor_url(self) -> str:
        return f"{self.base_url}/users/{self.name}"

    @property
    def inbox_url(self) -> str:
        return f"{self.actor_url}/inbox"

    @property
    def shared_inbox_url(self) -> str:
        return f"{self.base_url}/inbox"

    @property
    def followers_url(self) -> str:
        return f"{self.actor_url}/followers"

    @property
    def key_id(self) -> str:
        return f"{self.actor_url}#main-key"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> FedifyPeer:
        if self._proc is not None:
            raise FedifyPeerError("peer already started")
        node = _which("node")
        _check_node(node)
        ensure_node_modules()
        fixed_port = self.port
        last_error: Exception | None = None
        for _attempt in range(3 if fixed_port is None else 1):
            self.port = fixed_port or _free_port()
            try:
                self._spawn(node)
                self._wait_ready()
                return self
            except FedifyPeerError as exc:
                last_error = exc
                log = self.log_tail()
                self._stop_process()
                if "EADDRINUSE" not in log:
                    break
        raise FedifyPeerError(f"Fedify peer {self.name!r} failed to start: {last_error}")

    def _spawn(self, node: str) -> None:
        args = [
            node,
            str(PEER_SCRIPT),
            "--port",
            str(self.port),
            "--name",
            self.name,
            "--watch-stdin",
            "--max-lifetime",
            str(self.max_lifetime),
            "--host",
            self.host,
        ]
        if not self.strict:
            args.append("--lenient")
        if self.icon:
            args += ["--icon", self.icon]
        if self.verbose:
            args.append("--verbose")
        if self._log_path is None:
            fd, path = tempfile.mkstemp(prefix=f"fedify-peer-{self.name}-", suffix=".log")
            os.close(fd)
            self._log_path = Path(path)
            self._own_log = True
        self._log_file = open(self._log_path, "wb")  # noqa: SIM115 - closed in stop()
        # stdin stays an open pipe: the peer exits when it closes (i.e. when we die).
        env = dict(os.environ)
        if self.extra_ca_file is not None:
            env["NODE_EXTRA_CA_CERTS"] = str(self.extra_ca_file)
        self._proc = subprocess.Popen(
            args,
            cwd=PEER_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        self._client = httpx.Client(base_url=self.base_url, timeout=self.request_timeout)

    def _wait_ready(self) -> None:
        assert self._proc is not None and self._client is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise FedifyPeerError(
                    f"exited with code {self._proc.returncode}:\n{self.log_tail()}"
                )
            try:
                if self._client.get("/_test/health", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise FedifyPeerError(f"not healthy after {self.startup_timeout:.0f} s:\n{self.log_tail()}")

    def _stop_process(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if proc is not None and proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def stop(self) -> None:
        self._stop_process()
        if self._own_log and self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None
            self._own_log = False

    def __enter__(self) -> FedifyPeer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the peer's combined stdout/stderr (for failure messages)."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        data = self._log_path.read_bytes()[-chars:]
        return data.decode("utf-8", "replace")

    # ------------------------------------------------------------------ control API (sync)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if self._client is None:
            raise FedifyPeerError("peer not started")
        try:
            resp = self._client.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise FedifyPeerError(
                f"{method} {path} failed: {exc!r}\n{self.log_tail(2000)}"
            ) from exc
        return self._result(method, path, resp)

    @staticmethod
    def _result(method: str, path: str, resp: httpx.Response) -> Any:
        try:
            data = resp.json()
        except ValueError:
            data = {"error": resp.text}
        if resp.status_code >= 400:
            error = data.get("error") if isinstance(data, dict) else data
            raise FedifyPeerError(
                f"{method} {path} -> {resp.status_code}: {error}", status=resp.status_code
            )
        return data

    def health(self) -> Record:
        return self._call("GET", "/_test/health")

    def received(self, type: str | None = None) -> list[Record]:
        """Inbound activities Fedify accepted, oldest first (fields: see the module docstring)."""
        records = self._call("GET", "/_test/received")
        return [r for r in records if type is None or r["type"] == type]

    def rejected(self) -> list[Record]:
        """Inbox POSTs refused (by the strict signature check or by Fedify)."""
        return self._call("GET", "/_test/rejected")

    def sent(self) -> list[Record]:
        return self._call("GET", "/_test/sent")

    def errors(self) -> list[Record]:
        return self._call("GET", "/_test/errors")

    def state(self) -> Record:
        return self._call("GET", "/_test/state")

    def reset(self) -> None:
        """Forget received/rejected/sent/errors (followers and notes stay)."""
        self._call("POST", "/_test/reset", {})

    def follow(self, target: str, *, shared_inbox: bool = False) -> Record:
        return self._call("POST", "/_test/follow", _body(target=target, sharedInbox=shared_inbox))

    def lookup(self, target: str) -> Record:
        """What Fedify parses from the actor at ``target``: type, location, tags."""
        return self._call("POST", "/_test/lookup", {"target": target})

    def unfollow(self, target: str, *, shared_inbox: bool = False) -> Record:
        return self._call("POST", "/_test/unfollow", _body(target=target, sharedInbox=shared_inbox))

    def post(
        self,
        to: str,
        content: str,
        *,
        in_reply_to: str | None = None,
        public: bool = False,
        name: str | None = None,
        summary: str | None = None,
        audience: str | None = None,
        cc: list[str] | None = None,
        shared_inbox: bool = False,
    ) -> Record:
        """Send ``Create(Note)`` mentioning ``to``; returns note_id, activity_id, note, activity."""
        return self._call(
            "POST",
            "/_test/post",
            _post_body(to, content, in_reply_to, public, name, summary, audience, cc, shared_inbox),
        )

    def update(self, note_id: str, to: str, content: str) -> Record:
        return self._call("POST", "/_test/update", _body(object=note_id, to=to, content=content))

    def like(self, object: str, to: str) -> Record:
        return self._call("POST", "/_test/like", _body(object=object, to=to))

    def delete(self, object: str, to: str) -> Record:
        return self._call("POST", "/_test/delete", _body(object=object, to=to))

    def undo(self, activity_id: str, to: str) -> Record:
        return self._call("POST", "/_test/undo", _body(object=activity_id, to=to))

    def send(self, to: str, activity: dict[str, Any], *, shared_inbox: bool = False) -> Record:
        """Send an arbitrary activity (``id``/``actor``/``@context`` filled in if missing)."""
        return self._call(
            "POST", "/_test/send", _body(to=to, activity=activity, sharedInbox=shared_inbox)
        )

    def send_raw(self, to: str, activity: dict[str, Any], *, shared_inbox: bool = False) -> Record:
        """POST the JSON exactly as given, signed (``id``/``actor``/``@context`` filled in
        if missing): the route for vocabularies Fedify does not know (FEP-0837)."""
        return self._call(
            "POST", "/_test/send-raw", _body(to=to, activity=activity, sharedInbox=shared_inbox)
        )

    def wait_for(
        self,
        predicate: Predicate,
        timeout: float = 10.0,
        *,
        interval: float = 0.1,
        description: str = "matching activity",
    ) -> Record:
        """Poll ``received()`` until ``predicate(record)`` holds for one record; return it."""
        deadline = time.monotonic() + timeout
        records: list[Record] = []
        while True:
            records = self.received()
            for record in records:
                if predicate(record):
                    return record
            if time.monotonic() >= deadline:
                break
            time.sleep(interval)
        raise TimeoutError(self._timeout_message(description, timeout, records))

    def wait_for_type(self, type: str, timeout: float = 10.0, **match: Any) -> Record:
        """Shortcut: wait for a received activity of ``type`` whose fields equal ``match``."""
        return self.wait_for(
            _type_predicate(type, match), timeout, description=f"{type} {match or ''}".strip()
        )

    def _timeout_message(self, description: str, timeout: float, records: list[Record]) -> str:
        msg = f"peer {self.name}: no {description} within {timeout:.1f} s; received:\n"
        msg += _describe(records)
        with contextlib.suppress(FedifyPeerError):
            rejected = self.rejected()
            if rejected:
                msg += "\nrejected deliveries:\n" + "\n".join(
                    f"  {r.get('status')} {r.get('type')} from {r.get('actor')}: {r.get('reason')}"
                    for r in rejected[-10:]
                )
        return msg

    # ------------------------------------------------------------------ control API (async)

    async def _acall(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if self._proc is None:
            raise FedifyPeerError("peer not started")
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.request_timeout) as c:
            try:
                resp = await c.request(method, path, json=body)
            except httpx.TransportError as exc:
                raise FedifyPeerError(f"{method} {path} failed: {exc!r}") from exc
        return self._result(method, path, resp)

    async def areceived(self, type: str | None = None) -> list[Record]:
        records = await self._acall("GET", "/_test/received")
        return [r for r in records if type is None or r["type"] == type]

    async def arejected(self) -> list[Record]:
        return await self._acall("GET", "/_test/rejected")

    async def afollow(self, target: str, *, shared_inbox: bool = False) -> Record:
        return await self._acall(
            "POST", "/_test/follow", _body(target=target, sharedInbox=shared_inbox)
        )

    async def aunfollow(self, target: str, *, shared_inbox: bool = False) -> Record:
        return await self._acall(
            "POST", "/_test/unfollow", _body(target=target, sharedInbox=shared_inbox)
        )

    async def apost(
        self,
        to: str,
        content: str,
        *,
        in_reply_to: str | None = None,
        public: bool = False,
        name: str | None = None,
        summary: str | None = None,
        audience: str | None = None,
        cc: list[str] | None = None,
        shared_inbox: bool = False,
        attachments: list[dict[str, Any]] | None = None,
    ) -> Record:
        body = _post_body(
            to, content, in_reply_to, public, name, summary, audience, cc, shared_inbox
        )
        if attachments:
            body["attachments"] = attachments
        return await self._acall("POST", "/_test/post", body)

    async def afetch(self, url: str) -> Record:
        """GET ``url`` from the peer: {status, content_type, size, sha256}."""
        return await self._acall("POST", "/_test/fetch", {"url": url})

    async def aupdate(self, note_id: str, to: str, content: str) -> Record:
        return await self._acall(
            "POST", "/_test/update", _body(object=note_id, to=to, content=content)
        )

    async def alike(self, object: str, to: str) -> Record:
        return await self._acall("POST", "/_test/like", _body(object=object, to=to))

    async def adelete(self, object: str, to: str) -> Record:
        return await self._acall("POST", "/_test/delete", _body(object=object, to=to))

    async def aundo(self, activity_id: str, to: str) -> Record:
        return await self._acall("POST", "/_test/undo", _body(object=activity_id, to=to))

    async def asend(
        self, to: str, activity: dict[str, Any], *, shared_inbox: bool = False
    ) -> Record:
        return await self._acall(
            "POST", "/_test/send", _body(to=to, activity=activity, sharedInbox=shared_inbox)
        )

    async def asend_raw(
        self, to: str, activity: dict[str, Any], *, shared_inbox: bool = False
    ) -> Record:
        return await self._acall(
            "POST", "/_test/send-raw", _body(to=to, activity=activity, sharedInbox=shared_inbox)
        )

    async def await_for(
        self,
        predicate: Predicate,
        timeout: float = 10.0,
        *,
        interval: float = 0.1,
        description: str = "matching activity",
    ) -> Record:
        """Async twin of :meth:`wait_for` (does not block the event loop)."""
        deadline = time.monotonic() + timeout
        records: list[Record] = []
        while True:
            records = await self.areceived()
            for record in records:
                if predicate(record):
                    return record
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(interval)
        raise TimeoutError(self._timeout_message(description, timeout, records))

    async def await_for_type(self, type: str, timeout: float = 10.0, **match: Any) -> Record:
        return await self.await_for(
            _type_predicate(type, match), timeout, description=f"{type} {match or ''}".strip()
        )

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<FedifyPeer {self.name} {self.base_url if self.port else '-'} {state}>"


def _body(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None and v is not False}


def _post_body(
    to: str,
    content: str,
    in_reply_to: str | None,
    public: bool,
    name: str | None,
    summary: str | None,
    audience: str | None,
    cc: list[str] | None,
    shared_inbox: bool,
) -> dict[str, Any]:
    return _body(
        to=to,
        content=content,
        inReplyTo=in_reply_to,
        public=public,
        name=name,
        summary=summary,
        audience=audience,
        cc=cc,
        sharedInbox=shared_inbox,
    )


def _type_predicate(type_: str, match: dict[str, Any]) -> Predicate:
    def predicate(record: Record) -> bool:
        return record.get("type") == type_ and all(record.get(k) == v for k, v in match.items())

    return predicate


if __name__ == "__main__":  # manual use: python -m tests.interop.fedify_peer [name]
    with FedifyPeer(sys.argv[1] if len(sys.argv) > 1 else "alice", verbose=True) as peer:
        print(f"{peer.actor_url} (log: {peer._log_path}); Ctrl-C to stop", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while peer.running:
                time.sleep(1)

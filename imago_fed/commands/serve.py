"""``imago-fed serve``: the HTTP server, from several processes, with the background workers.

    database_dsn (embedded PostgreSQL if [database] url is empty)
      └─> migrations to head ─> listening sockets bound once, here
            ├─> process 0 (this one): create_app with the background workers
            │     └─> uvicorn on the sockets until SIGTERM/SIGINT
            └─> processes 1 .. N-1: ``serve --serving-process i --sockets fd,...``
                  create_app with the delivery worker only ─> uvicorn on
                  the same sockets

The HTTP server is uvicorn with httptools' parser on a uvloop event loop:
on two cores it costs a request a fraction of what Hypercorn (h11, asyncio)
did, and the inbox POSTs, which are most of a busy instance's requests, do
not go through Quart either (web/inbox_door.py). Its own access log is off
(``imago_fed.access`` writes one line a request, without headers); it trusts
no proxy headers (the client address is the socket's); a request's line and
headers may take 16 KiB at most (400 beyond), its body ``[http]
max_body_bytes`` (413, the app's rule); idle keep-alive connections close
after 5 s.

One Python process answers from one core; N processes accepting on the same
inherited sockets use N. ``--workers N`` / ``[serve] workers`` choose N
(0, the default: one per core). The background workers (inbox processor,
group events, Matrix bridge, decisions) run in process 0 only, so exactly
once per instance. Deliveries are the exception: every process runs a
delivery worker (``[serve] deliver_from_every_process``), since a fan-out
is CPU-bound in the process that POSTs, and the queue is made for several
workers (claims serialised, rows leased, per-host limits counted from the
leases of all). The processes share nothing but the database (work is
handed over through tables and NOTIFY, never in memory).
What a serving process keeps in memory (parsed remote keys, group ids by
slug) is read-mostly, expires, and is checked by the statement that stores.

The serving processes die with process 0 (``PR_SET_PDEATHSIG``), so a
SIGKILL of it leaves no orphan holding the port; on SIGTERM it stops them
first (in-flight requests finish), then itself. One that dies on its own is
started again (not more than once every few seconds).

Its log is its output: structured lines on stderr, whatever ``--verbose`` says;
with several processes each line says which one wrote it (``serving_process``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Coroutine, Iterator
from typing import Any

import click

from imago_fed import __version__
from imago_fed.commands.common import run, settings_of
from imago_fed.config import Settings

__all__ = ["serve", "serving_processes"]

log = logging.getLogger("imago_fed")
_RESTART_AFTER = 5.0  # seconds between restarts of a serving process that died
_PR_SET_PDEATHSIG = 1  # prctl(2)


def serving_processes(settings: Settings, option: int | None) -> int:
    """How many processes serve: the option, else the setting; 0 means one per core."""
    wanted = option if option is not None else settings.serve.workers
    if wanted > 0:
        return wanted
    try:  # the cores this process may run on (a container's cpuset), not the host's
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@click.command()
@click.option(
    "--workers",
    type=click.IntRange(0, 256),
    default=None,
    help="serving processes on the one port (default: [serve] workers; 0: one per core)",
)
@click.option("--serving-process", type=int, default=0, hidden=True)
@click.option("--sockets", default="", hidden=True)
@click.pass_context
def serve(ctx: click.Context, workers: int | None, serving_process: int, sockets: str) -> None:
    """Run the server: database (embedded if none configured), migrations, HTTP."""
    settings = settings_of(ctx, service=True)
    if serving_process:
        _tag_log_lines(serving_process)
        _die_with_parent()
        fds = [int(fd) for fd in sockets.split(",") if fd]
        _run_fast(_serve_more(settings, fds))
        return
    count = serving_processes(settings, workers)
    if count > 1:
        _tag_log_lines(0)
    try:
        _run_fast(_serve(settings, count, ctx.find_root().obj or {}))
    except OSError as exc:
        log.error("cannot serve: %s", exc)
        ctx.exit(1)


def _tag_log_lines(index: int) -> None:
    """Each log line says which serving process wrote it (0 runs the workers)."""

    def tag(record: logging.LogRecord) -> bool:
        record.serving_process = index
        return True

    for handler in logging.getLogger().handlers:
        handler.addFilter(tag)


def _die_with_parent() -> None:
    """Ask Linux to kill this process when process 0 dies (a SIGKILL of it included)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # it died before we asked
        os._exit(1)


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _bind(address: str) -> socket.socket:
    """A listening TCP socket on ``HOST:PORT`` that child processes inherit."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, int(port)))
        sock.listen(2048)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


@contextlib.contextmanager
def _listening(settings: Settings) -> Iterator[list[socket.socket]]:
    # /metrics may have an address of its own (it answers nothing else there).
    sockets: list[socket.socket] = []
    try:
        for address in [settings.http.listen, *filter(None, [settings.metrics.listen])]:
            sockets.append(_bind(address))
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


MAX_HEAD_BYTES = 16 * 1024  # request line and headers (h11's limit under Hypercorn)


def _run_fast(coro: Coroutine[Any, Any, None]) -> None:
    """``run`` on a uvloop event loop (asyncio's when uvloop is not installed)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - a dependency; kept for odd platforms
        run(coro)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(coro)


async def _http(app: object, settings: Settings, fds: list[int], stop: asyncio.Event) -> None:
    """Serve ``app`` on (copies of) ``fds`` until ``stop``; in-flight requests finish
    within ``[http] graceful_timeout``, then the app's shutdown runs."""
    import uvicorn

    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        http=_bounded_httptools(),
        lifespan="on",
        interface="asgi3",
        ws="none",
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=settings.http.graceful_timeout,
        ssl_certfile=str(settings.http.tls_cert) if settings.http.tls else None,
        ssl_keyfile=str(settings.http.tls_key) if settings.http.tls else None,
    )
    scheme = "https" if settings.http.tls else "http"

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # ``stop`` (our signal handlers) decides, not uvicorn's

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                log.info("Running on %s://%s", scheme, settings.http.listen)

    server = Server(config)

    async def stopping() -> None:
        await stop.wait()
        server.should_exit = True

    watch = asyncio.create_task(stopping())
    try:  # uvicorn closes what it serves on: copies, the originals stay the caller's
        await server.serve(sockets=[socket.socket(fileno=os.dup(fd)) for fd in fds])
    finally:
        watch.cancel()


def _bounded_httptools() -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol, refusing (400) a request head past MAX_HEAD_BYTES:
    httptools itself would buffer headers without end."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class Bounded(HttpToolsProtocol):
        _head = 0

        def on_message_begin(self) -> None:
            self._head = 0
            super().on_message_begin()

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def _count(self, size: int) -> None:
            self._head += size
            if self._head > MAX_HEAD_BYTES:  # raised in a parser callback: a parse error
                raise ValueError("request head too large")

    return Bounded


async def _serve(settings: Settings, count: int, root: dict[str, object]) -> None:
    from imago_fed.app import create_app
    from imago_fed.store import migrations
    from imago_fed.store.database import database_dsn

    stop = _stop_event()
    async with database_dsn(settings) as dsn:
        await migrations.upgrade(dsn)
        log.info("database schema at %s", migrations.head_revision())
        app = create_app(settings, dsn)  # (makes the instance secret before others read it)
        with _listening(settings) as sockets:
            fds = [sock.fileno() for sock in sockets]
            others = _Others(count - 1, fds, dsn, root)
            log.info(
                "serving %s on %s",
                settings.instance.base_url,
                settings.http.listen,
                extra={"version": __version__, "processes": count},
            )
            watch = asyncio.create_task(others.keep_running(stop))
            try:
                await _http(app, settings, fds, stop)
            finally:
                stop.set()
                await others.stop(float(settings.http.graceful_timeout) + 10)
                watch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watch
        log.info("stopped: in-flight requests finished")


async def _serve_more(settings: Settings, fds: list[int]) -> None:
    """Serving process 1 .. N-1: requests only, on the sockets process 0 bound."""
    from imago_fed.app import create_app

    stop = _stop_event()
    dsn = os.environ.get("IMAGO_DATABASE_URL", "")
    app = create_app(
        settings, dsn, workers=False, delivery_only=settings.serve.deliver_from_every_process
    )
    try:
        await _http(app, settings, fds, stop)
    finally:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


class _Others:
    """Serving processes 1 .. N-1, started, kept running and stopped by process 0."""

    def __init__(self, count: int, fds: list[int], dsn: str, root: dict[str, object]) -> None:
        self._fds, self._dsn = fds, dsn
        self._config = root.get("config_path")
        self._processes: dict[int, subprocess.Popen[bytes]] = {}
        for index in range(1, count + 1):
            self._start(index)

    def _start(self, index: int) -> None:
        argv = [sys.executable, "-m", "imago_fed.cli"]
        if self._config:
            argv += ["--config", str(self._config)]
        argv += ["serve", "--serving-process", str(index),
                 "--sockets", ",".join(map(str, self._fds))]  # fmt: skip
        # The DSN of the database process 0 runs (embedded or not): they
        # neither start one nor migrate.
        env = {**os.environ, "IMAGO_DATABASE_URL": self._dsn}
        self._processes[index] = subprocess.Popen(argv, env=env, pass_fds=self._fds)

    async def keep_running(self, stop: asyncio.Event) -> None:
        """Start again a serving process that died (not more often than every few s)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), _RESTART_AFTER)
            if stop.is_set():
                return
            for index, process in list(self._processes.items()):
                if process.poll() is not None:
                    log.error(
                        "serving process %d exited (status %s); starting it again",
                        index,
                        process.returncode,
                    )
                    self._start(index)

    async def stop(self, timeout: float) -> None:
        """SIGTERM to each (in-flight requests finish), then wait; SIGKILL past ``timeout``."""
        for process in self._processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for process in self._processes.values():
            while process.poll() is None and loop.time() < deadline:
                await asyncio.sleep(0.05)
            if process.poll() is None:
                process.kill()
                await asyncio.to_thread(process.wait, 10)

"""Finding a PostgreSQL for tests and benchmarks, and scratch databases on it.

    $IMAGO_TEST_DATABASE_URL set? ──yes──> that DSN (an admin: it creates databases)
      │ no
    log in as postgres on 127.0.0.1:5432 (no password) ──ok──> that server
      │ refused, nothing listening, timeout
    an embedded pgserver in a temporary folder (the reason is logged)

The local server is tried with a real login, not a TCP connect: a stock
Debian PostgreSQL answers on 5432 but refuses ``postgres`` over TCP without a
password, and a suite that only knocked would then fail every database test
instead of running its own server. So the suite runs on any machine, and in
CI against the machine's PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import threading
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

__all__ = ["LOCAL_DSN", "admin_dsn", "choose_server", "login_problem", "scratch_database"]

log = logging.getLogger(__name__)

LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
ENV = "IMAGO_TEST_DATABASE_URL"


def login_problem(dsn: str, timeout: float = 3) -> str | None:
    """Why logging in at ``dsn`` fails (``None``: it works).

    Runs in a thread of its own, so it works whether or not the caller is
    inside an event loop (a pytest fixture, a benchmark's ``asyncio.run``).
    """
    result: list[str | None] = []

    async def attempt() -> str | None:
        try:
            conn = await asyncpg.connect(dsn, timeout=timeout)
        except Exception as exc:  # refused, nothing listening, timeout: all mean "not here"
            return f"{type(exc).__name__}: {exc}".strip(" :")
        try:
            can_create = await conn.fetchval(
                "SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user"
            )
        finally:
            await conn.close()
        return None if can_create else "logged in, but the role may not create databases"

    thread = threading.Thread(target=lambda: result.append(asyncio.run(attempt())))
    thread.start()
    thread.join()
    return result[0] if result else "the login attempt crashed"


def choose_server(
    configured: str | None,
    local: str = LOCAL_DSN,
    problem_of: Callable[[str], str | None] = login_problem,
) -> tuple[str | None, str]:
    """The admin DSN to use (``None``: start an embedded server) and why."""
    if configured:
        return configured, f"${ENV}"
    problem = problem_of(local)
    if problem is None:
        return local, f"logged in at {_safe(local)}"
    return None, (
        f"cannot log in at {_safe(local)} ({problem}); using an embedded PostgreSQL "
        f"(set ${ENV} to an admin DSN to use a server of yours)"
    )


def _safe(dsn: str) -> str:
    """The DSN without its password, for the log."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@contextlib.contextmanager
def admin_dsn(report: Callable[[str], None] | None = None) -> Iterator[str]:
    """A DSN with the right to create and drop databases.

    Where it comes from is logged; a fallback to the embedded server is also
    passed to ``report`` (the test session prints it, where a person sees it).
    """
    chosen, why = choose_server(os.environ.get(ENV))
    log.log(logging.INFO if chosen else logging.WARNING, "test database server: %s", why)
    if chosen is None and report is not None:
        report(f"test database server: {why}")
    if chosen is not None:
        yield chosen
        return
    with warnings.catch_warnings():  # pgserver asks for a runtime dir it never uses
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver

    with tempfile.TemporaryDirectory(prefix="imago-test-pg-") as folder:
        server = pgserver.get_server(Path(folder), cleanup_mode="stop")
        try:
            yield server.get_uri("postgres")
        finally:
            server.cleanup()


def with_database(dsn: str, name: str) -> str:
    """The same server and credentials, another database."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


@contextlib.asynccontextmanager
async def scratch_database(admin: str, prefix: str = "imago_test") -> AsyncIterator[str]:
    """A brand-new empty database, dropped (connections and all) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield with_database(admin, name)
    finally:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

"""Finding a PostgreSQL for tests and benchmarks, and scratch databases on it.

Order: ``$IMAGO_TEST_DATABASE_URL`` (an admin DSN), else the server answering
on 127.0.0.1:5432, else an embedded pgserver in a temporary folder. So the
suite runs on any machine, and in CI against the machine's PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _local_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return True
    except OSError:
        return False


@contextlib.contextmanager
def admin_dsn() -> Iterator[str]:
    """A DSN with the right to create and drop databases."""
    configured = os.environ.get("IMAGO_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    if _local_answers():
        yield LOCAL_DSN
        return
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

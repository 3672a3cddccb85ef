"""A PostgreSQL server of the test's own, to stop, crash and start at will.

The suite's shared server (tests/pg.py) must never be restarted under other
tests, so a chaos test that takes the database away runs its own: a fresh
cluster in a temporary folder, listening on a free loopback port (no Unix
socket), from the binaries the ``pgserver`` package ships (a dependency of
the project, so they are there wherever the suite runs). PostgreSQL refuses
to run as root; as root, the cluster belongs to pgserver's own system user,
as with the embedded server.

    pg = PrivatePostgres(); pg.start()      # initdb on the first start
    pg.dsn("postgres")                      # postgresql://postgres@127.0.0.1:<port>/postgres
    pg.stop("fast")                         # clients are cut off (AdminShutdown)
    pg.stop("immediate")                    # a crash: recovery on the next start
    pg.start(); pg.destroy()
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

from tests.support import free_port

__all__ = ["PrivatePostgres", "private_postgres"]

TIMEOUT_S = 60


def _binaries() -> Path:
    with warnings.catch_warnings():  # pgserver asks for a runtime dir it never uses
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        from pgserver._commands import POSTGRES_BIN_PATH
    return POSTGRES_BIN_PATH


class PrivatePostgres:
    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="imago-chaos-pg-"))
        self.pgdata = self.folder / "pgdata"
        self.log_path = self.folder / "postgres.log"
        self.bin = _binaries()
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = self._system_user()

    def _system_user(self) -> str:
        from pgserver.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists("pgserver")
        ensure_prefix_permissions(self.bin)
        ensure_folder_permissions(self.bin, 0o055)  # r-x for group and others
        ensure_folder_permissions(self.bin.parent / "lib", 0o044)
        entry = pwd.getpwnam("pgserver")
        self.folder.chmod(0o755)
        os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        return "pgserver"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        done = subprocess.run(
            command, user=self.user, capture_output=True, text=True, timeout=TIMEOUT_S,
            cwd=self.folder,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n"
                f"{self.log_tail()}"
            )

    def start(self) -> None:
        """Start (initdb first if needed) and wait until it accepts connections."""
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(
                "initdb", "-D", str(self.pgdata), "--auth=trust", "--encoding=utf8",
                "-U", "postgres",
            )  # fmt: skip
        options = (
            f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories='' "
            "-c fsync=off -c full_page_writes=off -c max_connections=60"
        )
        self._run(
            "pg_ctl", "-D", str(self.pgdata), "-l", str(self.log_path), "-o", options,
            "-w", "-t", str(TIMEOUT_S), "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """``fast``: connections are told to go; ``immediate``: as if it crashed."""
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        command = [str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "status"]
        done = subprocess.run(command, user=self.user, capture_output=True, timeout=TIMEOUT_S)
        return done.returncode == 0

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            if self.running():
                self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.destroy()

"""Shared fixtures: a real PostgreSQL for every test that needs one, and no stray config.

Where the server comes from is decided in :mod:`tests.pg`. Each test that
asks for a database gets a fresh one, dropped afterwards.

The tests never read the developer's own configuration. A checkout where
``imago-fed init`` ran holds a ``config/imago.toml`` (``scheme = "http"``, an
admin token, maybe a database URL), and their shell may export ``IMAGO_*``
variables. For the whole session the guard below removes those variables and
points ``IMAGO_CONFIG`` at an empty file, so ``load_settings()`` in this
process or in any child reads the test file, never ``config/imago.toml``.
Processes a test spawns take their environment from :func:`child_env`,
which keeps that file and puts this checkout first on ``PYTHONPATH``, so
they can run in any working directory.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

import pytest

from imago_fed.config import CONFIG_ENV, Settings, load_settings
from imago_fed.store import migrations
from tests.pg import admin_dsn, scratch_database

TEST_ADMIN_TOKEN = "test-admin-token-0123456789"
CHECKOUT = Path(__file__).resolve().parents[1]
# Variables under this prefix configure the test suite itself (tests/pg.py).
_SUITE_PREFIX = "IMAGO_TEST_"


def _developer_settings(env: Mapping[str, str]) -> list[str]:
    return [k for k in env if k.startswith("IMAGO_") and not k.startswith(_SUITE_PREFIX)]


@pytest.fixture(scope="session", autouse=True)
def no_developer_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """For the session: no ``IMAGO_*`` from the shell, ``IMAGO_CONFIG`` = an empty file."""
    empty = tmp_path_factory.mktemp("config") / "imago.toml"
    empty.write_text("# the test suite's configuration: defaults and the environment\n")
    saved = {k: os.environ.pop(k) for k in _developer_settings(os.environ)}
    os.environ[CONFIG_ENV] = str(empty)
    try:
        yield empty
    finally:
        os.environ.pop(CONFIG_ENV, None)
        os.environ.update(saved)


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a process a test spawns: the test config and this checkout.

    ``IMAGO_*`` settings come only from ``extra``; ``IMAGO_CONFIG`` is the
    session's empty file unless ``extra`` names another.
    """
    config = os.environ.get(CONFIG_ENV)
    assert config, "child_env() needs the no_developer_config fixture (autouse)"
    env = {k: v for k, v in os.environ.items() if k not in _developer_settings(os.environ)}
    pythonpath = os.pathsep.join(p for p in (str(CHECKOUT), env.get("PYTHONPATH", "")) if p)
    return {**env, "PYTHONPATH": pythonpath, CONFIG_ENV: config, **extra}


@pytest.fixture(scope="session")
def pg_admin_dsn(pytestconfig: pytest.Config) -> Iterator[str]:
    """A DSN with the right to create and drop databases (see tests/pg.py)."""
    terminal = pytestconfig.pluginmanager.get_plugin("terminalreporter")

    def report(line: str) -> None:
        if terminal is not None:
            terminal.write_line(f"\n{line}")

    with admin_dsn(report) as dsn:
        yield dsn


@pytest.fixture
async def empty_db(pg_admin_dsn: str) -> AsyncIterator[str]:
    """A DSN to a brand-new empty database, dropped after the test."""
    async with scratch_database(pg_admin_dsn) as dsn:
        yield dsn


@pytest.fixture
async def migrated_db(empty_db: str) -> str:
    """A fresh database at the latest schema revision."""
    await migrations.upgrade(empty_db)
    return empty_db


# What a careless developer's config/imago.toml could hold: whoever reads it
# fails at once (an unknown scheme, an unknown key), where a plausible file
# (scheme = "http") would make a test fail somewhere far from the cause.
HOSTILE_CONFIG = """\
[instance]
scheme = "gopher"
admin_token = "the-developer-s-own-token-do-not-read"
[database]
url = "postgresql://developer@127.0.0.1:1/not-a-test-database"
[read_by_a_test]
oops = true
"""


@pytest.fixture
def hostile_cwd(tmp_path: Path) -> Path:
    """A working directory whose ``config/imago.toml`` no test process may read."""
    folder = tmp_path / "checkout"
    (folder / "config").mkdir(parents=True)
    (folder / "config" / "imago.toml").write_text(HOSTILE_CONFIG)
    return folder


@pytest.fixture
def settings_env(tmp_path: Path, no_developer_config: Path) -> dict[str, str]:
    """Environment for a test instance: its own data dir and admin token, the test config."""
    return {
        CONFIG_ENV: str(no_developer_config),
        "IMAGO_INSTANCE_ADMIN_TOKEN": TEST_ADMIN_TOKEN,
        "IMAGO_INSTANCE_DATA_DIR": str(tmp_path / "data"),
        "IMAGO_INSTANCE_DOMAIN": "groups.test",
        "IMAGO_LOG_FORMAT": "text",
    }


@pytest.fixture
def make_settings(settings_env: dict[str, str], tmp_path: Path):
    """Build Settings from the test environment (never from a stray config file)."""
    empty = tmp_path / "empty.toml"
    empty.write_text("")

    def make(database_url: str = "", **extra: str) -> Settings:
        env = {**settings_env, **extra}
        if database_url:
            env["IMAGO_DATABASE_URL"] = database_url
        return load_settings(path=empty, env=env)

    return make

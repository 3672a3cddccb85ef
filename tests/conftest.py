"""Shared fixtures: a real PostgreSQL for every test that needs one.

Where the server comes from is decided in :mod:`tests.pg`. Each test that
asks for a database gets a fresh one, dropped afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from imago_fed.config import Settings, load_settings
from imago_fed.store import migrations
from tests.pg import admin_dsn, scratch_database

TEST_ADMIN_TOKEN = "test-admin-token-0123456789"


@pytest.fixture(scope="session")
def pg_admin_dsn() -> Iterator[str]:
    """A DSN with the right to create and drop databases (see tests/pg.py)."""
    with admin_dsn() as dsn:
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


@pytest.fixture
def settings_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a test instance: its own data dir and admin token."""
    return {
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

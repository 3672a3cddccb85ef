"""The ``imago-fed`` command against a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_ADMIN_TOKEN


def imago(tmp_path: Path, *args: str, database_url: str = "", **env: str):
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("IMAGO_")},
        "IMAGO_INSTANCE_ADMIN_TOKEN": TEST_ADMIN_TOKEN,
        "IMAGO_INSTANCE_DATA_DIR": str(tmp_path / "data"),
        "IMAGO_LOG_FORMAT": "text",
        **env,
    }
    if database_url:
        full_env["IMAGO_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "imago_fed.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=full_env,
        cwd=tmp_path,
    )


def test_migrate_check_and_groups(tmp_path: Path, empty_db: str) -> None:
    before = imago(tmp_path, "check", database_url=empty_db)
    assert before.returncode == 1
    assert "run imago-fed migrate" in before.stderr

    assert imago(tmp_path, "migrate", database_url=empty_db).returncode == 0
    after = imago(tmp_path, "check", database_url=empty_db)
    assert after.returncode == 0, after.stderr
    assert "database: reachable" in after.stdout

    created = imago(
        tmp_path,
        "group",
        "create",
        "garden",
        "--name",
        "Garden",
        "--summary",
        "Veg",
        database_url=empty_db,
    )
    assert created.returncode == 0, created.stderr
    assert "@garden@" in created.stdout
    duplicate = imago(tmp_path, "group", "create", "garden", "--name", "G", database_url=empty_db)
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    bad = imago(tmp_path, "group", "create", "Not OK", "--name", "G", database_url=empty_db)
    assert bad.returncode == 1 and "slug" in bad.stderr

    listed = imago(tmp_path, "group", "list", database_url=empty_db)
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[0].startswith("garden\tGarden\t")


def test_check_reports_an_unreachable_database(tmp_path: Path) -> None:
    result = imago(tmp_path, "check", database_url="postgresql://nobody@127.0.0.1:1/none")
    assert result.returncode == 1
    assert "database: unreachable" in result.stderr


def test_init_writes_a_private_config_once(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGO_")}
    first = subprocess.run(
        [sys.executable, "-m", "imago_fed.cli", "init"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert first.returncode == 0, first.stderr
    config = tmp_path / "config" / "imago.toml"
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    text = config.read_text()
    assert 'scheme = "http"' in text and 'admin_token = ""' not in text
    second = subprocess.run(
        [sys.executable, "-m", "imago_fed.cli", "init"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert second.returncode == 0 and config.read_text() == text
    checked = subprocess.run(
        [sys.executable, "-m", "imago_fed.cli", "check"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**env, "IMAGO_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
    )
    assert "configuration: ok" in checked.stdout


def test_decisions_from_the_command_line(tmp_path: Path, empty_db: str) -> None:
    assert (
        imago(
            tmp_path, "group", "create", "garden", "--name", "G", database_url=empty_db
        ).returncode
        == 0
    )
    import asyncio

    import asyncpg

    async def add_members() -> None:
        conn = await asyncpg.connect(empty_db)
        try:
            for n in (1, 2):
                await conn.execute(
                    """
                    INSERT INTO group_followers (group_id, actor_uri, follow_id, state, created_at)
                    SELECT id, $1, $1 || '#f', 'accepted', now() FROM groups WHERE slug = 'garden'
                    """,
                    f"https://s.example/u{n}",
                )
        finally:
            await conn.close()

    asyncio.run(add_members())
    table = imago(tmp_path, "table", "garden", database_url=empty_db)
    assert table.returncode == 0 and '"amend_table"' in table.stdout
    delegated = imago(
        tmp_path, "delegate", "garden", "https://s.example/u1", "https://s.example/u2",
        database_url=empty_db,
    )  # fmt: skip
    assert delegated.returncode == 0, delegated.stderr
    cycle = imago(
        tmp_path, "delegate", "garden", "https://s.example/u2", "https://s.example/u1",
        database_url=empty_db,
    )  # fmt: skip
    assert cycle.returncode == 1 and "cycle" in cycle.stderr
    created = imago(
        tmp_path, "proposal", "create", "garden", "--action", "moderate", "--title", "Block x",
        "--params", '{"block_domain": "x.example"}', database_url=empty_db,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("proposal 1 open")
    listed = imago(tmp_path, "proposal", "list", "garden", database_url=empty_db)
    assert listed.stdout.splitlines() == ["1\topen\tmoderate\tBlock x"]
    shown = imago(tmp_path, "proposal", "show", "1", database_url=empty_db)
    assert '"verdict": "pending"' in shown.stdout

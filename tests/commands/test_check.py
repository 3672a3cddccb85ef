"""``imago-fed check`` and ``imago-fed migrate``: each exit status the README documents.

0  configuration valid, database reachable, schema at the latest revision
1  database unreachable, or its schema behind ("run imago-fed migrate")
2  invalid configuration (one line per problem, naming the key)
"""

from __future__ import annotations

from pathlib import Path

from tests.commands.runner import NOWHERE, imago


def test_check_before_and_after_migrate(tmp_path: Path, empty_db: str) -> None:
    before = imago(tmp_path, "check", database_url=empty_db)
    assert before.returncode == 1
    assert "run imago-fed migrate" in before.stderr

    migrated = imago(tmp_path, "migrate", database_url=empty_db)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout == "database at head\n" and migrated.stderr == ""
    after = imago(tmp_path, "check", database_url=empty_db)
    assert after.returncode == 0, after.stderr
    assert "database: reachable (configured)" in after.stdout
    assert "schema: at " in after.stdout


def test_check_reports_an_unreachable_database(tmp_path: Path) -> None:
    result = imago(tmp_path, "check", database_url=NOWHERE)
    assert result.returncode == 1
    assert "configuration: ok" in result.stdout
    assert result.stderr.startswith("database: unreachable")
    assert result.stderr.count("\n") == 1


def test_check_exits_2_on_an_invalid_configuration(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[instance]\nscheme = "gopher"\n[http]\nlistne = "1.2.3.4:5"\n')
    result = imago(tmp_path, "--config", str(config), "check", database_url=NOWHERE)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "imago-fed: invalid configuration:"
    assert any("[instance] scheme" in line for line in lines[1:])
    assert any("[http] listne" in line for line in lines[1:])
    assert result.stdout == ""

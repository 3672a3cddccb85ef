"""``imago-fed group``: groups created and listed against a real database."""

from __future__ import annotations

from pathlib import Path

from tests.commands.runner import imago


def test_create_and_list_groups(tmp_path: Path, empty_db: str) -> None:
    created = imago(
        tmp_path, "group", "create", "garden", "--name", "Garden", "--summary", "Veg",
        database_url=empty_db,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "@garden@" in created.stdout
    assert created.stderr == ""  # quiet: no log lines (the schema was migrated on the way)

    duplicate = imago(tmp_path, "group", "create", "garden", "--name", "G", database_url=empty_db)
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    assert duplicate.stderr.startswith("imago-fed: ") and duplicate.stderr.count("\n") == 1
    bad = imago(tmp_path, "group", "create", "Not OK", "--name", "G", database_url=empty_db)
    assert bad.returncode == 1 and "slug" in bad.stderr

    listed = imago(tmp_path, "group", "list", database_url=empty_db)
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[0].startswith("garden\tGarden\t")


def test_following_an_unknown_group_is_one_line(tmp_path: Path, empty_db: str) -> None:
    refused = imago(
        tmp_path, "group", "follow", "nobody", "@news@other.example", database_url=empty_db
    )
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.startswith("imago-fed: ") and refused.stderr.count("\n") == 1

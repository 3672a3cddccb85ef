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


def test_invitations_from_the_command_line(tmp_path: Path, empty_db: str) -> None:
    def cli(*args: str):
        return imago(tmp_path, "group", *args, database_url=empty_db)

    assert cli("create", "garden", "--name", "Garden").returncode == 0
    made = cli("invite", "garden", "--max-uses", "3", "--days", "2")
    assert made.returncode == 0, made.stderr
    code, url, uses, _until = made.stdout.strip().split("\t")
    assert url.endswith(f"/invite/{code}") and uses == "3 use(s)"
    listed = cli("invitations", "garden")
    assert listed.stdout.startswith(f"{code}\t0/3 used\tuntil ")
    assert cli("revoke", "garden", code).returncode == 0
    assert "\trevoked\t" in cli("invitations", "garden").stdout
    again = cli("revoke", "garden", code)
    assert again.returncode == 1 and again.stderr.startswith("imago-fed: no invitation")
    bad = cli("invite", "garden", "--max-uses", "0")
    assert bad.returncode == 1 and "max_uses" in bad.stderr
    off = cli("create", "bikes", "--name", "Bikes", "--founder", "@me:matrix.example")
    assert off.returncode == 1 and "Matrix is not enabled" in off.stderr
    assert "bikes" not in cli("list").stdout
    assert cli("members", "garden").stdout == ""

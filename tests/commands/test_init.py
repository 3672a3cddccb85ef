"""``imago-fed init``: a private starter config, written once."""

from __future__ import annotations

from pathlib import Path

from tests.commands.runner import NOWHERE, imago

# The Quick start's situation: no --config, no $IMAGO_CONFIG (empty counts as unset).
NO_CONFIG = {"IMAGO_CONFIG": ""}


def test_init_writes_a_private_config_once(tmp_path: Path) -> None:
    first = imago(tmp_path, "init", **NO_CONFIG)
    assert first.returncode == 0, first.stderr
    config = tmp_path / "config" / "imago.toml"
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    text = config.read_text()
    assert 'scheme = "http"' in text and 'admin_token = ""' not in text
    second = imago(tmp_path, "init", **NO_CONFIG)
    assert second.returncode == 0 and config.read_text() == text
    assert "already exists" in second.stdout
    checked = imago(tmp_path, "check", database_url=NOWHERE, **NO_CONFIG)
    assert "configuration: ok (config/imago.toml)" in checked.stdout


def test_init_writes_where_imago_config_points(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "imago.toml"
    done = imago(tmp_path, "init", "--domain", "groups.example.org", IMAGO_CONFIG=str(target))
    assert done.returncode == 0, done.stderr
    text = target.read_text()
    assert 'domain = "groups.example.org"' in text and 'scheme = "https"' in text
    assert not (tmp_path / "config").exists()

"""``imago-fed matrix registration``: the appservice registration, tokens saved."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import child_env


def test_registration_command_saves_tokens_in_the_config(tmp_path: Path) -> None:
    config = tmp_path / "imago.toml"
    example = Path(__file__).resolve().parents[2] / "config" / "imago.example.toml"
    config.write_text(
        example.read_text()
        .replace('admin_token = ""', 'admin_token = "0123456789abcdef0123"')
        .replace('server_name = ""', 'server_name = "example.org"')
    )
    output = tmp_path / "registration.yaml"
    run = subprocess.run(
        [sys.executable, "-m", "imago_fed.cli", "--config", str(config), "matrix",
         "registration", "--output", str(output)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=child_env(),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    parsed = yaml.safe_load(output.read_text())
    saved = config.read_text()
    assert f'as_token = "{parsed["as_token"]}"' in saved
    assert f'hs_token = "{parsed["hs_token"]}"' in saved
    assert oct(output.stat().st_mode & 0o777) == "0o600"

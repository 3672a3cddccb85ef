"""Configuration: every bad key or value fails at start, naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from imago_fed.config import CONFIG_ENV, ConfigError, Secret, env_name, load_settings
from tests.conftest import CHECKOUT, TEST_ADMIN_TOKEN, child_env

GOOD = 'admin_token = "0123456789abcdef0123"'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "imago.toml"
    path.write_text(text)
    return path


def problems_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), env=env or {})
    return caught.value.problems


def test_file_and_environment_are_merged_environment_wins(tmp_path: Path) -> None:
    path = write(tmp_path, f'[instance]\n{GOOD}\ndomain = "a.example"\n[database]\npool_max = 3\n')
    env = {"IMAGO_DATABASE_POOL_MAX": "7", "IMAGO_FEDERATION_ALLOW_HTTP": "true"}
    settings = load_settings(path, env=env)
    assert settings.instance.domain == "a.example"
    assert settings.database.pool_max == 7
    assert settings.federation.allow_http is True
    assert settings.federation.allow_private_addresses is False
    assert settings.instance.base_url == "https://a.example"


def test_unknown_key_is_named(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, f"[instance]\n{GOOD}\n[database]\npool_maks = 3\n")
    assert any("[database] pool_maks" in p and "unknown key" in p for p in problems)


def test_unknown_section_is_named(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, f"[instance]\n{GOOD}\n[databse]\nurl = ''\n")
    assert any("[databse]" in p for p in problems)


def test_bad_value_is_named(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, f'[instance]\n{GOOD}\nscheme = "ftp"\n')
    assert problems == [
        "[instance] scheme (env IMAGO_INSTANCE_SCHEME): must be one of https, http, got 'ftp'"
    ]


def test_bad_type_from_environment_is_named(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, f"[instance]\n{GOOD}\n", {"IMAGO_DATABASE_POOL_MAX": "many"})
    assert len(problems) == 1
    assert "[database] pool_max (from IMAGO_DATABASE_POOL_MAX): must be an integer" in problems[0]


def test_missing_admin_token_is_named(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "[instance]\ndomain = 'x.example'\n")
    assert len(problems) == 1
    assert problems[0].startswith(
        "[instance] admin_token (env IMAGO_INSTANCE_ADMIN_TOKEN): is required"
    )


def test_unknown_environment_variable_is_named(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, f"[instance]\n{GOOD}\n", {"IMAGO_DATABSE_URL": "x"})
    assert problems == ["IMAGO_DATABSE_URL: unknown IMAGO_ environment variable"]


def test_secrets_never_show_in_reprs_or_messages(tmp_path: Path) -> None:
    settings = load_settings(
        write(tmp_path, f"[instance]\n{GOOD}\n"),
        env={"IMAGO_DATABASE_URL": "postgresql://u:hunter2@db/x"},
    )
    assert "hunter2" not in repr(settings)
    assert "0123456789abcdef0123" not in repr(settings)
    assert repr(Secret("s3cret")) == "Secret('***')"
    problems = problems_of(
        tmp_path, f"[instance]\n{GOOD}\n", {"IMAGO_DATABASE_URL": "mysql://u:hunter2@db"}
    )
    assert problems and all("hunter2" not in p for p in problems)


def test_matrix_requires_its_keys_when_enabled(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, f"[instance]\n{GOOD}\n[matrix]\nenabled = true\n")
    assert "[matrix] homeserver_url: is required when [matrix] enabled = true" in problems


def test_every_key_has_an_environment_name() -> None:
    assert env_name("database", "url") == "IMAGO_DATABASE_URL"


def test_example_config_is_valid_once_it_has_a_token() -> None:
    example = Path(__file__).resolve().parents[1] / "config" / "imago.example.toml"
    settings = load_settings(example, env={"IMAGO_INSTANCE_ADMIN_TOKEN": "x" * 20})
    assert settings.http.listen == "127.0.0.1:8080"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[instance]\ndomain = 'x.example'\n", "[instance] admin_token"),
        (f"[instance]\n{GOOD}\n[http]\nlisten = 'everywhere'\n", "[http] listen"),
        (f"[instance]\n{GOOD}\n[http]\nlistne = '1.2.3.4:5'\n", "[http] listne"),
    ],
)
def test_serve_refuses_to_start_naming_the_problem(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, text)
    result = subprocess.run(
        [sys.executable, "-m", "imago_fed.cli", "--config", str(path), "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(CHECKOUT)},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert needle in result.stderr


def check_in(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imago_fed.cli", "check"],
        capture_output=True, text=True, timeout=60, cwd=cwd,
        env={**env, "IMAGO_INSTANCE_ADMIN_TOKEN": TEST_ADMIN_TOKEN,
             "IMAGO_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
    )  # fmt: skip


def test_test_processes_never_read_the_config_of_their_working_directory(
    hostile_cwd: Path, no_developer_config: Path
) -> None:
    # The session's own process: no IMAGO_* from the shell, the empty test file.
    assert os.environ[CONFIG_ENV] == str(no_developer_config)
    assert [
        k for k in os.environ if k.startswith("IMAGO_") and not k.startswith("IMAGO_TEST_")
    ] == [CONFIG_ENV]
    # A child started the suite's way reads the test file, not ./config/imago.toml.
    isolated = check_in(hostile_cwd, child_env())
    assert f"configuration: ok ({no_developer_config})" in isolated.stdout, isolated.stderr
    assert isolated.returncode == 1  # the database is unreachable: that is all
    # The same child without the test file reads the hostile one and says so:
    # what a worker spawned in a checkout after ``imago-fed init`` used to do.
    careless = {k: v for k, v in child_env().items() if k != CONFIG_ENV}
    exposed = check_in(hostile_cwd, careless)
    assert exposed.returncode == 2 and "[instance] scheme" in exposed.stderr


def test_object_storage_needs_its_endpoint_bucket_and_keys(tmp_path: Path) -> None:
    path = write(tmp_path, f'[instance]\n{GOOD}\n[media]\nstorage = "s3"\ns3_bucket = "b"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert "[media] s3_endpoint: is required" in str(caught.value)
    assert "[media] s3_secret_key: is required" in str(caught.value)
    assert "s3_bucket: is" not in str(caught.value)
    with pytest.raises(ConfigError, match=r"\[media\] storage"):
        load_settings(path, env={"IMAGO_MEDIA_STORAGE": "ftp"})
    fine = load_settings(path, env={
        "IMAGO_MEDIA_S3_ENDPOINT": "http://127.0.0.1:9000", "IMAGO_MEDIA_S3_ACCESS_KEY": "a",
        "IMAGO_MEDIA_S3_SECRET_KEY": "s",
    })  # fmt: skip
    assert fine.media.storage == "s3" and "s" not in repr(fine.media.s3_secret_key)

"""The Docker build context: what ``COPY`` can see (no Docker needed to check it).

``.dockerignore`` is read here the way Docker reads it: patterns in order,
``**`` for any depth, ``*`` within one path segment, a pattern also covers
everything under a directory it matches, the last matching line wins, and
``!`` lets a path back in.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import tomllib
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@cache
def rules() -> list[tuple[re.Pattern[str], bool]]:
    parsed = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = (
            re.escape(pattern)
            .replace(r"\*\*/", "(?:.*/)?")
            .replace(r"\*\*", ".*")
            .replace(r"\*", "[^/]*")
            .replace(r"\?", "[^/]")
        )
        parsed.append((re.compile(f"{regex}(?:/.*)?"), include))
    return parsed


def in_context(path: str) -> bool:
    kept = True
    for pattern, include in rules():
        if pattern.fullmatch(path):
            kept = include
    return kept


@pytest.mark.parametrize(
    "path",
    [
        "config/imago.toml",
        "config/imago.local.toml",
        "data/pgdata/postmaster.pid",
        "data/instance.key",
        ".venv/bin/python",
        ".venv-3.11/lib/site.py",
        "tests/interop/fedify/node_modules/@fedify/fedify/package.json",
        "imago_fed/node_modules/x.js",
        ".git/config",
        "imago_fed/__pycache__/cli.cpython-311.pyc",
        "imago_fed/.venv/x",
        "tests/conftest.py",
    ],
)
def test_secrets_and_local_state_never_reach_the_image(path: str) -> None:
    assert not in_context(path)


def copied_sources() -> list[str]:
    sources = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            sources.extend(line.split()[1:-1])
    return sources


def test_everything_the_dockerfile_copies_is_in_the_context() -> None:
    sources = copied_sources()
    assert {"imago_fed", "alembic", "config", "pyproject.toml"} <= set(sources)
    listed = subprocess.run(["git", "ls-files", *sources], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: no list of the sources to compare with")
    tracked = listed.stdout.split()
    assert tracked, "git ls-files found none of the copied sources"
    missing = [path for path in tracked if not in_context(path)]
    assert missing == []
    assert in_context("config/imago.example.toml")


def test_the_pages_templates_and_stylesheet_ship_with_the_package() -> None:
    """In the image's build context, and in the package data a wheel carries."""
    web = ROOT / "imago_fed" / "web"
    shipped = sorted(
        path.relative_to(web).as_posix()
        for folder in ("templates", "static")
        for path in (web / folder).rglob("*")
        if path.is_file()
    )
    assert "templates/base.html" in shipped and "static/site.css" in shipped
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["imago_fed.web"]
    for name in shipped:
        assert in_context(f"imago_fed/web/{name}"), name
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name

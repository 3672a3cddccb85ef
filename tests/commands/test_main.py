"""The ``imago-fed`` group itself: where commands live, what they print, what they touch."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import click

from imago_fed.cli import COMMANDS, main
from tests.commands.runner import imago

PACKAGE = Path(__file__).resolve().parents[2] / "imago_fed"
CLI_MODULES = [PACKAGE / "cli.py", *sorted((PACKAGE / "commands").glob("*.py"))]


def test_every_command_lives_in_commands_and_is_registered() -> None:
    for command in COMMANDS:
        assert command.callback is None or command.callback.__module__.startswith(
            "imago_fed.commands."
        ), command.name
        assert main.commands[command.name or ""] is command
    assert set(main.commands) == {command.name for command in COMMANDS}
    tree = ast.parse((PACKAGE / "cli.py").read_text())
    defined = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert defined == ["main"]  # the group, nothing else


# What reaching for the database behind the services' back looks like.
POOL_OR_SQL = {"acquire", "fetch", "fetchval", "fetchrow", "execute", "executemany", "pool"}


def _looks_like_sql(value: object) -> bool:
    return isinstance(value, str) and value.lstrip().upper().startswith(
        ("SELECT ", "INSERT ", "UPDATE ", "DELETE ")
    )


def test_commands_use_no_pool_and_no_sql() -> None:
    offenders = []
    for path in CLI_MODULES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n == "asyncpg" or n.startswith("asyncpg.") for n in names):
                    offenders.append(f"{path.name} imports asyncpg")
                if "create_pool" in names and path.name != "common.py":
                    offenders.append(f"{path.name} makes a pool (use open_runtime)")
            elif isinstance(node, ast.Attribute) and node.attr in POOL_OR_SQL:
                offenders.append(f"{path.name}:{node.lineno} .{node.attr}")
            elif isinstance(node, ast.Constant) and _looks_like_sql(node.value):
                offenders.append(f"{path.name}:{node.lineno} SQL")
    assert offenders == []


def test_a_person_sees_answers_and_verbose_brings_the_log_back(tmp_path: Path) -> None:
    """On the embedded database, which logs its start and stop at info level."""
    quiet = imago(tmp_path, "check", IMAGO_LOG_FORMAT="json")
    assert quiet.returncode == 1  # nothing migrated yet
    assert "database: reachable (embedded)" in quiet.stdout
    assert quiet.stderr.splitlines() == [
        line for line in quiet.stderr.splitlines() if not line.startswith("{")
    ]
    assert "embedded PostgreSQL" not in quiet.stderr
    assert "run imago-fed migrate" in quiet.stderr

    verbose = imago(tmp_path, "--verbose", "check", IMAGO_LOG_FORMAT="json")
    logged = [json.loads(line) for line in verbose.stderr.splitlines() if line.startswith("{")]
    assert "embedded PostgreSQL stopped" in [entry["msg"] for entry in logged]
    assert verbose.returncode == 1 and "run imago-fed migrate" in verbose.stderr


def test_help_names_every_command() -> None:
    text = main.get_help(click.Context(main))
    for command in COMMANDS:
        assert command.name in text

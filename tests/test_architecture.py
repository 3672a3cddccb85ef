"""The hexagon's walls: the domain imports no adapter, adapters not each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "imago_fed"

FORBIDDEN = {
    "domain": (
        "imago_fed.activitypub", "imago_fed.matrix", "imago_fed.store", "imago_fed.web",
        "imago_fed.app", "imago_fed.cli", "imago_fed.services", "imago_fed.config",
        "asyncpg", "sqlalchemy", "alembic", "quart", "hypercorn", "httpx", "nio", "pyld",
    ),
    "activitypub": ("imago_fed.matrix",),
    "matrix": ("imago_fed.activitypub",),
    # use cases reach storage and networks only through the ports
    "services": (
        "imago_fed.activitypub", "imago_fed.matrix", "imago_fed.store", "imago_fed.web",
        "imago_fed.app", "imago_fed.cli", "imago_fed.commands",
        "asyncpg", "sqlalchemy", "quart", "httpx", "nio",
    ),
}  # fmt: skip


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_stay_inside_their_walls(layer: str) -> None:
    offenders = []
    for path in (PACKAGE / layer).rglob("*.py"):
        for name in imports_of(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer]):
                offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert offenders == []


def test_the_check_itself_catches_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("from imago_fed.store.groups import PgGroupRepository\nimport quart\n")
    assert {"imago_fed.store.groups", "quart"} <= imports_of(sample)

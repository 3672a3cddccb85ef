"""The hexagon's walls: the domain imports no adapter, adapters not each other,
SQL and the database driver stay in ``store/``, and ``store/`` imports no adapter."""

from __future__ import annotations

import ast
import re
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


# ------------------------------------------------------------------ SQL and the pool
# Only the store talks to PostgreSQL; app.py and commands/ wire it (they open
# the pool and hand repositories out). Everyone else gets ports.
DATABASE_PLACES = ("store/", "app.py", "commands/")
DATABASE_IMPORTS = ("asyncpg", "imago_fed.store")
SQL = re.compile(r"\b(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b")

# Modules that still reach the database themselves; each line goes when its
# module moves to ports (the test fails on a line that is no longer needed).
STILL_ON_THE_POOL = frozenset({
})  # fmt: skip

ADAPTERS = ("imago_fed.activitypub", "imago_fed.matrix", "imago_fed.web")


def _docstrings(tree: ast.AST) -> set[int]:
    """Ids of the docstring nodes: prose may mention SQL, code may not."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def database_uses(path: Path) -> list[str]:
    """What in this module talks to the database: driver/store imports, SQL literals."""
    uses = sorted(
        f"imports {name}"
        for name in imports_of(path)
        if any(name == f or name.startswith(f + ".") for f in DATABASE_IMPORTS)
    )
    tree = ast.parse(path.read_text(), str(path))
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and (match := SQL.search(node.value))
        ):
            uses.append(f"SQL at line {node.lineno}: {match.group(0)!r}")
    return uses


def _modules() -> dict[str, Path]:
    return {path.relative_to(PACKAGE).as_posix(): path for path in PACKAGE.rglob("*.py")}


def test_only_the_store_holds_sql_or_touches_the_database() -> None:
    modules = _modules()
    offenders, cleaned_up = [], sorted(STILL_ON_THE_POOL - modules.keys())  # moved or gone
    for name, path in sorted(modules.items()):
        if name.startswith(DATABASE_PLACES):
            continue
        uses = database_uses(path)
        if uses and name not in STILL_ON_THE_POOL:
            offenders += [f"{name} {use}" for use in uses]
        elif not uses and name in STILL_ON_THE_POOL:
            cleaned_up.append(name)
    assert offenders == [], "go through a port (domain/ports/) wired in app.py"
    assert cleaned_up == [], "no longer on the pool: remove from STILL_ON_THE_POOL"


def adapter_imports(path: Path) -> list[str]:
    return sorted(
        name
        for name in imports_of(path)
        if any(name == a or name.startswith(a + ".") for a in ADAPTERS)
    )


def test_the_store_imports_no_adapter() -> None:
    offenders = [
        f"{name} imports {imported}"
        for name, path in sorted(_modules().items())
        if name.startswith("store/")
        for imported in adapter_imports(path)
    ]
    assert offenders == [], "the store takes plain values (e.g. a scheme's name), not adapter types"


def test_the_check_itself_catches_sql_and_the_driver(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text(
        '"""Claims rows with SELECT ... FOR UPDATE SKIP LOCKED (prose is fine)."""\n'
        "import asyncpg\n"
        "from imago_fed.store import follows\n"
        "async def f(pool):\n"
        '    """DELETE FROM in a docstring is prose too."""\n'
        "    await pool.execute(\"UPDATE groups SET name = $1\", 'x')\n"
        '    return await pool.fetch(f"SELECT * FROM t WHERE id = {1}")\n'
        "label = 'Select a group'\n"
    )
    assert database_uses(sample) == [
        "imports asyncpg",
        "imports imago_fed.store",
        "SQL at line 6: 'UPDATE groups SET'",
        "SQL at line 7: 'SELECT'",
    ]


def test_the_check_itself_catches_the_store_importing_an_adapter(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text(
        "from imago_fed.activitypub.signatures import SignatureScheme\n"
        "import imago_fed.web.runtime\n"
        "from imago_fed.domain.groups import Group\n"
        "import imago_fed.matrixish\n"
    )
    assert adapter_imports(sample) == ["imago_fed.activitypub.signatures", "imago_fed.web.runtime"]

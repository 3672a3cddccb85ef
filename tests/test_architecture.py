"""The hexagon's walls, read off the imports and the string literals.

- each layer imports only the layers MAY_IMPORT lists: the domain only itself
  (plus the standard library and pure computation), the use cases only the
  domain, no adapter (activitypub, matrix, store) another adapter;
- the domain and the use cases use no HTTP, SQL or protocol library;
- SQL and the database driver stay in ``store/`` (app.py and commands/ wire);
- the package root holds only the app factory, the CLI, config and logging.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "imago_fed"

# Third-party libraries a layer must not use: the domain and the use cases
# speak no HTTP, SQL or protocol.
FORBIDDEN = {
    "domain": (
        "asyncpg", "sqlalchemy", "alembic", "quart", "hypercorn", "uvicorn", "httpx", "nio", "pyld",
    ),
    "services": ("asyncpg", "sqlalchemy", "alembic", "quart", "hypercorn", "uvicorn", "httpx",
                 "nio"),
}  # fmt: skip

# The layers of our own package each may import (besides itself). Anything
# else, a new layer included, is refused until it is placed here on purpose.
# The driven adapters (activitypub, matrix, store) import no adapter; web is
# the HTTP edge and serves the two protocol adapters' endpoints; app.py,
# cli.py and commands/ wire everything and are not checked.
MAY_IMPORT = {
    "domain": (),
    "services": ("domain",),
    "activitypub": ("domain", "services", "config"),
    "matrix": ("domain", "services", "config"),
    "store": ("domain", "config"),
    "web": ("domain", "services", "config", "logs", "activitypub", "matrix"),
}  # fmt: skip

# Libraries the domain may use besides the standard library: pure computation
# (big integers, elliptic curves, hashes), no I/O.
DOMAIN_LIBRARIES = ("cryptography", "gmpy2", "nacl")

# Modules at the package root: the app factory, the CLI, configuration and
# logging. Everything else belongs in a layer.
ROOT_MODULES = {"__init__.py", "app.py", "cli.py", "config.py", "logs.py"}


def _package_of(path: Path) -> list[str]:
    """``imago_fed.activitypub.http`` for a module in that folder (relative imports)."""
    parts = path.parent.parts
    top = len(parts) - 1 - parts[::-1].index("imago_fed")
    return list(parts[top:])


def imports_of(path: Path) -> set[str]:
    """Absolute names a module imports, anywhere in it (late and relative imports too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            package = _package_of(path)
            base = ".".join(package[: len(package) - node.level + 1])
            if node.module:
                names.add(f"{base}.{node.module}")
            else:  # from .. import config: the names may be modules
                names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_stay_inside_their_walls(layer: str) -> None:
    offenders = []
    for path in (PACKAGE / layer).rglob("*.py"):
        for name in imports_of(path):
            if any(_under(name, f) for f in FORBIDDEN[layer]):
                offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert offenders == []


def layer_violations(layer: str, path: Path) -> list[str]:
    """Imports of our package that ``layer`` may not make (MAY_IMPORT).

    The package itself (``from imago_fed import __version__``) is free to all.
    """
    allowed = ("imago_fed." + layer, *(f"imago_fed.{other}" for other in MAY_IMPORT[layer]))
    return sorted(
        name
        for name in imports_of(path)
        if _under(name, "imago_fed")
        and name != "imago_fed"
        and not any(_under(name, a) for a in allowed)
    )


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_each_layer_imports_only_the_layers_it_may(layer: str) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for name in layer_violations(layer, path)
    ]
    assert offenders == [], f"{layer} may import only {MAY_IMPORT[layer]}"


def test_the_domain_uses_only_the_standard_library_and_pure_computation() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted((PACKAGE / "domain").rglob("*.py"))
        for name in sorted(imports_of(path))
        if name.split(".")[0] not in sys.stdlib_module_names
        and not _under(name, "imago_fed.domain")
        and name.split(".")[0] not in DOMAIN_LIBRARIES
    ]
    assert offenders == []


def test_the_package_root_holds_only_the_wiring() -> None:
    root = {path.name for path in PACKAGE.glob("*.py")}
    assert root - ROOT_MODULES == set(), "move it into a layer (domain/, services/, an adapter)"
    layers = {path.name for path in PACKAGE.iterdir() if path.is_dir()} - {"__pycache__"}
    assert layers == {*MAY_IMPORT, "commands"}, "a new layer needs its place in MAY_IMPORT"


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


def test_the_check_itself_catches_an_import_across_layers(tmp_path: Path) -> None:
    (tmp_path / "imago_fed" / "domain").mkdir(parents=True)
    sample = tmp_path / "imago_fed" / "domain" / "bad.py"
    sample.write_text(
        "from imago_fed.activitypub.signatures import SignatureScheme\n"
        "import imago_fed.web.runtime\n"
        "from imago_fed.domain.groups import Group\n"
        "from imago_fed.store.follows import PgFollows\n"
        "import imago_fed.matrixish\n"
        "def late():\n"
        "    from imago_fed.matrix import ids\n"
        "from .. import config\n"
        "from .rules import Rule\n"
    )
    assert layer_violations("store", sample) == [
        "imago_fed.activitypub.signatures", "imago_fed.matrix", "imago_fed.matrixish",
        "imago_fed.web.runtime",
    ]  # fmt: skip
    assert layer_violations("services", sample)[0] == "imago_fed.activitypub.signatures"
    assert "imago_fed.config" in layer_violations("domain", sample)
    assert "imago_fed.domain.rules" in imports_of(sample)
    assert layer_violations("activitypub", sample) == [
        "imago_fed.matrix", "imago_fed.matrixish", "imago_fed.store.follows",
        "imago_fed.web.runtime",
    ]  # fmt: skip


# ------------------------------------------------------------------ tests mirror the package
TESTS = PACKAGE.parent / "tests"


def test_every_store_module_has_its_test_module() -> None:
    """store/<name>.py is tested against PostgreSQL in tests/store/test_<name>.py."""
    missing = sorted(
        f"tests/store/test_{path.stem}.py"
        for path in (PACKAGE / "store").glob("*.py")
        if path.name != "__init__.py" and not (TESTS / "store" / f"test_{path.stem}.py").exists()
    )
    assert missing == []

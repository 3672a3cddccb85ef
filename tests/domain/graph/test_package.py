"""The package's surface: everything exported resolves, and the code stays pure."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import imago_fed.domain.graph as graph

PACKAGE = Path(graph.__file__).parent
# The graph domain computes; it never reaches out. Only these may be imported.
ALLOWED_STDLIB = {
    "__future__", "collections", "collections.abc", "dataclasses", "datetime", "heapq", "math",
    "re", "types", "typing",
}  # fmt: skip


def test_everything_exported_exists_and_is_listed_once() -> None:
    assert len(graph.__all__) == len(set(graph.__all__))
    for name in graph.__all__:
        assert getattr(graph, name) is not None
    for module in ("feeds", "places", "propagation", "proximity", "relations", "wikidata"):
        mod = sys.modules[f"imago_fed.domain.graph.{module}"]
        for name in mod.__all__:
            assert hasattr(mod, name), f"{module}.{name}"


GAZETTEER_STDLIB = {"bisect", "csv", "functools", "gzip", "importlib", "io", "unicodedata"}


def test_modules_import_only_pure_things() -> None:
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            # The gazetteer reads the data files shipped inside the package.
            allowed = ALLOWED_STDLIB | (GAZETTEER_STDLIB if path.name == "gazetteer.py" else set())
            for name in names:
                assert name in allowed or name.startswith(
                    ("imago_fed.domain.errors", "imago_fed.domain.graph")
                ), f"{path.name} imports {name}"

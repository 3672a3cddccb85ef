"""docs/ARCHITECTURE.md names only what exists.

The document is a map: a newcomer opens every module it names. A rename that
forgets the map leaves it pointing nowhere, and once it lied about domain
modules that did not exist. So every path it names must exist:

- in the tree at the top, an entry is a path under its parent entry;
- elsewhere, a word with a file suffix (``store/inbox.py``, ``signers.py``)
  or a slashed word starting with a folder of ours (``domain/ports/``, but
  not ``joined/left`` or ``401/403``) is a path: from the checkout, from
  ``imago_fed/``, from ``tests/``, or from a folder of the package
  (``http/`` in the ActivityPub flow); a bare file name is a module
  somewhere in the package.
"""

from __future__ import annotations

import re
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
DOCUMENT = CHECKOUT / "docs" / "ARCHITECTURE.md"
PACKAGE = CHECKOUT / "imago_fed"

# A path-looking word: slashes between names, or a name with a known suffix.
_SUFFIXES = r"py|md|toml|ini|csv|html|css|js|json|yaml|mjs"
PATH = re.compile(
    rf"(?<![\w./:-])((?:[\w.-]+/)+(?:[\w.-]+(?:\.(?:{_SUFFIXES}))?)?|[\w.-]+\.(?:{_SUFFIXES}))"
    r"(?![\w/-])"
)
HAS_SUFFIX = re.compile(rf"\.(?:{_SUFFIXES})$")
TREE_ENTRY = re.compile(r"^(?P<indent> *)(?P<name>[\w.-]+/|[\w-]+\.py)(?:\s|$)")
# Where a path may start: the checkout, the package, the tests, any package folder.
BASES = (CHECKOUT, PACKAGE, CHECKOUT / "tests", *(p for p in PACKAGE.rglob("*") if p.is_dir()))
FOLDERS = {p.name for base in BASES[:3] for p in base.iterdir() if p.is_dir()}


def _blocks(text: str) -> list[tuple[str, str]]:
    """The document cut into (kind, text) pieces: "code" blocks and "prose"."""
    pieces = re.split(r"^```[^\n]*\n(.*?)^```$", text, flags=re.M | re.S)
    return [("code" if i % 2 else "prose", piece) for i, piece in enumerate(pieces)]


def tree_paths(block: str) -> list[str]:
    """The paths a tree block draws, each entry joined to the entries above it."""
    stack: list[tuple[int, str]] = []
    paths = []
    for line in block.splitlines():
        match = TREE_ENTRY.match(line)
        if not match:
            continue
        indent, name = len(match["indent"]), match["name"]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = "".join(entry for _, entry in stack) + name
        paths.append(path)
        if name.endswith("/"):
            stack.append((indent, name))
    return paths


def named_paths(text: str) -> list[str]:
    """Every path the document names outside its tree."""
    found = []
    for kind, piece in _blocks(text):
        if kind == "code" and piece.startswith("imago_fed/"):
            continue
        words = [m.rstrip(".") for m in PATH.findall(piece)]  # a sentence's full stop
        found += [w for w in words if HAS_SUFFIX.search(w) or w.split("/")[0] in FOLDERS]
    return found


def exists(name: str) -> bool:
    if "/" not in name:
        return any(PACKAGE.rglob(name))
    return any((base / name).exists() for base in BASES)


def test_the_tree_draws_only_what_exists() -> None:
    trees = [p for kind, p in _blocks(DOCUMENT.read_text()) if p.startswith("imago_fed/")]
    assert len(trees) == 1, "the document opens with the package's tree"
    paths = tree_paths(trees[0])
    assert "imago_fed/domain/ports/" in paths
    missing = [p for p in paths if not (CHECKOUT / p).exists()]
    assert missing == []


def test_every_layer_is_in_the_tree() -> None:
    trees = [p for kind, p in _blocks(DOCUMENT.read_text()) if p.startswith("imago_fed/")]
    drawn = set(tree_paths(trees[0]))
    layers = {
        f"imago_fed/{path.name}/" if path.is_dir() else f"imago_fed/{path.name}"
        for path in PACKAGE.iterdir()
        if path.name not in ("__pycache__", "__init__.py")
    }
    assert layers - drawn == set()


def test_every_subpackage_is_in_the_tree() -> None:
    """A package inside a layer (``domain/resources/``) is drawn under its layer."""
    trees = [p for kind, p in _blocks(DOCUMENT.read_text()) if p.startswith("imago_fed/")]
    drawn = set(tree_paths(trees[0]))
    packages = {
        f"imago_fed/{init.parent.relative_to(PACKAGE).as_posix()}/"
        for init in PACKAGE.glob("*/*/__init__.py")
    }
    assert packages - drawn == set()


def test_every_path_named_exists() -> None:
    names = named_paths(DOCUMENT.read_text())
    assert "store/inbox.py" in names
    missing = sorted({name for name in names if not exists(name)})
    assert missing == []


def test_the_check_itself_reads_trees_and_prose() -> None:
    tree = "imago_fed/\n  domain/      rules\n    ports/     Protocols\n  app.py       wiring\n"
    assert tree_paths(tree) == [
        "imago_fed/",
        "imago_fed/domain/",
        "imago_fed/domain/ports/",
        "imago_fed/app.py",
    ]
    prose = (
        "The worker (`services/worker.py`) wakes on store/notify.py; "
        "GET /api/v1/groups/{slug} and https://example.org/a/b are not paths, nor is I/O or "
        "joined/left. signers.py is, and domain/ports/ too; config/imago.example.toml."
    )
    assert named_paths(prose) == [
        "services/worker.py", "store/notify.py", "signers.py", "domain/ports/",
        "config/imago.example.toml",
    ]  # fmt: skip
    assert not exists("domain/nowhere.py") and exists("store/notify.py")

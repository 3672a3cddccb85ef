"""The type checker runs with the tests: mypy, configured in pyproject.toml.

It is here rather than only in CI so that ``python -m pytest`` (the README's
command, which ``.ci/run`` runs verbatim) fails on a type error like any other
broken rule. The other tests show the configuration is strict enough to find
the kind of bug that once slipped in (a method body copied into a ``Protocol``
that reaches for ``self._store``, an attribute no Protocol has) and to refuse
a function without annotations, whose body mypy would otherwise not check.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    """mypy with the project's configuration; its cache stays in the checkout."""
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(CHECKOUT / "pyproject.toml"), *args],
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_package_type_checks_and_every_port_implementation_fits_its_port() -> None:
    """The package, the in-memory fakes, and tests/conformance.py (store and fakes as ports)."""
    result = mypy("imago_fed", "tests/fakes", "tests/conformance.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_store_class_is_checked_against_its_port() -> None:
    """A new repository class in store/ goes into tests/conformance.py with its port."""
    named = (CHECKOUT / "tests" / "conformance.py").read_text()
    classes = {
        match.group(1)
        for path in (CHECKOUT / "imago_fed" / "store").glob("*.py")
        for match in re.finditer(r"^class (Pg\w+)", path.read_text(), re.M)
    }
    assert classes, "the store's classes are named Pg..."
    assert sorted(name for name in classes if not re.search(rf"\b{name}\b", named)) == []


def test_the_configuration_catches_a_protocol_body_using_self_store(tmp_path: Path) -> None:
    sample = tmp_path / "ports.py"
    sample.write_text(
        "from typing import Protocol\n"
        "\n"
        "class GovernanceStore(Protocol):\n"
        "    async def get(self, proposal_id: int) -> str:\n"
        "        return await self._store.get(proposal_id)\n"
    )
    result = mypy(str(sample))
    assert result.returncode == 1
    assert '"GovernanceStore" has no attribute "_store"' in result.stdout


def test_the_configuration_wants_every_function_typed(tmp_path: Path) -> None:
    sample = tmp_path / "untyped.py"
    sample.write_text("def slug_of(group):\n    return group.slug\n")
    result = mypy(str(sample))
    assert result.returncode == 1
    assert "Function is missing a type annotation" in result.stdout

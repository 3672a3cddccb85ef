"""The type checker runs with the tests: mypy, configured in pyproject.toml.

It is here rather than only in CI so that ``python -m pytest`` (the README's
command, which ``.ci/run`` runs verbatim) fails on a type error like any other
broken rule. The second test shows the configuration is strict enough to find
the kind of bug that once slipped in: a method body copied into a ``Protocol``
that reaches for ``self._store``, an attribute no Protocol has.
"""

from __future__ import annotations

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


def test_the_package_type_checks() -> None:
    result = mypy("--package", "imago_fed")
    assert result.returncode == 0, result.stdout + result.stderr


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

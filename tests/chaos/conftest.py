"""Fixtures of the chaos tests: a line of figures in the test output; Synapse."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest

from tests.matrix_hs.fixtures import synapse_factory as synapse_factory


@pytest.fixture
def report(pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> Callable[..., None]:
    """Write ``test what: key=value, ...`` to the terminal, passing or failing (and
    to the test's captured output, which a failure report shows)."""
    plugins = pytestconfig.pluginmanager
    terminal = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")

    def write(what: str, **figures: object) -> None:
        line = f"{request.node.name} {what}: " + ", ".join(f"{k}={v}" for k, v in figures.items())
        print(line)
        if terminal is not None:
            uncaptured = (
                capture.global_and_fixture_disabled()
                if capture is not None
                else contextlib.nullcontext()
            )
            with uncaptured:
                terminal.write_line(f"\n{line}")

    return write

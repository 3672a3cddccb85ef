"""Pytest fixtures for a real Synapse (see :mod:`tests.matrix_hs.synapse`).

Making them visible
    ``tests/matrix_hs/conftest.py`` already does this for the tests in this
    folder. Elsewhere, either add ``"tests.matrix_hs.fixtures"`` to
    ``pytest_plugins`` in the root ``tests/conftest.py`` (pytest accepts
    ``pytest_plugins`` only there), or re-export them in that folder's
    ``conftest.py``::

        from tests.matrix_hs.fixtures import synapse as synapse
        from tests.matrix_hs.fixtures import synapse_factory as synapse_factory

    (Importing them into the test module itself works too, but then ruff
    reports F811 for every test that takes the fixture as an argument.)

Starting costs about 3.5 s (1.5 s to generate the config, 2 s to answer), so
start one Synapse per test module, not per test.

Registering our appservice
    Synapse reads the registration only when it starts, and the
    registration's ``url`` is where Synapse will push transactions and pings,
    so the port of our appservice must be known first. Pick it, build the
    registration, start Synapse, then start our server on that port with the
    registration's tokens::

        from tests.matrix_hs.synapse import make_registration
        from tests.support import free_port

        @pytest.fixture(scope="module")
        def homeserver(synapse_factory):
            port = free_port()               # our server will listen here
            registration = make_registration(f"http://127.0.0.1:{port}")
            with synapse_factory(registration) as hs:
                yield hs                     # hs.appservice is the registration

        # then, in a test or another fixture: start our server on `port`
        # (hs.base_url is the homeserver, hs.appservice["as_token"] /
        # ["hs_token"] the tokens, hs.server_name "localhost"), and call the
        # ping endpoint once it is up, so Synapse retries anything that
        # failed while our server was not there yet.

    A server that binds port 0 first (like ``tests.receiver.receiver``) works
    the same way, with its base URL as the registration's ``url``.

    Starting Synapse blocks for those few seconds. That is harmless even with
    our appservice on the same event loop, because Synapse contacts no
    appservice while it starts. In async tests, still prefer ``await
    hs.arestart()`` (it runs in a thread) to a blocking ``hs.restart()``.

    After a restart, Synapse 1.163 starts its appservice scheduler only on
    the first new event an appservice is interested in. Until then, a
    transaction that failed before the restart is not retried, and a ping
    does not trigger a retry (there is no recoverer yet). After that event,
    the backlog follows in about 2 s, oldest first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import pytest

from tests.matrix_hs.synapse import SERVER_NAME, Synapse


class SynapseFactory(Protocol):
    def __call__(
        self, appservice: dict[str, Any] | None = None, *, name: str = "synapse",
        server_name: str = SERVER_NAME,
    ) -> Synapse: ...  # fmt: skip


@pytest.fixture(scope="session")
def synapse_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseFactory]:
    """Start a Synapse, optionally with an appservice registration.

    ``synapse_factory(registration=None, name="synapse", server_name="localhost")``
    returns a started
    :class:`Synapse` in a fresh directory under pytest's base temp directory
    (kept after the run: ``synapse.log`` is there). Use it as a context
    manager in a module-scoped fixture to stop it at the module's end; any
    Synapse still running is stopped when the session ends.
    """
    started: list[Synapse] = []

    def start(
        appservice: dict[str, Any] | None = None, *, name: str = "synapse",
        server_name: str = SERVER_NAME,
    ) -> Synapse:  # fmt: skip
        homeserver = Synapse(tmp_path_factory.mktemp(name), appservice, server_name=server_name)
        started.append(homeserver)
        homeserver.start()
        return homeserver

    yield start
    for homeserver in started:
        homeserver.stop()


@pytest.fixture(scope="session")
def synapse(synapse_factory: SynapseFactory) -> Synapse:
    """One shared Synapse without an appservice, for tests of the plain client API.

    It is shared by the whole session: use distinct user names and rooms.
    """
    return synapse_factory(name="synapse-plain")

"""Where the tests' PostgreSQL comes from (tests/pg.py): the fallback decision."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.pg import LOCAL_DSN, admin_dsn, choose_server, login_problem, with_database
from tests.support import free_port


def as_user(dsn: str, user: str) -> str:
    """The same server and database, another role (no password)."""
    parts = urlsplit(dsn)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


def test_a_configured_url_wins_without_trying_the_local_server() -> None:
    def never(dsn: str) -> str | None:
        raise AssertionError("the local server was tried")

    chosen, why = choose_server("postgresql://ci@db/postgres", problem_of=never)
    assert chosen == "postgresql://ci@db/postgres" and "IMAGO_TEST_DATABASE_URL" in why


def test_the_local_server_is_used_when_the_login_works() -> None:
    chosen, why = choose_server(None, problem_of=lambda dsn: None)
    assert chosen == LOCAL_DSN and "logged in" in why


def test_a_refused_login_falls_back_to_the_embedded_server_saying_why() -> None:
    refusal = 'InvalidAuthorizationSpecificationError: no pg_hba.conf entry for host "127.0.0.1"'
    chosen, why = choose_server(None, problem_of=lambda dsn: refusal)
    assert chosen is None
    assert refusal in why and "embedded" in why and "IMAGO_TEST_DATABASE_URL" in why


def test_a_password_never_reaches_the_log() -> None:
    chosen, why = choose_server(
        None, "postgresql://me:s3cret@127.0.0.1:5432/postgres", lambda dsn: "refused"
    )
    assert chosen is None and "s3cret" not in why and "me:***@" in why


def test_nothing_listening_is_a_login_problem() -> None:
    problem = login_problem(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres")
    assert problem is not None and "Error" in problem


async def test_a_role_that_does_not_exist_is_refused(pg_admin_dsn: str) -> None:
    """A real refusal by a real server, from inside a running event loop."""
    problem = login_problem(as_user(pg_admin_dsn, "imago_no_such_role"))
    assert problem is not None and "imago_no_such_role" in problem
    assert login_problem(pg_admin_dsn) is None


async def test_a_role_that_cannot_create_databases_is_not_an_admin(pg_admin_dsn: str) -> None:
    conn = await asyncpg.connect(pg_admin_dsn)
    try:
        await conn.execute("DROP ROLE IF EXISTS imago_test_plain")
        await conn.execute("CREATE ROLE imago_test_plain LOGIN")
        plain = with_database(as_user(pg_admin_dsn, "imago_test_plain"), "postgres")
        assert login_problem(plain) == ("logged in, but the role may not create databases")
    finally:
        await conn.execute("DROP ROLE IF EXISTS imago_test_plain")
        await conn.close()


@pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR")  # importing pgserver, as pg.py does
def test_admin_dsn_reports_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a refused login and no URL, admin_dsn says why before starting its own server."""
    import tests.pg as pg

    monkeypatch.delenv("IMAGO_TEST_DATABASE_URL", raising=False)
    monkeypatch.setattr(pg, "choose_server", lambda configured: (None, "refused (for this test)"))
    reported: list[str] = []
    started = []

    class Server:
        def get_uri(self, name: str) -> str:
            return f"postgresql://embedded/{name}"

        def cleanup(self) -> None:
            started.append("stopped")

    monkeypatch.setattr("pgserver.get_server", lambda *a, **k: Server())
    with admin_dsn(reported.append) as dsn:
        assert dsn == "postgresql://embedded/postgres"
    assert reported == ["test database server: refused (for this test)"]
    assert started == ["stopped"]

"""Where the database is, and the pool (store/database.py).

The embedded server is started by ``imago-fed serve`` in tests/commands/;
here: a configured URL is used as it is, and the pool the app runs on.
"""

from __future__ import annotations

import pytest

from imago_fed.store.database import EMBEDDED_DATABASE, create_pool, database_dsn


async def test_a_configured_url_is_used_and_nothing_is_started(
    migrated_db: str, make_settings, tmp_path
) -> None:
    settings = make_settings(migrated_db, IMAGO_INSTANCE_DATA_DIR=str(tmp_path / "data"))
    async with database_dsn(settings) as dsn:
        assert dsn == migrated_db
    assert not (tmp_path / "data" / "pgdata").exists()
    assert EMBEDDED_DATABASE == "imago"


async def test_the_pool_is_sized_named_and_rolls_back_what_a_caller_left_open(
    migrated_db: str, make_settings
) -> None:
    settings = make_settings(migrated_db, IMAGO_DATABASE_POOL_MIN="1", IMAGO_DATABASE_POOL_MAX="1")
    pool = await create_pool(migrated_db, settings)
    try:
        assert (pool.get_min_size(), pool.get_max_size()) == (1, 1)
        assert await pool.fetchval("SHOW application_name") == "imago-fed"
        conn = await pool.acquire()
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("CREATE TABLE left_open (n int)")
        await pool.release(conn)  # a bug upstream: the transaction was never ended
        async with pool.acquire() as again:  # the one connection, reset
            assert not again.is_in_transaction()
            assert await again.fetchval("SELECT to_regclass('left_open')") is None
    finally:
        await pool.close()


async def test_an_unreachable_server_fails_at_once(make_settings) -> None:
    dsn = "postgresql://nobody@127.0.0.1:1/nothing"
    with pytest.raises(OSError):  # refused: the command reports it and exits 1
        await create_pool(dsn, make_settings(dsn))

"""``imago-fed table|delegate|proposal``: decisions from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from tests.commands.runner import imago


async def add_members(dsn: str, *actors: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for actor in actors:
            await conn.execute(
                """
                INSERT INTO group_followers (group_id, actor_uri, follow_id, state, created_at)
                SELECT id, $1, $1 || '#f', 'accepted', now() FROM groups WHERE slug = 'garden'
                """,
                actor,
            )
    finally:
        await conn.close()


def test_decisions_from_the_command_line(tmp_path: Path, empty_db: str) -> None:
    created = imago(tmp_path, "group", "create", "garden", "--name", "G", database_url=empty_db)
    assert created.returncode == 0, created.stderr
    asyncio.run(add_members(empty_db, "https://s.example/u1", "https://s.example/u2"))
    table = imago(tmp_path, "table", "garden", database_url=empty_db)
    assert table.returncode == 0 and '"amend_table"' in table.stdout
    delegated = imago(
        tmp_path, "delegate", "garden", "https://s.example/u1", "https://s.example/u2",
        database_url=empty_db,
    )  # fmt: skip
    assert delegated.returncode == 0, delegated.stderr
    cycle = imago(
        tmp_path, "delegate", "garden", "https://s.example/u2", "https://s.example/u1",
        database_url=empty_db,
    )  # fmt: skip
    assert cycle.returncode == 1 and "cycle" in cycle.stderr
    created = imago(
        tmp_path, "proposal", "create", "garden", "--action", "moderate", "--title", "Block x",
        "--params", '{"block_domain": "x.example"}', database_url=empty_db,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("proposal 1 open")
    listed = imago(tmp_path, "proposal", "list", "garden", database_url=empty_db)
    assert listed.stdout.splitlines() == ["1\topen\tmoderate\tBlock x"]
    shown = imago(tmp_path, "proposal", "show", "1", database_url=empty_db)
    assert '"verdict": "pending"' in shown.stdout

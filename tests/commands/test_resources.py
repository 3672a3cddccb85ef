"""``imago-fed resources``: the common cases from the command line, two groups
of one instance (publish, match, answer, accept, fulfil, stocks), and a clear
refusal of bad input."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg

from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.protocols import Doocracy
from imago_fed.domain.governance.table import default_table
from tests.commands.runner import imago


async def do_at_once(dsn: str) -> None:
    """publish_offer and spend under a do-ocracy for every group (a test shortcut)."""
    table = default_table().amended(
        {ActionKind.PUBLISH_OFFER: Doocracy(), ActionKind.SPEND: Doocracy()}
    )
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO control_tables (group_id, rules, updated_at)"
            " SELECT id, $1::jsonb, now() FROM groups",
            json.dumps(table.to_dict()),
        )
    finally:
        await conn.close()


def test_resources_from_the_command_line(tmp_path: Path, empty_db: str) -> None:
    def cli(*args: str):
        return imago(tmp_path, *args, database_url=empty_db)

    for slug in ("garden", "workshop"):
        assert cli("group", "create", slug, "--name", slug).returncode == 0
    asyncio.run(do_at_once(empty_db))

    stocked = cli("resources", "stock", "garden", "Q11442", "5", "--name", "bicycles")
    assert stocked.returncode == 0, stocked.stderr
    assert stocked.stdout.strip().endswith("bicycles\t5 one")
    offered = cli("resources", "offer", "garden", "Bicycles", "--type", "Q11442",
                  "--quantity", "3")  # fmt: skip
    assert offered.returncode == 0, offered.stderr
    assert offered.stdout.startswith("intent 1 open (publish_offer decision")
    needed = cli("resources", "offer", "workshop", "Bikes", "--request", "--type",
                 "https://www.wikidata.org/wiki/Q11442", "--quantity", "2")  # fmt: skip
    assert needed.returncode == 0 and needed.stdout.startswith("intent 2 open"), needed.stderr

    matched = cli("resources", "matches", "2")
    assert matched.returncode == 0, matched.stderr
    [line] = matched.stdout.strip().splitlines()
    assert "\t1\topen\toffer\ttransfer\t3 one Bicycles\t" in line
    assert "same resource type (bicycle (Q11442))" in line
    listed = cli("resources", "list", "--state", "open", "--json")
    assert {i["id"] for i in json.loads(listed.stdout)} == {1, 2}

    answered = cli("resources", "answer", "workshop", "1", "--quantity", "2")
    assert answered.returncode == 0, answered.stderr
    assert "executed: agreement offered to local group garden" in answered.stdout
    offers = cli("resources", "agreements", "garden", "--state", "offered")
    agreement = offers.stdout.split("\t")[0]
    assert "\towner\t2 one\t" in offers.stdout
    assert cli("resources", "accept", "garden", agreement).returncode == 0
    done = cli("resources", "fulfil", "garden", agreement)
    assert done.returncode == 0 and done.stdout.strip().endswith("fulfilled"), done.stderr
    assert cli("resources", "stock", "garden").stdout.strip().endswith("bicycles\t3 one")
    assert cli("resources", "stock", "workshop").stdout.strip().endswith("\t2 one")

    bad = cli("resources", "offer", "garden", "Sand", "--quantity", "2 furlong")
    assert bad.returncode == 1 and "unknown unit 'furlong'" in bad.stderr
    again = cli("resources", "accept", "garden", agreement)
    assert again.returncode == 1 and "not offered" in again.stderr

    # The last bicycle is agreed, then called off: the offer is open again, all of it.
    assert cli("resources", "answer", "workshop", "1").returncode == 0
    last = cli("resources", "agreements", "garden", "--state", "offered").stdout.split("\t")[0]
    assert cli("resources", "accept", "garden", last).returncode == 0
    cancelled = cli("resources", "cancel", "garden", last)
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.strip() == f"agreement {last} cancelled"
    reopened = json.loads(cli("resources", "list", "--state", "open", "--json").stdout)
    assert [i["remaining"] for i in reopened if i["id"] == 1] == [{"value": 1, "unit": "one"}]
    refused = cli("resources", "cancel", "garden", agreement)
    assert refused.returncode == 1 and "fulfilled" in refused.stderr

    # The open offer is sent through the graph (a propagate decision, done at once).
    spread = cli("resources", "propagate", "garden", "1", "--hops", "2", "--k", "5")
    assert spread.returncode == 0, spread.stderr
    assert spread.stdout.startswith("propagate decision ") and "executed" in spread.stdout
    assert "propagated to 0 group(s)" in spread.stdout  # garden is related to no group
    theirs = cli("resources", "propagate", "workshop", "1")
    assert theirs.returncode == 1 and "no intent 1 in workshop" in theirs.stderr
    bad = cli("resources", "propagate", "garden", "1", "--hops", "99")
    assert bad.returncode == 1 and "hop_limit" in bad.stderr

"""The bot's resource commands over the real services (``build_runtime`` on
PostgreSQL): propagating an offer through the graph, cancelling an agreement,
and a usage line for what it cannot read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from imago_fed.app import build_runtime
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.protocols import Doocracy
from imago_fed.domain.governance.table import default_table
from imago_fed.matrix.resource_commands import resource_command
from imago_fed.web.runtime import Runtime

ANN = "@ann:hs.test"
BIKES = {"purpose": "offer", "action": "transfer", "name": "Bicycles",
         "resource_conforms_to": "Q11442", "quantity": {"value": 3, "unit": "one"}}  # fmt: skip


@pytest.fixture
async def rt(migrated_db: str, make_settings) -> AsyncIterator[Runtime]:
    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=4)
    try:
        runtime = build_runtime(make_settings(migrated_db), pool)
        table = default_table().amended(
            {ActionKind.PUBLISH_OFFER: Doocracy(), ActionKind.SPEND: Doocracy()}
        )
        for slug in ("garden", "workshop"):
            group = await runtime.groups.create(slug, slug.title())
            assert group.id is not None
            await runtime.governance_store.save_table(group.id, table, datetime.now(UTC))
        yield runtime
    finally:
        await pool.close()


async def say(rt: Runtime, slug: str, *words: str) -> str:
    group = await rt.groups.get(slug)
    assert group is not None
    return await resource_command(
        rt.resources, group, ANN, words[0], list(words[1:]), rt.propagation
    )


async def test_propagate_and_cancel_from_the_chat(rt: Runtime) -> None:
    assert rt.resources is not None and rt.propagation is not None
    assert rt.relations is not None
    await rt.relations.propose("garden", "@workshop@groups.test", "partner", author="admin")
    [incoming] = await rt.relations.list("workshop", frozenset({"proposed"}))
    await rt.relations.answer("workshop", incoming.id, accept=True, author="admin")
    offer, _ = await rt.resources.publish("garden", BIKES, author=ANN)

    said = await say(rt, "garden", "propagate", str(offer.id), "k=5", "hops=1")
    assert said.startswith(f"{ANN}: propagate decision ") and "executed" in said, said
    assert f"propagated to 1 group(s): {rt.ids.group('workshop')}" in said
    [held] = await rt.propagation.items("workshop")
    assert (held.item.object_id, held.item.kind, held.verdict) == (offer.ap_id, "intent", "hold")
    assert "usage: !imago propagate" in await say(rt, "garden", "propagate")
    assert "usage: !imago propagate" in await say(rt, "garden", "propagate", "1", "hops=x")
    refused = await say(rt, "workshop", "propagate", str(offer.id))
    assert refused == f"{ANN}: no intent {offer.id} in workshop"

    await rt.resources.propose_agreement("workshop", offer.id, None, author=ANN)
    [owner] = await rt.resources.agreements("garden", frozenset({"offered"}))
    await rt.resources.accept("garden", owner.id, author=ANN)
    said = await say(rt, "garden", "cancel", str(owner.id))
    assert said == f"{ANN}: agreement {owner.id} cancelled; its intent is open again."
    assert (await rt.resources.intent(offer.id)).intent.state == "open"
    again = await say(rt, "garden", "cancel", str(owner.id))
    assert again.startswith(f"{ANN}: the agreement is cancelled")

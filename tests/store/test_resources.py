"""Intents, agreements and stocks (store/resources.py) in PostgreSQL: every field kept,
moves along the lifecycles that only one concurrent answer wins, matching's reads."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest

from imago_fed.domain.errors import Conflict, NotFound
from imago_fed.domain.graph.places import Place, bounding_box
from imago_fed.domain.lifecycle import IllegalTransition
from imago_fed.domain.resources.agreements import InventoryItem, Terms
from imago_fed.domain.resources.intents import Intent, Quantity, Reciprocal, Window
from imago_fed.domain.resources.vocabulary import UNITS, ResourceType
from imago_fed.store.resources import PgResourceStore
from tests.store.helpers import AddGroup

NOW = datetime(2026, 5, 1, tzinfo=UTC)
GARDEN = "https://groups.test/groups/garden"
SEEDS = "https://seeds.example/groups/seeds"
POTATOES = ResourceType("wd:Q10998", "http://www.wikidata.org/entity/Q10998", "potato")
TOOLS = ResourceType("label:tools", None, "tools")


def _offer(n: int = 1, **fields: object) -> Intent:
    intent = Intent(
        purpose="offer", action="transfer", group=GARDEN, name="Potatoes", resource=POTATOES,
        quantity=Quantity(UNITS["kilogram"], Decimal("12.5")),
        window=Window(NOW, NOW + timedelta(days=30)), place=Place(48.85, 2.35, "Paris", "Q90"),
        range_km=40.0, note="From the allotment",
        reciprocal=Reciprocal("transfer", TOOLS, Quantity(UNITS["one"], Decimal(1))),
        ap_id=f"{GARDEN}/intents/{n}",
    )  # fmt: skip
    return replace(intent, **fields)


async def _add(store: PgResourceStore, intent: Intent, group_id: int | None) -> int:
    stored = await store.add_intent(intent, group_id=group_id,
                                    intent_iri=f"{intent.ap_id}#primary", now=NOW)  # fmt: skip
    return stored.id


async def test_an_intent_keeps_every_field(pool: asyncpg.Pool, add_group: AddGroup) -> None:
    garden, store = await add_group(), PgResourceStore(pool)
    offer = _offer()
    stored = await store.add_intent(offer, group_id=garden, intent_iri=f"{offer.ap_id}#primary",
                                    now=NOW, decision_id=None)  # fmt: skip
    assert stored.intent == replace(offer, id=stored.id)
    assert (stored.group_id, stored.intent_iri, stored.updated_at) == (
        garden, f"{offer.ap_id}#primary", NOW,
    )  # fmt: skip
    assert await store.get_intent(stored.id) == stored
    assert await store.intent_by_iri(offer.ap_id or "") == stored
    assert await store.intent_by_iri(f"{offer.ap_id}#primary") == stored
    assert await store.get_intent(stored.id + 1) is None
    bare = _offer(2, resource=None, quantity=None, place=None, reciprocal=None,
                  window=Window())  # fmt: skip
    plain = await store.get_intent(await _add(store, bare, garden))
    assert plain is not None and plain.intent == replace(bare, id=plain.id)
    with pytest.raises(Conflict):
        await _add(store, offer, garden)


async def test_an_id_can_be_taken_before_the_intent_is_stored(pool: asyncpg.Pool, add_group):
    garden, store = await add_group(), PgResourceStore(pool)
    reserved = await store.next_intent_id()
    stored = await _add(store, _offer(id=reserved), garden)
    assert stored == reserved
    assert await _add(store, _offer(2), garden) > reserved


async def test_a_remote_intent_is_replaced_a_local_one_never(pool: asyncpg.Pool, add_group):
    garden, store = await add_group(), PgResourceStore(pool)
    remote = await store.get_intent(await _add(store, _offer(1, group=SEEDS), None))
    local = await store.get_intent(await _add(store, _offer(2), garden))
    assert remote is not None and local is not None
    later = NOW + timedelta(hours=1)
    updated = await store.replace_remote(remote, _offer(1, group=SEEDS, name="New potatoes",
                                                        note=""), later)  # fmt: skip
    assert (updated.intent.name, updated.intent.note, updated.updated_at) == (
        "New potatoes", "", later,
    )  # fmt: skip
    assert updated.intent.place == Place(48.85, 2.35, "Paris", "Q90")
    guadeloupe = Place(16.0351, -61.5468, "Guadeloupe", "Q17012")
    moved = await store.replace_remote(remote, _offer(1, group=SEEDS, place=guadeloupe), later)
    assert moved.intent.place == guadeloupe and (await store.get_intent(remote.id)) == moved
    unnamed = await store.replace_remote(remote, _offer(1, group=SEEDS, place=Place(1, 2)), later)
    assert unnamed.intent.place == Place(1, 2)
    with pytest.raises(NotFound):
        await store.replace_remote(local, _offer(2, name="Hijacked"), later)


async def test_intents_move_along_their_lifecycle_and_one_answer_wins(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, store = await add_group(), PgResourceStore(pool)
    intent_id = await _add(store, _offer(state="pending"), garden)
    assert [i.id for i in await store.pending()] == [intent_id]
    await store.set_decision(intent_id, 7)
    opened = await store.move_intent(intent_id, "open", NOW)
    assert opened.decision_id == 7 and await store.pending() == []
    raced = await _add(store, _offer(2), garden)
    # An agreement and a withdrawal at once: one wins, the other is refused.
    answers = await asyncio.gather(
        store.move_intent(raced, "agreed", NOW),
        store.move_intent(raced, "withdrawn", NOW),
        return_exceptions=True,
    )
    assert sorted(isinstance(a, Conflict) for a in answers) == [False, True]

    await store.move_intent(intent_id, "agreed", NOW, remaining=Decimal(2), set_remaining=True)
    # The same state again updates what is left (a partial agreement).
    same = await store.move_intent(intent_id, "agreed", NOW, remaining=Decimal(1),
                                   set_remaining=True)  # fmt: skip
    assert same.intent.remaining == Decimal(1)
    with pytest.raises(IllegalTransition):
        await store.move_intent(intent_id, "pending", NOW)
    again = await store.move_intent(intent_id, "open", NOW)  # the agreement fell through
    assert again.intent.remaining == Decimal(1)  # kept unless set
    with pytest.raises(NotFound):
        await store.move_intent(intent_id + 100, "open", NOW)


async def test_matching_reads_open_unexpired_intents_by_purpose_and_type(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, store = await add_group(), PgResourceStore(pool)
    potatoes = await _add(store, _offer(1), garden)
    tools = await _add(store, _offer(2, resource=TOOLS, quantity=None), garden)
    await _add(store, _offer(3, purpose="request"), garden)
    await _add(store, _offer(4, state="pending"), garden)
    short = await _add(store, _offer(5, window=Window(NOW, NOW + timedelta(days=1))), garden)
    later = NOW + timedelta(days=2)
    assert [i.id for i in await store.candidates("offer", None, NOW)] == [potatoes, tools, short]
    assert [i.id for i in await store.candidates("offer", frozenset({"wd:Q10998"}), later)] == [
        potatoes
    ]
    assert [i.id for i in await store.due_to_expire(later)] == [short]
    # Actions and a box only narrow: here to the one "use" offer, and to the offers
    # without a place or placed in the box (Paris is; the Antipodes are not).
    lent = await _add(store, _offer(6, action="use", place=None), garden)
    use = frozenset({"use", "transfer-custody"})
    assert [i.id for i in await store.candidates("offer", None, NOW, actions=use)] == [lent]
    far = await _add(store, _offer(7, place=Place(-48.85, -177.65)), garden)
    paris = bounding_box(Place(48.8, 2.3), 50)
    near = await store.candidates("offer", None, NOW, box=paris)
    assert far not in [i.id for i in near] and [i.id for i in near] == [
        potatoes,
        tools,
        short,
        lent,
    ]
    wrapping = bounding_box(Place(-48.85, 179.9), 300)
    assert wrapping.crosses_antimeridian
    assert [i.id for i in await store.candidates("offer", None, NOW, box=wrapping)] == [lent, far]
    listed = await store.list_intents(garden, frozenset({"open"}))
    assert [i.id for i in listed] == [far, lent, short, 3, tools, potatoes]  # newest first
    assert len(await store.list_intents(garden)) == 7


async def test_a_pair_is_told_again_only_at_a_markedly_better_score(
    pool: asyncpg.Pool, add_group: AddGroup
) -> None:
    garden, store = await add_group(), PgResourceStore(pool)
    a, b, c = [await _add(store, _offer(n), garden) for n in (1, 2, 3)]
    margin = Decimal("0.05")
    claim = store.claim_match_notice
    assert await claim(a, b, Decimal("0.6"), margin, NOW) == (True, None)  # never told
    assert await claim(b, a, Decimal("0.6"), margin, NOW) == (False, Decimal("0.6"))  # same
    assert await claim(a, b, Decimal("0.64"), margin, NOW) == (False, Decimal("0.6"))  # not enough
    assert await claim(a, b, Decimal("0.5"), margin, NOW) == (False, Decimal("0.6"))  # lower
    assert await claim(b, a, Decimal("0.65"), margin, NOW) == (True, Decimal("0.6"))  # better
    assert await claim(a, b, Decimal("0.65"), margin, NOW) == (False, Decimal("0.65"))
    assert await claim(a, c, Decimal("0.65"), margin, NOW) == (True, None)  # another pair
    results = await asyncio.gather(
        *(claim(c, a, Decimal("0.9"), margin, NOW) for _ in range(4))
    )  # concurrent claims: one wins
    assert sorted(told for told, _ in results) == [False, False, False, True]


async def test_agreements_move_once_and_are_found_every_way(pool: asyncpg.Pool, add_group):
    garden, store = await add_group(), PgResourceStore(pool)
    intent_id = await _add(store, _offer(), garden)
    terms = Terms("transfer", POTATOES, Quantity(UNITS["kilogram"], Decimal(5)), GARDEN, SEEDS)
    offered = await store.add_agreement(group_id=garden, offer_id="offer-1", intent_id=intent_id,
                                        role="owner", peer=SEEDS, terms=terms, now=NOW)  # fmt: skip
    assert (offered.terms, offered.state, offered.role) == (terms, "offered", "owner")
    with pytest.raises(Conflict):
        await store.add_agreement(group_id=garden, offer_id="offer-1", intent_id=intent_id,
                                  role="owner", peer=SEEDS, terms=terms, now=NOW)  # fmt: skip
    accepted = await store.move_agreement(offered.id, "accepted", NOW, answer_id="answer-1",
                                          agreement_iri="agreement-1")  # fmt: skip
    assert (accepted.answer_id, accepted.agreement_iri) == ("answer-1", "agreement-1")
    with pytest.raises(IllegalTransition):
        await store.move_agreement(offered.id, "rejected", NOW)
    done = await store.move_agreement(offered.id, "fulfilled", NOW, confirmation_id="ok-1")
    assert (done.answer_id, done.confirmation_id) == ("answer-1", "ok-1")  # kept
    await store.set_agreement_decision(offered.id, 9)
    await store.set_answer_id(offered.id, "answer-2")
    final = await store.get_agreement(offered.id)
    assert final is not None and (final.decision_id, final.answer_id) == (9, "answer-2")
    for found in (await store.agreements_by_offer("offer-1"),
                  await store.agreements_by_iri("agreement-1"),
                  await store.agreements_of_intent(intent_id),
                  await store.list_agreements(garden, frozenset({"fulfilled"}))):  # fmt: skip
        assert found == [final]
    assert await store.list_agreements(garden, frozenset({"offered"})) == []
    assert await store.get_agreement(offered.id + 1) is None


async def test_stocks_are_set_and_replaced(pool: asyncpg.Pool, add_group: AddGroup) -> None:
    garden, store = await add_group(), PgResourceStore(pool)
    assert await store.inventory(garden) == [] and await store.stock(garden, POTATOES.key) is None
    sack = InventoryItem(POTATOES, "potato", Quantity(UNITS["kilogram"], Decimal("20")))
    await store.set_stock(garden, sack, NOW)
    await store.set_stock(garden, replace(sack, quantity=Quantity(UNITS["kilogram"], Decimal(15))),
                          NOW)  # fmt: skip
    hammer = InventoryItem(TOOLS, "tools", Quantity(UNITS["one"], Decimal(3)))
    await store.set_stock(garden, hammer, NOW)
    assert await store.stock(garden, POTATOES.key) == replace(
        sack, quantity=Quantity(UNITS["kilogram"], Decimal(15))
    )
    assert [i.name for i in await store.inventory(garden)] == ["potato", "tools"]

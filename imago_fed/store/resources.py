"""Intents, agreements and stocks (``resource_intents``, ``resource_agreements``,
``resource_inventory``), and the score each pair of intents was last suggested at
(``resource_match_notices``). Implements ``ports.resources.ResourceStore``.

Each change of ``state`` follows the domain's lifecycle (``INTENT``,
``AGREEMENT``): the UPDATE names the state it expects, so of two concurrent
answers only one wins and the other gets a Conflict.

    intents      pending ──> open ──> agreed ──> fulfilled      (+ withdrawn, expired)
    agreements   offered ──> accepted ──> fulfilled             (+ rejected, withdrawn, cancelled)

Matching reads open intents through the partial index on (purpose, type_key).
"""

from __future__ import annotations

import builtins
import json
from datetime import datetime
from decimal import Decimal

import asyncpg

from imago_fed.domain.errors import Conflict, NotFound
from imago_fed.domain.graph.places import BoundingBox, Place
from imago_fed.domain.ports.resources import StoredAgreement, StoredIntent
from imago_fed.domain.resources.agreements import AGREEMENT, InventoryItem, Terms
from imago_fed.domain.resources.intents import INTENT, Intent, Quantity, Reciprocal, Window
from imago_fed.domain.resources.vocabulary import UNITS, ResourceType, parse_action

__all__ = ["PgResourceStore"]

_INTENT_COLUMNS = (
    "id, group_id, actor, ap_id, intent_iri, purpose, action, type_key, conforms_to, type_label,"
    " name, note, unit, quantity, remaining, available_from, available_until, lat, lon,"
    " place_label, place_qid, range_km, reciprocal, state, decision_id, updated_at"
)
_AGREEMENT_COLUMNS = (
    "id, group_id, offer_id, agreement_iri, intent_id, role, peer, action, type_key,"
    " conforms_to, type_label, unit, quantity, provider, receiver, state, decision_id,"
    " answer_id, confirmation_id, updated_at"
)


def _resource(row: asyncpg.Record) -> ResourceType | None:
    if not row["type_key"]:
        return None
    return ResourceType(row["type_key"], row["conforms_to"], row["type_label"])


def _quantity(unit: str | None, value: Decimal | None) -> Quantity | None:
    return Quantity(UNITS[unit], value) if unit else None


def _reciprocal(raw: str | None) -> Reciprocal | None:
    if raw is None:
        return None
    data = json.loads(raw)
    resource = data.get("resource")
    quantity = data.get("quantity")
    return Reciprocal(
        data["action"],
        ResourceType(resource["key"], resource["iri"], resource["label"]) if resource else None,
        _quantity(quantity["unit"], _decimal(quantity["value"])) if quantity else None,
    )


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _reciprocal_json(reciprocal: Reciprocal | None) -> str | None:
    if reciprocal is None:
        return None
    resource, quantity = reciprocal.resource, reciprocal.quantity
    return json.dumps(
        {
            "action": reciprocal.action,
            "resource": {"key": resource.key, "iri": resource.iri, "label": resource.label}
            if resource
            else None,
            "quantity": {
                "unit": quantity.unit.name,
                "value": None if quantity.value is None else str(quantity.value),
            }
            if quantity
            else None,
        }
    )


def _intent(row: asyncpg.Record) -> StoredIntent:
    place = None
    if row["lat"] is not None:
        # Checked when written; matching reads thousands of rows a query.
        place = Place.stored(row["lat"], row["lon"], row["place_label"], row["place_qid"])
    intent = Intent(
        purpose=row["purpose"], action=row["action"], group=row["actor"], name=row["name"],
        resource=_resource(row), quantity=_quantity(row["unit"], row["quantity"]),
        window=Window(row["available_from"], row["available_until"]), place=place,
        range_km=row["range_km"], note=row["note"], reciprocal=_reciprocal(row["reciprocal"]),
        state=row["state"], remaining=row["remaining"], id=row["id"], ap_id=row["ap_id"],
    )  # fmt: skip
    return StoredIntent(
        intent, row["group_id"], row["intent_iri"], row["decision_id"], row["updated_at"]
    )


def _agreement(row: asyncpg.Record) -> StoredAgreement:
    terms = Terms(
        parse_action(row["action"]), _resource(row), _quantity(row["unit"], row["quantity"]),
        row["provider"], row["receiver"],
    )  # fmt: skip
    return StoredAgreement(
        id=row["id"], group_id=row["group_id"], offer_id=row["offer_id"],
        intent_id=row["intent_id"], role=row["role"], peer=row["peer"], terms=terms,
        state=row["state"], agreement_iri=row["agreement_iri"], decision_id=row["decision_id"],
        answer_id=row["answer_id"], confirmation_id=row["confirmation_id"],
        updated_at=row["updated_at"],
    )  # fmt: skip


def _intent_values(intent: Intent) -> tuple[object, ...]:
    resource, quantity, place = intent.resource, intent.quantity, intent.place
    return (
        intent.purpose, intent.action, intent.type_key,
        resource.iri if resource else None, resource.label if resource else "",
        intent.name, intent.note,
        quantity.unit.name if quantity else None, quantity.value if quantity else None,
        intent.remaining, intent.window.start, intent.window.end,
        place.lat if place else None, place.lon if place else None,
        place.label if place else "", intent.range_km, _reciprocal_json(intent.reciprocal),
        place.qid if place else None,
    )  # fmt: skip


class PgResourceStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    # ----------------------------------------------------------- intents
    async def next_intent_id(self) -> int:
        value = await self._pool.fetchval(
            "SELECT nextval(pg_get_serial_sequence('resource_intents', 'id'))"
        )
        return int(value)

    async def add_intent(
        self, intent: Intent, *, group_id: int | None, intent_iri: str, now: datetime,
        decision_id: int | None = None,
    ) -> StoredIntent:  # fmt: skip
        INTENT.check_entry(intent.state)
        try:
            row = await self._pool.fetchrow(
                f"""
                INSERT INTO resource_intents
                    (id, group_id, actor, ap_id, intent_iri, state, decision_id, created_at,
                     updated_at, purpose, action, type_key, conforms_to, type_label, name, note,
                     unit, quantity, remaining, available_from, available_until, lat, lon,
                     place_label, range_km, reciprocal, place_qid)
                VALUES (COALESCE($1, nextval(pg_get_serial_sequence('resource_intents', 'id'))),
                        $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, $13, $14, $15,
                        $16, $17, $18, $19, $20, $21, $22, $23, $24, $25::jsonb, $26)
                RETURNING {_INTENT_COLUMNS}
                """,
                intent.id, group_id, intent.group, intent.ap_id, intent_iri, intent.state,
                decision_id, now, *_intent_values(intent),
            )  # fmt: skip
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"the intent {intent.ap_id} is already known") from exc
        assert row is not None
        return _intent(row)

    async def replace_remote(
        self, stored: StoredIntent, intent: Intent, now: datetime
    ) -> StoredIntent:
        row = await self._pool.fetchrow(
            f"""
            UPDATE resource_intents
               SET purpose = $2, action = $3, type_key = $4, conforms_to = $5, type_label = $6,
                   name = $7, note = $8, unit = $9, quantity = $10, remaining = $11,
                   available_from = $12, available_until = $13, lat = $14, lon = $15,
                   place_label = $16, range_km = $17, reciprocal = $18::jsonb, place_qid = $19,
                   updated_at = $20
             WHERE id = $1 AND group_id IS NULL
            RETURNING {_INTENT_COLUMNS}
            """,
            stored.id, *_intent_values(intent), now,
        )  # fmt: skip
        if row is None:
            raise NotFound(f"no remote intent {stored.id}")
        return _intent(row)

    async def get_intent(self, intent_id: int) -> StoredIntent | None:
        row = await self._pool.fetchrow(
            f"SELECT {_INTENT_COLUMNS} FROM resource_intents WHERE id = $1", intent_id
        )
        return _intent(row) if row else None

    async def intent_by_iri(self, iri: str) -> StoredIntent | None:
        row = await self._pool.fetchrow(
            f"SELECT {_INTENT_COLUMNS} FROM resource_intents"
            " WHERE ap_id = $1 OR intent_iri = $1 LIMIT 1",
            iri,
        )
        return _intent(row) if row else None

    async def list_intents(
        self, group_id: int, states: frozenset[str] | None = None
    ) -> builtins.list[StoredIntent]:
        rows = await self._pool.fetch(
            f"""
            SELECT {_INTENT_COLUMNS} FROM resource_intents
             WHERE group_id = $1 AND ($2::text[] IS NULL OR state = ANY($2::text[]))
             ORDER BY id DESC LIMIT 1000
            """,
            group_id, sorted(states) if states is not None else None,
        )  # fmt: skip
        return [_intent(r) for r in rows]

    async def known(
        self, states: frozenset[str] | None, purpose: str | None, limit: int = 200
    ) -> builtins.list[StoredIntent]:
        rows = await self._pool.fetch(
            f"""
            SELECT {_INTENT_COLUMNS} FROM resource_intents
             WHERE ($1::text[] IS NULL OR state = ANY($1::text[]))
               AND ($2::text IS NULL OR purpose = $2) AND state <> 'pending'
             ORDER BY id DESC LIMIT $3
            """,
            sorted(states) if states is not None else None, purpose, limit,
        )  # fmt: skip
        return [_intent(r) for r in rows]

    async def candidates(
        self, purpose: str, type_keys: frozenset[str] | None, now: datetime, limit: int = 5000,
        *, actions: frozenset[str] | None = None, box: BoundingBox | None = None,
    ) -> builtins.list[StoredIntent]:  # fmt: skip
        # Built per call rather than one statement with "$n IS NULL OR ...": a prepared
        # statement's generic plan cannot use the partial index through such an OR, and
        # without the OFFSET 0 fence it may walk the primary key for ORDER BY id LIMIT
        # and filter every open intent (seen at 100 ms a query once PostgreSQL switched
        # to the generic plan). Actions and the box only narrow what the domain's hard
        # filters would refuse anyway (same action family, within the new intent's range).
        args: list[object] = [purpose, now, limit]
        where = ["state = 'open'", "purpose = $1",
                 "(available_until IS NULL OR available_until > $2)"]  # fmt: skip
        if type_keys is not None:
            args.append(sorted(type_keys))
            where.append(f"type_key = ANY(${len(args)}::text[])")
        if actions is not None:
            args.append(sorted(actions))
            where.append(f"action = ANY(${len(args)}::text[])")
        if box is not None:
            args.extend((box.south, box.north, box.west, box.east))
            s, n, w, e = (f"${i}" for i in range(len(args) - 3, len(args) + 1))
            lon = f"(lon >= {w} OR lon <= {e})" if box.crosses_antimeridian else (
                f"lon BETWEEN {w} AND {e}")  # fmt: skip
            where.append(f"(lat IS NULL OR (lat BETWEEN {s} AND {n} AND {lon}))")
        rows = await self._pool.fetch(
            f"""
            SELECT {_INTENT_COLUMNS} FROM (
                SELECT {_INTENT_COLUMNS} FROM resource_intents
                 WHERE {" AND ".join(where)}
                OFFSET 0
            ) AS open_intents
             ORDER BY id LIMIT $3
            """,
            *args,
        )
        return [_intent(r) for r in rows]

    async def claim_match_notice(
        self, a: int, b: int, score: Decimal, margin: Decimal, now: datetime
    ) -> tuple[bool, Decimal | None]:
        low, high = min(a, b), max(a, b)
        async with self._pool.acquire() as conn, conn.transaction():
            before = await conn.fetchval(
                "SELECT score FROM resource_match_notices"
                " WHERE low_id = $1 AND high_id = $2 FOR UPDATE",
                low, high,
            )  # fmt: skip
            claimed = await conn.fetchval(
                """
                INSERT INTO resource_match_notices (low_id, high_id, score, told_at)
                VALUES ($1, $2, $3, $5)
                ON CONFLICT (low_id, high_id) DO UPDATE
                   SET score = EXCLUDED.score, told_at = EXCLUDED.told_at
                 WHERE resource_match_notices.score + $4 <= EXCLUDED.score
                RETURNING true
                """,
                low, high, score, margin, now,
            )  # fmt: skip
        return bool(claimed), before

    async def move_intent(
        self, intent_id: int, state: str, now: datetime, *, remaining: Decimal | None = None,
        set_remaining: bool = False,
    ) -> StoredIntent:  # fmt: skip
        current = await self.get_intent(intent_id)
        if current is None:
            raise NotFound(f"no intent {intent_id}")
        before = current.intent.state
        if state != before:
            INTENT.check(before, state)
        row = await self._pool.fetchrow(
            f"""
            UPDATE resource_intents
               SET state = $2, updated_at = $3,
                   remaining = CASE WHEN $5 THEN $4 ELSE remaining END
             WHERE id = $1 AND state = $6
            RETURNING {_INTENT_COLUMNS}
            """,
            intent_id, state, now, remaining, set_remaining, before,
        )  # fmt: skip
        if row is None:
            raise Conflict(f"intent {intent_id} changed meanwhile; try again")
        return _intent(row)

    async def set_decision(self, intent_id: int, decision_id: int) -> None:
        await self._pool.execute(
            "UPDATE resource_intents SET decision_id = $2 WHERE id = $1", intent_id, decision_id
        )

    async def due_to_expire(self, now: datetime) -> builtins.list[StoredIntent]:
        rows = await self._pool.fetch(
            f"SELECT {_INTENT_COLUMNS} FROM resource_intents"
            " WHERE state = 'open' AND available_until <= $1 ORDER BY id LIMIT 500",
            now,
        )
        return [_intent(r) for r in rows]

    async def pending(self) -> builtins.list[StoredIntent]:
        rows = await self._pool.fetch(
            f"SELECT {_INTENT_COLUMNS} FROM resource_intents"
            " WHERE state = 'pending' ORDER BY id LIMIT 500"
        )
        return [_intent(r) for r in rows]

    # -------------------------------------------------------- agreements
    async def add_agreement(
        self, *, group_id: int, offer_id: str, intent_id: int, role: str, peer: str,
        terms: Terms, now: datetime, decision_id: int | None = None,
    ) -> StoredAgreement:  # fmt: skip
        resource, quantity = terms.resource, terms.quantity
        try:
            row = await self._pool.fetchrow(
                f"""
                INSERT INTO resource_agreements
                    (group_id, offer_id, intent_id, role, peer, action, type_key, conforms_to,
                     type_label, unit, quantity, provider, receiver, state, decision_id,
                     created_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'offered',
                        $14, $15, $15)
                RETURNING {_AGREEMENT_COLUMNS}
                """,
                group_id, offer_id, intent_id, role, peer, terms.action,
                resource.key if resource else "", resource.iri if resource else None,
                resource.label if resource else "",
                quantity.unit.name if quantity else None, quantity.value if quantity else None,
                terms.provider, terms.receiver, decision_id, now,
            )  # fmt: skip
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"the agreement offer {offer_id} is already recorded") from exc
        assert row is not None
        return _agreement(row)

    async def get_agreement(self, agreement_id: int) -> StoredAgreement | None:
        row = await self._pool.fetchrow(
            f"SELECT {_AGREEMENT_COLUMNS} FROM resource_agreements WHERE id = $1", agreement_id
        )
        return _agreement(row) if row else None

    async def _agreements(self, where: str, *args: object) -> builtins.list[StoredAgreement]:
        rows = await self._pool.fetch(
            f"SELECT {_AGREEMENT_COLUMNS} FROM resource_agreements WHERE {where}"
            " ORDER BY id DESC LIMIT 1000",
            *args,
        )
        return [_agreement(r) for r in rows]

    async def agreements_by_offer(self, offer_id: str) -> builtins.list[StoredAgreement]:
        return await self._agreements("offer_id = $1", offer_id)

    async def agreements_by_iri(self, iri: str) -> builtins.list[StoredAgreement]:
        return await self._agreements("agreement_iri = $1", iri)

    async def agreements_of_intent(self, intent_id: int) -> builtins.list[StoredAgreement]:
        return await self._agreements("intent_id = $1", intent_id)

    async def list_agreements(
        self, group_id: int, states: frozenset[str] | None = None
    ) -> builtins.list[StoredAgreement]:
        return await self._agreements(
            "group_id = $1 AND ($2::text[] IS NULL OR state = ANY($2::text[]))",
            group_id,
            sorted(states) if states is not None else None,
        )

    async def move_agreement(
        self, agreement_id: int, state: str, now: datetime, *, answer_id: str | None = None,
        agreement_iri: str | None = None, confirmation_id: str | None = None,
        decision_id: int | None = None,
    ) -> StoredAgreement:  # fmt: skip
        current = await self.get_agreement(agreement_id)
        if current is None:
            raise NotFound(f"no agreement {agreement_id}")
        AGREEMENT.check(current.state, state)
        row = await self._pool.fetchrow(
            f"""
            UPDATE resource_agreements
               SET state = $2, updated_at = $3, answer_id = COALESCE($4, answer_id),
                   agreement_iri = COALESCE($5, agreement_iri),
                   confirmation_id = COALESCE($6, confirmation_id),
                   decision_id = COALESCE($7, decision_id)
             WHERE id = $1 AND state = $8
            RETURNING {_AGREEMENT_COLUMNS}
            """,
            agreement_id, state, now, answer_id, agreement_iri, confirmation_id, decision_id,
            current.state,
        )  # fmt: skip
        if row is None:
            raise Conflict(f"agreement {agreement_id} changed meanwhile; try again")
        return _agreement(row)

    async def set_agreement_decision(self, agreement_id: int, decision_id: int) -> None:
        await self._pool.execute(
            "UPDATE resource_agreements SET decision_id = $2 WHERE id = $1",
            agreement_id, decision_id,
        )  # fmt: skip

    async def set_answer_id(self, agreement_id: int, answer_id: str) -> None:
        await self._pool.execute(
            "UPDATE resource_agreements SET answer_id = $2 WHERE id = $1", agreement_id, answer_id
        )

    # --------------------------------------------------------- inventory
    async def inventory(self, group_id: int) -> builtins.list[InventoryItem]:
        rows = await self._pool.fetch(
            "SELECT type_key, conforms_to, name, unit, quantity FROM resource_inventory"
            " WHERE group_id = $1 ORDER BY name, type_key",
            group_id,
        )
        return [_item(r) for r in rows]

    async def stock(self, group_id: int, type_key: str) -> InventoryItem | None:
        row = await self._pool.fetchrow(
            "SELECT type_key, conforms_to, name, unit, quantity FROM resource_inventory"
            " WHERE group_id = $1 AND type_key = $2",
            group_id, type_key,
        )  # fmt: skip
        return _item(row) if row else None

    async def set_stock(self, group_id: int, item: InventoryItem, now: datetime) -> None:
        await self._pool.execute(
            """
            INSERT INTO resource_inventory
                (group_id, type_key, conforms_to, name, unit, quantity, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (group_id, type_key) DO UPDATE
               SET conforms_to = EXCLUDED.conforms_to, name = EXCLUDED.name,
                   unit = EXCLUDED.unit, quantity = EXCLUDED.quantity,
                   updated_at = EXCLUDED.updated_at
            """,
            group_id, item.resource.key, item.resource.iri, item.name, item.quantity.unit.name,
            item.quantity.value or Decimal(0), now,
        )  # fmt: skip


def _item(row: asyncpg.Record) -> InventoryItem:
    resource = ResourceType(row["type_key"], row["conforms_to"], row["name"])
    return InventoryItem(resource, row["name"], Quantity(UNITS[row["unit"]], row["quantity"]))

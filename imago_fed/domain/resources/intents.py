"""Offers and needs: a group's published intents, and their lifecycle.

In ValueFlows words, an offer or a need is a ``Proposal`` whose *purpose* is
``offer`` or ``request`` and which publishes one primary ``Intent``: an action
on some kind of resource, a quantity in an OM2 unit, an availability window,
a place, and maybe a reciprocal intent (what is asked or given in return).
Here that whole is one :class:`Intent` (the primary intent with its proposal's
purpose), because the group publishes, matches and answers them as one thing.

    pending ──> open ──> agreed ──> fulfilled
       │          ├────> withdrawn
       │          └────> expired
       └──> withdrawn            (the publish_offer decision did not pass)

``pending`` waits for the group's ``publish_offer`` decision; intents learnt
from other servers start ``open``. An intent stays ``open`` while part of its
quantity is still uncommitted (partial agreements), and becomes ``agreed``
once agreements cover all of it; ``fulfilled`` once they are all carried out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.graph.places import Place, validate_radius
from imago_fed.domain.lifecycle import Lifecycle
from imago_fed.domain.resources.vocabulary import (
    ResourceType,
    Unit,
    parse_action,
    parse_resource_type,
    parse_unit,
)

__all__ = [
    "INTENT",
    "PURPOSES",
    "Intent",
    "Quantity",
    "Reciprocal",
    "Window",
    "describe",
    "intent_from_dict",
    "parse_quantity",
    "parse_time",
]

INTENT = Lifecycle(
    "resource intent",
    initial=("pending", "open"),
    transitions={
        "pending": ("open", "withdrawn"),
        "open": ("agreed", "withdrawn", "expired"),
        "agreed": ("fulfilled", "open"),  # open again if an agreement falls through
        "fulfilled": (),
        "withdrawn": (),
        "expired": (),
    },
    terminal=("fulfilled", "withdrawn", "expired"),
)
PURPOSES = frozenset({"offer", "request"})
MAX_NAME = 200
MAX_NOTE = 5000
MAX_QUANTITY = Decimal("1e12")
DEFAULT_RANGE_KM = 50.0


@dataclass(frozen=True)
class Quantity:
    """An amount in an OM2 unit; ``value`` None means "any amount" (FEP-0837 allows it)."""

    unit: Unit
    value: Decimal | None = None

    def in_base(self) -> Decimal | None:
        """The amount in its dimension's base unit (kilograms, litres, hours...)."""
        return None if self.value is None else self.value * self.unit.factor

    def to(self, unit: Unit) -> Quantity:
        """The same amount in another unit of the same dimension."""
        if unit.dimension != self.unit.dimension:
            raise InvalidInput(f"cannot express {self.unit.name} in {unit.name}", field="unit")
        if self.value is None or unit == self.unit:
            return replace(self, unit=unit)
        return Quantity(unit, (self.value * self.unit.factor / unit.factor).normalize())

    def to_dict(self) -> dict[str, Any]:
        value = None if self.value is None else _number(self.value)
        return {"value": value, "unit": self.unit.name}


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def parse_quantity(data: object, *, field: str = "quantity") -> Quantity:
    """``{"value": 2, "unit": "one"}``; the value may be a number or a numeric string."""
    if not isinstance(data, Mapping):
        raise InvalidInput(f"{field} must be an object with unit and value", field=field)
    unknown = set(data) - {"value", "unit"}
    if unknown:
        raise InvalidInput(f"{field} has unknown keys: {', '.join(sorted(unknown))}", field=field)
    unit = parse_unit(data.get("unit"), field=f"{field}.unit")
    raw = data.get("value")
    if raw is None:
        return Quantity(unit)
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise InvalidInput(f"{field}.value must be a number", field=f"{field}.value")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise InvalidInput(f"{field}.value must be a number", field=f"{field}.value") from None
    if not value.is_finite() or value <= 0 or value > MAX_QUANTITY:
        raise InvalidInput(
            f"{field}.value must be greater than 0 and at most {MAX_QUANTITY:.0e}",
            field=f"{field}.value",
        )
    return Quantity(unit, value)


def parse_time(value: object, *, field: str) -> datetime | None:
    """An ISO 8601 instant with its offset (a naive time is ambiguous across servers)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and len(value) <= 64:
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{field} must be an ISO 8601 time", field=field) from None
    else:
        raise InvalidInput(f"{field} must be an ISO 8601 time", field=field)
    if parsed.tzinfo is None:
        raise InvalidInput(f"{field} must give its UTC offset (e.g. Z)", field=field)
    return parsed


@dataclass(frozen=True)
class Window:
    """When the resource is available (offer) or wanted (request); open ends allowed."""

    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InvalidInput(
                "available_until must be after available_from", field="available_until"
            )

    def overlap_seconds(self, other: Window) -> float | None:
        """Seconds both windows share; None when unbounded; negative when disjoint."""
        starts = [t for t in (self.start, other.start) if t is not None]
        ends = [t for t in (self.end, other.end) if t is not None]
        if not starts or not ends:
            return None
        return (min(ends) - max(starts)).total_seconds()

    def length_seconds(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return (self.end - self.start).total_seconds()

    def ended_by(self, now: datetime) -> bool:
        return self.end is not None and self.end <= now


@dataclass(frozen=True)
class Reciprocal:
    """What is asked (offer) or given (request) in return: informative, never matched."""

    action: str
    resource: ResourceType | None
    quantity: Quantity | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "resource_conforms_to": _type_out(self.resource),
            "quantity": self.quantity.to_dict() if self.quantity else None,
        }


def _type_out(resource: ResourceType | None) -> str | None:
    if resource is None:
        return None
    return resource.iri or resource.label


@dataclass(frozen=True)
class Intent:
    """An offer or a need of a group (local or remote), as the matcher sees it.

    ``group`` is the group's actor IRI (remote groups are groups like ours);
    ``remaining`` is what no agreement has committed yet.
    """

    purpose: str
    action: str
    group: str
    name: str = ""
    resource: ResourceType | None = None
    quantity: Quantity | None = None
    window: Window = Window()
    place: Place | None = None
    range_km: float = DEFAULT_RANGE_KM
    note: str = ""
    reciprocal: Reciprocal | None = None
    state: str = "open"
    remaining: Decimal | None = None  # in quantity.unit; None = as much as asked
    id: int | None = None
    ap_id: str | None = None

    def __post_init__(self) -> None:
        if self.purpose not in PURPOSES:
            raise InvalidInput(
                f"purpose must be offer or request, not {self.purpose!r}", field="purpose"
            )
        parse_action(self.action)
        if self.state not in INTENT.states:
            raise InvalidInput(f"unknown intent state {self.state!r}", field="state")
        if self.remaining is None and self.quantity is not None:
            object.__setattr__(self, "remaining", self.quantity.value)

    @property
    def counter_purpose(self) -> str:
        return "request" if self.purpose == "offer" else "offer"

    @property
    def type_key(self) -> str:
        """The matching bucket: a resource type's key, or "" for "any resource"."""
        return self.resource.key if self.resource else ""

    @property
    def available(self) -> Quantity | None:
        """What is still uncommitted (the quantity itself when none is given)."""
        if self.quantity is None:
            return None
        return Quantity(self.quantity.unit, self.remaining)

    def provider_and_receiver(self, counterpart: str) -> tuple[str, str]:
        """Who gives and who receives when ``counterpart`` answers this intent."""
        if self.purpose == "offer":
            return self.group, counterpart
        return counterpart, self.group

    def to_dict(self) -> dict[str, Any]:
        """The admin API's shape (the same keys the POST takes, plus state and ids)."""
        return {
            "id": self.id,
            "ap_id": self.ap_id,
            "group": self.group,
            "purpose": self.purpose,
            "action": self.action,
            "resource_conforms_to": _type_out(self.resource),
            "name": self.name,
            "note": self.note,
            "quantity": self.quantity.to_dict() if self.quantity else None,
            "remaining": self.available.to_dict() if self.available else None,
            "available_from": self.window.start.isoformat() if self.window.start else None,
            "available_until": self.window.end.isoformat() if self.window.end else None,
            "place": self.place.to_dict() if self.place else None,
            "range_km": self.range_km,
            "reciprocal": self.reciprocal.to_dict() if self.reciprocal else None,
            "state": self.state,
        }


_KEYS = frozenset(
    {"purpose", "action", "resource_conforms_to", "name", "note", "quantity", "available_from",
     "available_until", "place", "range_km", "reciprocal"}
)  # fmt: skip


def _text(data: Mapping[str, Any], key: str, limit: int) -> str:
    value = data.get(key) or ""
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInput(f"{key} must be text of at most {limit} characters", field=key)
    return value.strip()


def intent_from_dict(data: object, *, group: str, place: Place | None = None) -> Intent:
    """Validate an intent as the admin API, the CLI or the Matrix bot give it.

    ``place`` is the group's own place, used when the intent names none.
    Every refusal names its field.
    """
    if not isinstance(data, Mapping):
        raise InvalidInput("an intent must be a JSON object")
    unknown = set(data) - _KEYS
    if unknown:
        names = sorted(unknown)
        raise InvalidInput(f"unknown field(s): {', '.join(names)}", field=names[0])
    if "purpose" not in data:
        raise InvalidInput("purpose is required (offer or request)", field="purpose")
    if "action" not in data:
        raise InvalidInput("action is required", field="action")
    resource = (
        parse_resource_type(data["resource_conforms_to"])
        if data.get("resource_conforms_to") is not None
        else None
    )
    name = _text(data, "name", MAX_NAME) or (resource.label if resource else "")
    if not name:
        raise InvalidInput("name is required (what the resource is, in words)", field="name")
    quantity = parse_quantity(data["quantity"]) if data.get("quantity") is not None else None
    window = Window(
        parse_time(data.get("available_from"), field="available_from"),
        parse_time(data.get("available_until"), field="available_until"),
    )
    if data.get("place") is not None:
        place = Place.from_dict(data["place"])
    range_km = DEFAULT_RANGE_KM
    if data.get("range_km") is not None:
        range_km = validate_radius(data["range_km"])
    reciprocal = _reciprocal(data.get("reciprocal"))
    return Intent(
        purpose=_purpose(data["purpose"]), action=parse_action(data["action"]), group=group,
        name=name, resource=resource, quantity=quantity, window=window, place=place,
        range_km=range_km, note=_text(data, "note", MAX_NOTE), reciprocal=reciprocal,
    )  # fmt: skip


def _purpose(value: object) -> str:
    if value not in PURPOSES:
        raise InvalidInput(f"purpose must be offer or request, not {value!r}", field="purpose")
    return str(value)


def _reciprocal(data: object) -> Reciprocal | None:
    if data is None:
        return None
    if not isinstance(data, Mapping) or "action" not in data:
        raise InvalidInput("reciprocal must be an object with an action", field="reciprocal")
    unknown = set(data) - {"action", "resource_conforms_to", "quantity"}
    if unknown:
        raise InvalidInput(
            f"reciprocal has unknown keys: {', '.join(sorted(unknown))}", field="reciprocal"
        )
    resource = data.get("resource_conforms_to")
    quantity = data.get("quantity")
    return Reciprocal(
        parse_action(data["action"], field="reciprocal.action"),
        parse_resource_type(resource, field="reciprocal.resource_conforms_to")
        if resource
        else None,
        parse_quantity(quantity, field="reciprocal.quantity") if quantity is not None else None,
    )


def _amount(quantity: Quantity | None) -> str:
    if quantity is None or quantity.value is None:
        return ""
    return f"{quantity.value.normalize():f} {quantity.unit.name}"


def describe(intent: Intent) -> str:
    """The intent in one line, for people: purpose, action, amount, name, what is
    left, window, state (what the chat room and notices say)."""
    label = "Offer" if intent.purpose == "offer" else "Need"
    parts = [f"{label} ({intent.action}): "
             + " ".join(p for p in (_amount(intent.quantity), intent.name) if p)]  # fmt: skip
    if intent.quantity is not None and intent.remaining not in (None, intent.quantity.value):
        parts.append(f"{_amount(intent.available)} left")
    if intent.window.end is not None:
        parts.append(f"until {intent.window.end.date().isoformat()}")
    if intent.place is not None and intent.place.label:
        parts.append(intent.place.label)
    parts.append(intent.state)
    return " · ".join(parts)

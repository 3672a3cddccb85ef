"""Agreements on an intent, their lifecycle, and what fulfilling one does to
the groups' inventories.

An agreement answers one intent (FEP-0837: ``Offer{Agreement{stipulates:
Commitment{satisfies: <intent>}}}``) for some quantity of it. The group that
answers commits its side when it offers the agreement; the intent's group
commits when it accepts. Each commitment is a ``spend`` decision of that group.

    offered ──> accepted ──> fulfilled
       ├──────> rejected                (the intent's group said no)
       └──────> withdrawn               (the answering group took it back)
    accepted ──> cancelled              (either side, before it is carried out)

Fulfilment moves the resource (for the actions that move one): the
provider's stock goes down, the receiver's goes up, in the stock's unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from imago_fed.domain.errors import Conflict, InvalidInput
from imago_fed.domain.lifecycle import Lifecycle
from imago_fed.domain.resources.intents import Intent, Quantity
from imago_fed.domain.resources.vocabulary import MOVES_RESOURCE, ResourceType

__all__ = [
    "AGREEMENT",
    "InventoryItem",
    "Terms",
    "commit",
    "release",
    "stock_after",
    "terms_for",
]

AGREEMENT = Lifecycle(
    "resource agreement",
    initial="offered",
    transitions={
        "offered": ("accepted", "rejected", "withdrawn"),
        "accepted": ("fulfilled", "cancelled"),
        "fulfilled": (),
        "rejected": (),
        "withdrawn": (),
        "cancelled": (),
    },
    terminal=("fulfilled", "rejected", "withdrawn", "cancelled"),
)


@dataclass(frozen=True)
class Terms:
    """What an agreement stipulates: who gives what to whom."""

    action: str
    resource: ResourceType | None
    quantity: Quantity | None
    provider: str
    receiver: str


def terms_for(intent: Intent, counterpart: str, quantity: Quantity | None) -> Terms:
    """The terms of answering ``intent`` for ``quantity`` (default: all that is left).

    Refused: answering one's own intent, an intent no longer open, a unit of
    another dimension, or more than is left.
    """
    if counterpart == intent.group:
        raise InvalidInput("a group cannot answer its own intent", field="group")
    if intent.state != "open":
        raise Conflict(f"the intent is {intent.state}, not open")
    available = intent.available
    if quantity is None:
        quantity = available
    elif available is not None:
        converted = quantity.to(available.unit)  # InvalidInput across dimensions
        if (
            converted.value is not None
            and available.value is not None
            and converted.value > available.value
        ):
            raise Conflict(
                f"only {available.value.normalize()} {available.unit.name} left; "
                f"asked {converted.value.normalize()}"
            )
        quantity = converted
    provider, receiver = intent.provider_and_receiver(counterpart)
    return Terms(intent.action, intent.resource, quantity, provider, receiver)


def commit(intent: Intent, quantity: Quantity | None) -> tuple[Decimal | None, str]:
    """The intent's remaining quantity and state once an agreement for ``quantity`` holds."""
    if intent.remaining is None or quantity is None or quantity.value is None:
        return intent.remaining, "agreed"
    assert intent.quantity is not None
    left = intent.remaining - quantity.to(intent.quantity.unit).value  # type: ignore[operator]
    if left < 0:
        raise Conflict("the agreement asks for more than the intent has left")
    return left, ("agreed" if left == 0 else "open")


def release(intent: Intent, quantity: Quantity | None) -> tuple[Decimal | None, str]:
    """Give back an agreement's quantity (it was cancelled): the intent opens again."""
    if intent.remaining is None or quantity is None or quantity.value is None:
        return intent.remaining, "open"
    assert intent.quantity is not None
    back = intent.remaining + quantity.to(intent.quantity.unit).value  # type: ignore[operator]
    return min(back, intent.quantity.value or back), "open"


@dataclass(frozen=True)
class InventoryItem:
    """How much of one kind of resource a group has on hand."""

    resource: ResourceType
    name: str
    quantity: Quantity


def stock_after(
    item: InventoryItem | None, terms: Terms, name: str, *, giving: bool
) -> InventoryItem | None:
    """The group's stock once an agreement is fulfilled (None: nothing to change).

    Only actions that move a resource change stocks; a provider without a
    recorded stock is not driven below zero, it simply had none recorded.
    """
    if terms.action not in MOVES_RESOURCE or terms.resource is None:
        return None
    if terms.quantity is None or terms.quantity.value is None:
        return None
    if item is None:
        if giving:
            return None
        return InventoryItem(terms.resource, name, terms.quantity)
    moved = terms.quantity.to(item.quantity.unit).value
    assert moved is not None and item.quantity.value is not None
    level = item.quantity.value - moved if giving else item.quantity.value + moved
    kept = Quantity(item.quantity.unit, max(level, Decimal(0)))
    return InventoryItem(item.resource, item.name, kept)

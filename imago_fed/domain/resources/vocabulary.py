"""The words of a resource intent: actions, units, resource types.

Servers spell the same ValueFlows term several ways. FEP-0837 writes actions
in camelCase (``deliverService``), ValueFlows 1.0 in kebab-case
(``deliver-service``), Bonfire as full IRIs under older namespaces; units come
as OM2 short names (``one``), ``om2:`` compact IRIs or full IRIs. Each is
parsed here to one canonical spelling, so matching compares like with like:

    deliverService ───────────────────────────────┐
    https://w3id.org/valueflows/ont/vf#deliverService ─┼─ parse_action ──> deliver-service
    http://w3id.org/valueflows#deliver-service  ──┘

    om2:kilogram / http://www.ontology-of-units-of-measure.org/resource/om-2/kilogram
                  / kilogram ── parse_unit ──> Unit("kilogram", mass, 1)

A resource type is a Wikidata entity (compared by QID, emitted in the
``/entity/`` form), any other IRI (compared as is), or a free classification
word (compared case-folded). Unknown actions and units are refused: an intent
nobody can compare would never match and nobody would know why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.graph.wikidata import ENTITY_PREFIX, parse_qid

__all__ = [
    "ACTIONS",
    "OM2",
    "UNITS",
    "VF_NAMESPACES",
    "ResourceType",
    "Unit",
    "action_family",
    "parse_action",
    "parse_resource_type",
    "parse_unit",
    "strip_vf",
]

#: ValueFlows namespaces seen in the wild; the first is the one we emit.
VF_NAMESPACES = (
    "https://w3id.org/valueflows/ont/vf#",  # VF 1.0, FEP-0837
    "http://w3id.org/valueflows/ont/vf#",  # VF examples
    "https://w3id.org/valueflows#",  # Bonfire
    "http://w3id.org/valueflows#",
    "vf:",
    "ValueFlows:",
)
OM2 = "http://www.ontology-of-units-of-measure.org/resource/om-2/"

#: The actions a group can offer or ask for, and their family: two intents
#: match only within one family (a loan is not a gift; work is a service).
_FAMILIES: dict[str, str] = {
    "transfer": "transfer",
    "transfer-all-rights": "transfer",
    "transfer-custody": "lend",
    "use": "lend",
    "consume": "consume",
    "work": "service",
    "deliver-service": "service",
    "cite": "cite",
}
ACTIONS = frozenset(_FAMILIES)
#: Actions that move a resource from one group's hands to the other's.
MOVES_RESOURCE = frozenset({"transfer", "transfer-all-rights", "transfer-custody"})
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def strip_vf(value: str) -> str:
    """The local name of a term under any ValueFlows namespace (else the value)."""
    for namespace in VF_NAMESPACES:
        if value.startswith(namespace):
            return value[len(namespace) :]
    return value


def parse_action(value: object, *, field: str = "action") -> str:
    """Any accepted spelling of an action to its ValueFlows 1.0 id (kebab-case)."""
    if isinstance(value, str) and len(value) <= 200:
        name = _CAMEL.sub("-", strip_vf(value.strip())).lower()
        if name in ACTIONS:
            return name
    raise InvalidInput(
        f"unknown action {value!r}; expected one of: {', '.join(sorted(ACTIONS))}", field=field
    )


def action_family(action: str) -> str:
    return _FAMILIES[action]


@dataclass(frozen=True)
class Unit:
    """An OM2 unit: its name, what it measures, and its size in that dimension's base."""

    name: str
    dimension: str
    factor: Decimal

    @property
    def iri(self) -> str:
        return OM2 + self.name


def _units(dimension: str, **factors: str) -> dict[str, Unit]:
    return {name: Unit(name, dimension, Decimal(f)) for name, f in factors.items()}


UNITS: dict[str, Unit] = {
    **_units("count", one="1"),
    **_units("mass", gram="0.001", kilogram="1", tonne="1000"),
    **_units("volume", millilitre="0.001", litre="1", cubicMetre="1000"),
    **_units("length", centimetre="0.01", metre="1", kilometre="1000"),
    **_units("area", squareMetre="1", hectare="10000"),
    **_units("time", minute="0.0166666666666666667", hour="1", day="24", week="168"),
    **_units("energy", kilowattHour="1"),
}


def parse_unit(value: object, *, field: str = "unit") -> Unit:
    """An OM2 unit from its name, ``om2:name`` or full IRI; InvalidInput otherwise."""
    if isinstance(value, str) and len(value) <= 200:
        name = value.strip()
        for prefix in (OM2, "https://www.ontology-of-units-of-measure.org/resource/om-2/", "om2:"):
            name = name.removeprefix(prefix)
        if name in UNITS:
            return UNITS[name]
    raise InvalidInput(
        f"unknown unit {value!r}; expected an OM2 unit: {', '.join(sorted(UNITS))}", field=field
    )


@dataclass(frozen=True)
class ResourceType:
    """What a resource is. ``key`` is what matching compares: ``wd:Q11442`` for a
    Wikidata entity, the IRI for any other IRI, ``label:<folded>`` for a word."""

    key: str
    iri: str | None  # what we emit as resourceConformsTo (None for a free word)
    label: str = ""

    @property
    def qid(self) -> str | None:
        return self.key[3:] if self.key.startswith("wd:") else None


_IRI = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
_MAX_TYPE = 500


def parse_resource_type(value: object, *, field: str = "resource_conforms_to") -> ResourceType:
    """A Wikidata entity (any spelling), another IRI, or a free classification word."""
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TYPE:
        raise InvalidInput(
            f"{field} must be a Wikidata entity, an IRI or a word (1 to {_MAX_TYPE} characters)",
            field=field,
        )
    text = value.strip()
    if any(ord(c) < 32 for c in text):
        raise InvalidInput(f"{field} must not contain control characters", field=field)
    try:
        qid = parse_qid(text, field=field)
    except InvalidInput:
        qid = None
    if qid is not None:
        return ResourceType("wd:" + qid, ENTITY_PREFIX + qid)
    if "wikidata.org" in text.lower():
        raise InvalidInput(f"{field}: {text!r} is not a Wikidata item IRI", field=field)
    if _IRI.fullmatch(text):
        return ResourceType(text, text)
    return ResourceType("label:" + " ".join(text.casefold().split()), None, text)

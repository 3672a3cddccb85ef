"""Offers and needs on the wire: FEP-0837 Proposals and Agreements (pure).

    group ── Create{Proposal{purpose, publishes: Intent#primary, reciprocal?}} ──> followers
    group ── Update{Proposal}  what is left (availableQuantity), status       ──> followers
    group ── Delete{Proposal}  withdrawn or expired                           ──> followers
    B ── Offer{Agreement{stipulates: Commitment{satisfies: <intent>#primary}}} ──> A
    A ── Accept{object: <offer id>, result: Agreement{id, stipulates…}} | Reject ──> B
    A ── Undo{Accept{object: <offer id>}}  or  B ── Undo{Offer{id: <offer id>}}
                                 (an accepted agreement called off) ──> the other
    either ── Create{Document "Receipt", context: <agreement id>}  (fulfilled) ──> other

Reading is tolerant of the vocabularies in use: the document is expanded
with JSON-LD over our default terms (the FEP-0837 ones) *before* its own
context, so its own definitions win and a bare ``purpose`` still means
``vf:purpose``; every ValueFlows namespace (``https://w3id.org/valueflows/ont/vf#``,
``http://…``, Bonfire's ``https://w3id.org/valueflows#``), OM2 units as names
or IRIs, and Wikidata ``/wiki/`` or ``/entity/`` IRIs land on one form.
A malformed Proposal raises :class:`InvalidInput` naming what is wrong;
nothing is stored from it. docs/RESOURCES.md shows every document.

Types: a Proposal is typed ``["Proposal", "Note"]`` with its text in
``content`` (FEP-0837 allows a Note type "if interoperability is desirable"):
Mastodon drops an object of a type it does not know and shows a Note, and
Fedify refuses a whole activity whose object has only an unknown type
("Invalid type", checked against Fedify 1.5.9). For the same reason an
Agreement is typed ``["Agreement", "Object"]``. Our reader looks for the
ValueFlows type among the types.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from pyld import jsonld

from imago_fed.activitypub.documents import CONTEXT
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.jsonld import JsonLdError, bundled_loader
from imago_fed.activitypub.outbound import derived_id
from imago_fed.activitypub.vocab import AS2_CONTEXT, AS_PUBLIC, as_list, id_of
from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.graph.places import Place
from imago_fed.domain.ports.resources import StoredAgreement, StoredIntent
from imago_fed.domain.resources.agreements import Terms
from imago_fed.domain.resources.intents import (
    INTENT,
    PURPOSES,
    Intent,
    Quantity,
    Reciprocal,
    Window,
    parse_quantity,
    parse_time,
)
from imago_fed.domain.resources.vocabulary import (
    OM2,
    VF_NAMESPACES,
    parse_action,
    parse_resource_type,
    strip_vf,
)

__all__ = [
    "PROPOSAL_TYPES",
    "RESOURCE_CONTEXT",
    "accept_agreement",
    "cancel_agreement",
    "confirmation",
    "create",
    "delete_proposal",
    "looks_like_proposal",
    "offer_agreement",
    "parse_commitment",
    "parse_proposal",
    "proposal",
    "reject_agreement",
]

VF = VF_NAMESPACES[0]
PROPOSAL_TYPES = ("Proposal", "Note")  # why both: the module docstring
_AS = AS2_CONTEXT + "#"
#: FEP-0837's terms (and ValueFlows' for time and classification), inline.
FEP_TERMS: dict[str, Any] = {
    "om2": OM2,
    "vf": VF,
    "Proposal": "vf:Proposal",
    "Intent": "vf:Intent",
    "Agreement": "vf:Agreement",
    "Commitment": "vf:Commitment",
    "purpose": "vf:purpose",
    "publishes": "vf:publishes",
    "reciprocal": "vf:reciprocal",
    "unitBased": "vf:unitBased",
    "action": "vf:action",
    "resourceConformsTo": {"@id": "vf:resourceConformsTo", "@type": "@id"},
    "resourceClassifiedAs": "vf:resourceClassifiedAs",
    "resourceQuantity": "vf:resourceQuantity",
    "availableQuantity": "vf:availableQuantity",
    "minimumQuantity": "vf:minimumQuantity",
    "hasUnit": "om2:hasUnit",
    "hasNumericalValue": "om2:hasNumericalValue",
    "hasBeginning": "vf:hasBeginning",
    "hasEnd": "vf:hasEnd",
    "provider": {"@id": "vf:provider", "@type": "@id"},
    "receiver": {"@id": "vf:receiver", "@type": "@id"},
    "stipulates": "vf:stipulates",
    "stipulatesReciprocal": "vf:stipulatesReciprocal",
    "satisfies": {"@id": "vf:satisfies", "@type": "@id"},
    "note": "vf:note",
}
RESOURCE_CONTEXT: list[Any] = [
    *CONTEXT[:-1],
    {**CONTEXT[-1], **FEP_TERMS, "status": "imago:status"},
]
_NAMESPACES = (*VF_NAMESPACES[:4], OM2, "https://www.ontology-of-units-of-measure.org/resource/om-2/",
               _AS, "https://w3id.org/imago-fed/ns#")  # fmt: skip
MAX_DOCUMENT_NODES = 200


# ------------------------------------------------------------------ writing
def _quantity(quantity: Quantity | None, value: Decimal | None = None) -> dict[str, Any] | None:
    if quantity is None:
        return None
    out: dict[str, Any] = {"hasUnit": quantity.unit.name}
    amount = quantity.value if value is None else value
    if amount is not None:
        out["hasNumericalValue"] = format(amount.normalize(), "f")
    return out


def _resource_terms(node: dict[str, Any], resource: Any) -> None:
    if resource is None:
        return
    if resource.iri:
        node["resourceConformsTo"] = resource.iri
    else:
        node["resourceClassifiedAs"] = resource.label


def _intent_node(node_id: str, intent: Intent) -> dict[str, Any]:
    node: dict[str, Any] = {"id": node_id, "type": "Intent", "action": intent.action}
    _resource_terms(node, intent.resource)
    if intent.quantity is not None:
        node["resourceQuantity"] = _quantity(intent.quantity)
        if intent.quantity.value is not None:
            node["availableQuantity"] = _quantity(intent.quantity, intent.remaining)
    node["provider" if intent.purpose == "offer" else "receiver"] = intent.group
    if intent.window.start:
        node["hasBeginning"] = intent.window.start.isoformat()
    if intent.window.end:
        node["hasEnd"] = intent.window.end.isoformat()
    return node


def _reciprocal_node(node_id: str, reciprocal: Reciprocal) -> dict[str, Any]:
    node: dict[str, Any] = {"id": node_id, "type": "Intent", "action": reciprocal.action}
    _resource_terms(node, reciprocal.resource)
    if reciprocal.quantity is not None:
        node["resourceQuantity"] = _quantity(reciprocal.quantity)
    return node


def proposal(ids: Ids, slug: str, stored: StoredIntent) -> dict[str, Any]:
    """Our intent as a FEP-0837 Proposal (its primary Intent at ``#primary``)."""
    intent = stored.intent
    group = ids.group(slug)
    document: dict[str, Any] = {
        "@context": RESOURCE_CONTEXT,
        "id": stored.ap_id,
        "type": list(PROPOSAL_TYPES),
        "purpose": intent.purpose,
        "attributedTo": group,
        "name": intent.name,
        "content": _text(stored),
        "publishes": _intent_node(stored.intent_iri, intent),
        "unitBased": False,
        "status": intent.state,
        "to": [AS_PUBLIC],
        "cc": [ids.group_collection(slug, "followers")],
        "audience": group,
    }
    if intent.note:
        document["note"] = intent.note
    resource = intent.resource
    if resource is not None and resource.qid:
        document["tag"] = [{"type": "Hashtag", "name": "#" + resource.qid, "href": resource.iri}]
    if intent.reciprocal is not None:
        document["reciprocal"] = _reciprocal_node(stored.ap_id + "#reciprocal", intent.reciprocal)
    if intent.place is not None:
        document["location"] = _place(intent.place)
    if stored.updated_at is not None:
        document["updated"] = stored.updated_at.isoformat()
    return document


def _place(place: Place) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "Place", "latitude": place.lat, "longitude": place.lon}
    if place.label:
        out["name"] = place.label
    if place.qid:
        out["id"] = place.entity
    return out


def _amount(quantity: Quantity | None) -> str:
    if quantity is None or quantity.value is None:
        return ""
    unit = "" if quantity.unit.name == "one" else f" {quantity.unit.name}"
    return f"{quantity.value.normalize():f}{unit} x "


def _text(stored: StoredIntent) -> str:
    """The intent in words (what Mastodon shows): purpose, amount, window, status."""
    intent = stored.intent
    label = "Offer" if intent.purpose == "offer" else "Need"
    lines = [f"<p><strong>{label}</strong> ({html.escape(intent.action)}): "
             f"{html.escape(_amount(intent.available))}{html.escape(intent.name)}</p>"]  # fmt: skip
    if intent.note:
        lines.append(f"<p>{html.escape(intent.note)}</p>")
    if intent.window.start or intent.window.end:
        start = intent.window.start.date().isoformat() if intent.window.start else "now"
        end = intent.window.end.date().isoformat() if intent.window.end else "open-ended"
        lines.append(f"<p>Available {start} to {end}</p>")
    if intent.place is not None and intent.place.label:
        lines.append(f"<p>Place: {html.escape(intent.place.label)}</p>")
    lines.append(f"<p>Status: {intent.state}</p>")
    return "".join(lines)


def create(ids: Ids, slug: str, document: dict[str, Any], verb: str = "Create") -> dict[str, Any]:
    """Create or Update of a document by the group, addressed as the document is."""
    group = ids.group(slug)
    stamp = document.get("updated", "")
    return {
        "@context": document["@context"],
        "id": derived_id(ids, slug, verb, document["id"], stamp if verb == "Update" else ""),
        "type": verb,
        "actor": group,
        "audience": group,
        "to": document["to"],
        "cc": document["cc"],
        "object": document,
    }


def delete_proposal(ids: Ids, slug: str, stored: StoredIntent) -> dict[str, Any]:
    group = ids.group(slug)
    return {
        "@context": RESOURCE_CONTEXT,
        "id": derived_id(ids, slug, "Delete", stored.ap_id),
        "type": "Delete",
        "actor": group,
        "audience": group,
        "to": [AS_PUBLIC],
        "cc": [ids.group_collection(slug, "followers")],
        "object": {
            "id": stored.ap_id,
            "type": "Tombstone",
            "formerType": "Proposal",
            "status": stored.intent.state,
        },
    }


def _commitment(node_id: str | None, satisfies: str, terms: Terms) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "Commitment", "satisfies": satisfies, "action": terms.action}
    if node_id:
        node["id"] = node_id
    _resource_terms(node, terms.resource)
    if terms.quantity is not None:
        node["resourceQuantity"] = _quantity(terms.quantity)
    node["provider"], node["receiver"] = terms.provider, terms.receiver
    return node


def _agreement(iri: str | None, row: StoredAgreement, intent: StoredIntent) -> dict[str, Any]:
    body: dict[str, Any] = {"type": ["Agreement", "Object"]}
    if iri:
        body["id"] = iri
    body["stipulates"] = _commitment(iri and iri + "#primary", intent.intent_iri, row.terms)
    reciprocal = intent.intent.reciprocal
    if reciprocal is not None:
        terms = Terms(reciprocal.action, reciprocal.resource, reciprocal.quantity,
                      row.terms.receiver, row.terms.provider)  # fmt: skip
        body["stipulatesReciprocal"] = _commitment(
            iri and iri + "#reciprocal", intent.ap_id + "#reciprocal", terms
        )
    return body


def offer_agreement(
    ids: Ids, slug: str, row: StoredAgreement, intent: StoredIntent
) -> dict[str, Any]:
    """Our group's answer to another group's intent (FEP-0837 ``Offer(Agreement)``)."""
    group = ids.group(slug)
    return {
        "@context": RESOURCE_CONTEXT, "id": row.offer_id, "type": "Offer", "actor": group,
        "to": [row.peer], "object": _agreement(None, row, intent),
    }  # fmt: skip


def accept_agreement(
    ids: Ids, slug: str, row: StoredAgreement, intent: StoredIntent
) -> dict[str, Any]:
    group = ids.group(slug)
    return {
        "@context": RESOURCE_CONTEXT, "id": derived_id(ids, slug, "Accept", row.offer_id),
        "type": "Accept", "actor": group, "to": [row.peer], "object": row.offer_id,
        "result": _agreement(row.agreement_iri, row, intent),
    }  # fmt: skip


def reject_agreement(ids: Ids, slug: str, row: StoredAgreement, reason: str) -> dict[str, Any]:
    group = ids.group(slug)
    return {
        "@context": RESOURCE_CONTEXT, "id": derived_id(ids, slug, "Reject", row.offer_id),
        "type": "Reject", "actor": group, "to": [row.peer], "object": row.offer_id,
        "content": html.escape(reason),
    }  # fmt: skip


def cancel_agreement(ids: Ids, slug: str, row: StoredAgreement) -> dict[str, Any]:
    """Call off an accepted agreement: each party undoes what it said. The intent's
    group undoes its ``Accept`` (so the Agreement it finalised no longer holds); the
    answering group undoes its ``Offer``. Either way the inner activity names the
    Offer, which is how both sides know the agreement.
    """
    group = ids.group(slug)
    inner: dict[str, Any]
    if row.role == "owner":
        inner = {"id": row.answer_id or derived_id(ids, slug, "Accept", row.offer_id),
                 "type": "Accept", "actor": group, "object": row.offer_id}  # fmt: skip
    else:
        inner = {"id": row.offer_id, "type": "Offer", "actor": group}
    if row.agreement_iri:
        inner["result"] = row.agreement_iri
    return {
        "@context": RESOURCE_CONTEXT, "id": derived_id(ids, slug, "undo", row.offer_id),
        "type": "Undo", "actor": group, "to": [row.peer], "object": inner,
        "content": "cancelled by the group",
    }  # fmt: skip


def confirmation(ids: Ids, slug: str, row: StoredAgreement, now: datetime) -> dict[str, Any]:
    """The FEP-0837 confirmation: a receipt whose ``context`` is the agreement."""
    group = ids.group(slug)
    reference = row.agreement_iri or row.offer_id
    receipt = derived_id(ids, slug, "receipt", reference)
    return {
        "@context": RESOURCE_CONTEXT, "id": receipt + "/create", "type": "Create",
        "actor": group, "to": [row.peer],
        "object": {"id": receipt, "type": "Document", "name": "Receipt", "context": reference,
                   "attributedTo": group, "published": now.isoformat(), "to": [row.peer]},
    }  # fmt: skip


# ------------------------------------------------------------------ reading
def looks_like_proposal(document: Any) -> bool:
    """Cheap pre-check before a JSON-LD expansion: a Proposal type or a publishes term."""
    if not isinstance(document, dict):
        return False
    if any(str(t).endswith("Proposal") for t in as_list(document.get("type"))):
        return True
    return any(isinstance(k, str) and k.endswith("publishes") for k in document)


def _local(iri: str) -> str:
    for namespace in _NAMESPACES:
        if iri.startswith(namespace):
            return iri[len(namespace) :]
    return strip_vf(iri)


class _Node:
    """An expanded JSON-LD node read by local names (every namespace folded)."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.id: str | None = raw.get("@id")
        self.types = {_local(t) for t in raw.get("@type", [])}
        self.props: dict[str, list[Any]] = {}
        for key, values in raw.items():
            if not key.startswith("@"):
                self.props.setdefault(_local(key), []).extend(values)

    def first(self, name: str) -> Any:
        values = self.props.get(name) or []
        if not values:
            return None
        value = values[0]
        if isinstance(value, dict) and "@value" in value:
            return value["@value"]
        if isinstance(value, dict) and set(value) == {"@id"}:
            return value["@id"]
        return value

    def node(self, name: str) -> _Node | None:
        value = self.first(name)
        return _Node(value) if isinstance(value, dict) else None

    def ref(self, name: str) -> str | None:
        value = self.first(name)
        if isinstance(value, dict):
            return value.get("@id")
        return value if isinstance(value, str) else None


def _expand(document: dict[str, Any]) -> _Node:
    own = document.get("@context")
    framed = {**document, "@context": [AS2_CONTEXT, FEP_TERMS, *as_list(own)]}
    try:
        # base None: a relative IRI stays as written (pyld would resolve it on example.org)
        expanded = jsonld.expand(framed, {"documentLoader": bundled_loader, "base": None})
    except (jsonld.JsonLdError, JsonLdError) as exc:
        raise InvalidInput(f"cannot read its JSON-LD: {str(exc)[:200]}") from exc
    if len(expanded) != 1 or not isinstance(expanded[0], dict):
        raise InvalidInput("not a single JSON-LD object")
    return _Node(expanded[0])


def _read_quantity(node: _Node | None, field: str) -> Quantity | None:
    if node is None:
        return None
    unit, value = node.first("hasUnit"), node.first("hasNumericalValue")
    return parse_quantity({"unit": unit, "value": value}, field=field)


def _read_resource(node: _Node, field: str) -> Any:
    conforms = node.ref("resourceConformsTo")
    if conforms:
        return parse_resource_type(conforms, field=field)
    classified = node.first("resourceClassifiedAs")
    if isinstance(classified, str) and classified.strip():
        return parse_resource_type(classified, field=field)
    return None


def _read_place(node: _Node | None) -> Place | None:
    if node is None:
        return None
    lat, lon = node.first("latitude"), node.first("longitude")
    if lat is None or lon is None:
        return None
    label = node.first("name")
    qid = node.id if node.id and "wikidata.org" in node.id else None
    return Place(float(lat), float(lon), label if isinstance(label, str) else "", qid)


def parse_proposal(document: dict[str, Any], actor: str) -> tuple[Intent, str]:
    """A remote Proposal as an intent of ``actor``'s group, and its primary Intent's id.

    InvalidInput names what is missing or wrong (no intent, an unknown action
    or unit, a negative quantity, a window that ends before it starts...).
    """
    root = _expand(document)
    if not root.id:
        raise InvalidInput("the Proposal has no id")
    attributed = root.ref("attributedTo")
    if attributed != actor:
        raise InvalidInput("the Proposal is attributed to another actor than its sender")
    purpose = root.first("purpose")
    if isinstance(purpose, str):
        purpose = _local(purpose)
    if purpose not in PURPOSES:
        raise InvalidInput(f"purpose must be offer or request, not {purpose!r}", field="purpose")
    primary = root.node("publishes")
    if primary is None or (primary.types and "Intent" not in primary.types):
        raise InvalidInput("the Proposal publishes no Intent", field="publishes")
    action = parse_action(primary.first("action"))
    quantity = _read_quantity(primary.node("resourceQuantity"), "resourceQuantity")
    available = _read_quantity(primary.node("availableQuantity"), "availableQuantity")
    remaining = None
    if quantity is not None and available is not None and available.value is not None:
        remaining = available.to(quantity.unit).value
    start = parse_time(
        primary.first("hasBeginning") or root.first("startTime"), field="hasBeginning"
    )
    end = parse_time(primary.first("hasEnd") or root.first("endTime"), field="hasEnd")
    reciprocal = None
    back = root.node("reciprocal")
    if back is not None:
        reciprocal = Reciprocal(
            parse_action(back.first("action"), field="reciprocal.action"),
            _read_resource(back, "reciprocal.resourceConformsTo"),
            _read_quantity(back.node("resourceQuantity"), "reciprocal.resourceQuantity"),
        )
    status = root.first("status")
    state = status if isinstance(status, str) and status in INTENT.states else "open"
    if state == "pending":
        state = "open"
    resource = _read_resource(primary, "resourceConformsTo")
    name = str(root.first("name") or root.first("summary") or "")[:200]
    if not name:
        name = (resource.label or resource.qid or resource.key) if resource else action
    note = root.first("note") or _strip_tags(str(root.first("content") or ""))
    return Intent(
        purpose=purpose, action=action, group=actor, name=name,
        resource=resource, quantity=quantity,
        window=Window(start, end), place=_read_place(root.node("location")),
        note=str(note)[:5000], reciprocal=reciprocal, state=state,
        remaining=remaining, ap_id=root.id,
    ), primary.id or root.id + "#primary"  # fmt: skip


def _strip_tags(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", text)).strip()


def parse_commitment(agreement: dict[str, Any]) -> tuple[str, Quantity | None]:
    """What an offered Agreement's primary Commitment satisfies, and for how much."""
    root = _expand(agreement)
    if "Agreement" not in root.types:
        raise InvalidInput("not an Agreement")
    stipulates = root.node("stipulates")
    if stipulates is None:
        raise InvalidInput("the Agreement stipulates no Commitment", field="stipulates")
    satisfies = stipulates.ref("satisfies")
    if not satisfies:
        raise InvalidInput("the Commitment satisfies no Intent", field="satisfies")
    return satisfies, _read_quantity(stipulates.node("resourceQuantity"), "resourceQuantity")


def agreement_id(result: Any) -> str | None:
    """The finalised Agreement's id in an Accept's ``result`` (compacted or not)."""
    return id_of(result)

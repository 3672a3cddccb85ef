"""The graph of groups on the wire: relations as ``Offer(Relationship)``, and
propagated items as an ``Announce`` carrying their origin and path.

    A ── Offer{object: Relationship{subject A, relationship imago:<kind>, object B}} ──> B
    B ── Accept{object: <the Offer>} | Reject{object: <the Offer>} ──> A
    A ── Undo{object: <the Offer>} ──> B         A withdraws, or removes the edge
    B ── Undo{object: Accept{object: <offer id>}} ──> A     B removes the edge

    B ── Announce{object: <object id>, propagation: {origin, path, hops, hopLimit}} ──> C
    C (accepted) ── Announce{object: <object id>} ──> C's followers (a boost on Mastodon)

The extension terms live under ``https://w3id.org/imago-fed/ns#`` and are
declared inline in every document (``GRAPH_CONTEXT``), so nobody fetches a
context. docs/FEDERATION-GRAPH.md shows every form.

Three parts: pure builders and parsers (``offer``..., ``parse_item``), the
outbound adapter :class:`ApGraph` (the relation and propagation ports), and
the inbound :class:`GraphIntake`, which the inbox processor asks first about
each activity (None: not ours, the usual handlers take it).

Trust: an activity is signed by its ``actor`` (the inbox checked it). We take
from it only what that actor may say: an Offer only with ``subject`` = actor,
an answer only from the Offer's target, an Undo only of the actor's own
activity, and a propagated item only when its path ends with the actor.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol
from urllib.parse import urlsplit

from imago_fed.activitypub.actors import ActorError, ActorResolver
from imago_fed.activitypub.documents import CONTEXT
from imago_fed.activitypub.following import Following, parse_handle
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.outbound import announce_object, derived_id
from imago_fed.activitypub.places import parse_place, place_object
from imago_fed.activitypub.resources import PROPOSAL_TYPES
from imago_fed.activitypub.vocab import as_list, id_of
from imago_fed.domain.errors import InvalidInput, NotFound
from imago_fed.domain.graph.propagation import Item
from imago_fed.domain.ports import GroupRepository
from imago_fed.domain.ports.federation import RemoteActor
from imago_fed.domain.ports.relations import StoredRelation
from imago_fed.services.propagation import Propagation
from imago_fed.services.relations import Relations

__all__ = [
    "GRAPH_CONTEXT",
    "NS",
    "ApGraph",
    "GraphIntake",
    "Publish",
    "announce_item",
    "answer",
    "kind_iri",
    "offer",
    "parse_item",
    "parse_kind",
    "relations_collection",
    "relationship_item",
    "undo",
]

log = logging.getLogger(__name__)
NS = CONTEXT[-1]["imago"]
GRAPH_CONTEXT: list[Any] = [
    *CONTEXT[:-1],
    {
        **CONTEXT[-1],
        "propagation": "imago:propagation",
        "origin": {"@id": "imago:origin", "@type": "@id"},
        "path": {"@id": "imago:path", "@type": "@id", "@container": "@list"},
        "hops": "imago:hops",
        "hopLimit": "imago:hopLimit",
        "themes": "imago:themes",
    },
]
_GROUP_TYPES = frozenset({"Group", "Organization"})


# ------------------------------------------------------------- wire forms
def kind_iri(kind: str) -> str:
    """``partner`` -> ``https://w3id.org/imago-fed/ns#partner``."""
    return NS + kind


def parse_kind(value: Any) -> str | None:
    """The kind from its IRI, its compact form ``imago:partner``, or None."""
    iri = id_of(value)
    if not iri:
        return None
    for prefix in (NS, "imago:"):
        if iri.startswith(prefix) and len(iri) > len(prefix):
            return iri[len(prefix) :]
    return None


def _envelope(ids: Ids, slug: str, kind: str, activity_id: str, to: str) -> dict[str, Any]:
    group = ids.group(slug)
    return {"@context": GRAPH_CONTEXT, "id": activity_id, "type": kind, "actor": group,
            "audience": group, "to": [to]}  # fmt: skip


def _relationship(stored: StoredRelation) -> dict[str, Any]:
    relation = stored.relation
    return {
        "type": "Relationship",
        "subject": relation.source,
        "relationship": kind_iri(relation.kind),
        "object": relation.target,
    }


def offer(ids: Ids, slug: str, stored: StoredRelation) -> dict[str, Any]:
    """The proposer's Offer; its id is the one stored with the relation."""
    document = _envelope(ids, slug, "Offer", stored.offer_id, stored.peer)
    document["object"] = _relationship(stored)
    document["target"] = stored.peer
    return document


def _offer_body(stored: StoredRelation) -> dict[str, Any]:
    relation = stored.relation
    return {"id": stored.offer_id, "type": "Offer", "actor": relation.source,
            "object": _relationship(stored), "target": relation.target}  # fmt: skip


def answer(ids: Ids, slug: str, stored: StoredRelation, *, accept: bool) -> dict[str, Any]:
    """The target's Accept or Reject, embedding the Offer it answers."""
    kind = "Accept" if accept else "Reject"
    activity_id = derived_id(ids, slug, kind, stored.offer_id)
    document = _envelope(ids, slug, kind, activity_id, stored.peer)
    document["object"] = _offer_body(stored)
    return document


def undo(ids: Ids, slug: str, stored: StoredRelation) -> dict[str, Any]:
    """Undo the Offer (the proposer) or our Accept (the target): the edge is gone."""
    me = ids.group(slug)
    if stored.relation.source == me:
        inner = _offer_body(stored)
    else:
        inner = {"id": stored.answer_id or derived_id(ids, slug, "Accept", stored.offer_id),
                 "type": "Accept", "actor": me, "object": stored.offer_id}  # fmt: skip
    activity_id = derived_id(ids, slug, "undo", inner["id"])
    document = _envelope(ids, slug, "Undo", activity_id, stored.peer)
    document["object"] = inner
    return document


def announce_item(ids: Ids, slug: str, item: Item, to: list[str]) -> dict[str, Any]:
    """The group hands ``item`` (our group last on its path) to the chosen groups."""
    group = ids.group(slug)
    propagation: dict[str, Any] = {
        "origin": item.origin,
        "path": list(item.path),
        "hops": item.hops,
        "hopLimit": item.hop_limit,
    }
    if item.themes:
        propagation["themes"] = sorted(item.themes)
    if item.place is not None:
        propagation["location"] = place_object(item.place)
    # An offer or need is named with its type, so the receiver knows to read the
    # Proposal from its origin (the type is a hint: what is fetched decides).
    carried: str | dict[str, Any] = item.object_id
    if item.kind == "intent":
        carried = {"id": item.object_id, "type": list(PROPOSAL_TYPES)}
    return {
        "@context": GRAPH_CONTEXT,
        "id": ids.new_activity(),
        "type": "Announce",
        "actor": group,
        "audience": group,
        "to": to,
        "object": carried,
        "propagation": propagation,
    }


def parse_item(activity: dict[str, Any]) -> Item | None:
    """The Item an Announce carries, or None if it carries none; InvalidInput if malformed."""
    block = activity.get("propagation", activity.get(NS + "propagation"))
    if not isinstance(block, dict):
        return None
    path = block.get("path")
    if isinstance(path, dict):  # an expanded @list
        path = path.get("@list")
    inner = activity.get("object")
    proposal = isinstance(inner, dict) and any(
        str(t).endswith("Proposal") for t in as_list(inner.get("type"))
    )
    return Item.from_dict(
        {
            "object_id": id_of(activity.get("object")),
            "origin": id_of(block.get("origin")),
            "path": [id_of(p) for p in as_list(path)],
            "hops": block.get("hops"),
            "hop_limit": block.get("hopLimit"),
            "themes": as_list(block.get("themes")),
            "place": place.to_dict() if (place := parse_place(block)) else None,
            "kind": "intent" if proposal else "announcement",
        }
    )


def relations_collection(collection_id: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A group's accepted relations, as Relationship objects anyone can read."""
    return {
        "@context": GRAPH_CONTEXT,
        "id": collection_id,
        "type": "Collection",
        "totalItems": len(items),
        "items": items,
    }


def relationship_item(stored: StoredRelation) -> dict[str, Any]:
    return {"id": stored.offer_id + "#relationship", **_relationship(stored)}


# ------------------------------------------------------ outbound adapter
class Publish(Protocol):
    """Store a group's activity and queue its deliveries (wired in app.py over the
    outbox): to ``inboxes``, or to the group's followers when ``inboxes`` is None."""

    async def __call__(
        self, group_id: int, activity: dict[str, Any], inboxes: list[str] | None,
        object_id: str | None = None,
    ) -> None: ...  # fmt: skip


class ApGraph:
    """Implements ``GroupAddresses``, ``RelationMessenger`` and ``PropagationSender``."""

    def __init__(
        self, publish: Publish, resolver: ActorResolver, following: Following, ids: Ids,
        groups: GroupRepository,
    ) -> None:  # fmt: skip
        self._publish, self._resolver, self._following = publish, resolver, following
        self._ids, self._groups = ids, groups

    # ----------------------------------------------------- GroupAddresses
    def actor(self, slug: str) -> str:
        return self._ids.group(slug)

    def local_slug(self, actor: str) -> str | None:
        return self._ids.parse_group(actor)

    async def resolve_group(self, handle_or_url: str) -> str:
        handle = parse_handle(handle_or_url)
        if handle is not None and handle[1] == urlsplit(self._ids.base_url).netloc.lower():
            uri = self._ids.group(handle[0])  # one of ours: no WebFinger round trip
        else:
            uri = await self._following.resolve(handle_or_url)
        local = self.local_slug(uri)
        if local is not None:
            if await self._groups.get(local) is None:
                raise NotFound(f"unknown target: no group {local} here")
            return uri
        try:
            actor = await self._resolver.actor(uri, refresh=True)
        except ActorError as exc:
            raise NotFound(f"unknown target {handle_or_url}: {exc}") from exc
        if actor.type not in _GROUP_TYPES:
            raise InvalidInput(f"{handle_or_url} is a {actor.type}, not a group", field="target")
        return actor.uri

    # -------------------------------------------------- RelationMessenger
    def offer_id(self, slug: str) -> str:
        return self._ids.new_activity()

    async def offer(self, slug: str, stored: StoredRelation) -> None:
        await self._send(stored.group_id, offer(self._ids, slug, stored), [stored.peer])

    async def answer(self, slug: str, stored: StoredRelation, *, accept: bool) -> str:
        if accept:
            await self._refresh(stored.peer)
        document = answer(self._ids, slug, stored, accept=accept)
        await self._send(stored.group_id, document, [stored.peer])
        return str(document["id"])

    async def withdraw(self, slug: str, stored: StoredRelation) -> str:
        document = undo(self._ids, slug, stored)
        await self._send(stored.group_id, document, [stored.peer])
        return str(document["id"])

    async def _refresh(self, uri: str) -> None:
        """Read the proposer's actor afresh as we accept: the relation's event carries
        what it publishes now (its Matrix space, which a copy cached before the space
        existed, or before we read spaces, lacks). Unreachable: the cached copy serves."""
        try:
            await self._resolver.actor(uri, refresh=True)
        except ActorError as exc:
            log.info("kept the cached actor", extra={"actor": uri, "error": str(exc)})

    # -------------------------------------------------- PropagationSender
    async def send(self, slug: str, item: Item, recipients: list[str]) -> None:
        group = await self._groups.get(slug)
        if group is None or group.id is None or not recipients:
            return
        document = announce_item(self._ids, slug, item, recipients)
        await self._send(group.id, document, recipients, strict=False)

    async def boost(self, slug: str, item: Item) -> None:
        group = await self._groups.get(slug)
        if group is None or group.id is None:
            return
        boost = announce_object(self._ids, slug, item.object_id)
        await self._publish(group.id, boost, None, item.object_id)

    async def _send(
        self, group_id: int, activity: dict[str, Any], actors: list[str], *, strict: bool = True
    ) -> None:
        """Queue the activity for each group's own inbox: the receiver logs it under
        that group (an item dropped by its feed rules shows there, with the reason).

        ``strict``: an actor we cannot fetch fails the whole act (NotFound);
        otherwise it is skipped, so one unreachable group never stops a relay.
        """
        inboxes = []
        for uri in actors:
            try:
                inboxes.append((await self._resolver.actor(uri)).inbox)
            except ActorError as exc:
                if strict:
                    raise NotFound(f"cannot reach {uri}: {exc}") from exc
                log.warning("propagation recipient unreachable", extra={"actor": uri})
        if inboxes:
            await self._publish(group_id, activity, inboxes)


# -------------------------------------------------------- inbound adapter
class GraphIntake:
    """Asked first by the inbox processor: ``None`` when the activity is not a graph one."""

    def __init__(self, ids: Ids, relations: Relations, propagation: Propagation) -> None:
        self._ids, self._relations, self._propagation = ids, relations, propagation

    async def __call__(self, activity: dict[str, Any], actor: str) -> str | None:
        kind = activity.get("type")
        if kind == "Offer":
            return await self._offer(activity, actor)
        if kind in ("Accept", "Reject"):
            return await self._answer(activity, actor)
        if kind == "Undo":
            return await self._undo(activity, actor)
        if kind == "Announce":
            return await self._announce(activity, actor)
        return None

    async def _offer(self, activity: dict[str, Any], actor: str) -> str | None:
        relationship = activity.get("object")
        if not isinstance(relationship, dict) or relationship.get("type") != "Relationship":
            return None
        if id_of(relationship.get("subject")) != actor:
            return "relationship offered on behalf of another actor"
        kind = parse_kind(relationship.get("relationship"))
        target = id_of(relationship.get("object"))
        if kind is None or not target:
            return "relationship without an imago kind or an object"
        return await self._relations.offered(actor, target, kind, str(activity["id"]))

    async def _answer(self, activity: dict[str, Any], actor: str) -> str | None:
        inner = activity.get("object")
        if isinstance(inner, dict) and inner.get("type") != "Offer":
            return None  # an answer to a Follow: the usual handler
        offer_id = id_of(inner)
        if not offer_id:
            return None
        outcome = await self._relations.answered(
            offer_id, actor, accept=activity["type"] == "Accept", answer_id=str(activity["id"])
        )
        if outcome != "done" and not isinstance(inner, dict):
            return None  # a bare id we do not know as an Offer: maybe a Follow
        return outcome

    async def _undo(self, activity: dict[str, Any], actor: str) -> str | None:
        inner = activity.get("object")
        if not isinstance(inner, dict) or inner.get("type") not in ("Offer", "Accept"):
            return None
        if inner.get("type") == "Offer":
            offer_id = id_of(inner)
        else:
            offer_id = id_of(inner.get("object"))
            if isinstance(inner.get("object"), dict) and inner["object"].get("type") != "Offer":
                return None  # Undo of an Accept of a Follow
        if id_of(inner.get("actor")) not in (None, actor):
            return "undo of someone else's activity"
        if not offer_id:
            return None
        outcome = await self._relations.undone(offer_id, actor, str(activity["id"]))
        if outcome != "done" and inner.get("type") == "Accept":
            return None  # not a relation of ours: leave it to the usual handler
        return outcome

    async def _announce(self, activity: dict[str, Any], actor: str) -> str | None:
        try:
            item = parse_item(activity)
        except InvalidInput as exc:
            return f"malformed propagation: {exc}"
        if item is None:
            return None
        if item.sender != actor:
            return "propagated item whose path does not end with its sender"
        outcomes = []
        for uri in as_list(activity.get("to")) + as_list(activity.get("cc")):
            slug = self._ids.parse_group(id_of(uri) or "")
            if slug is not None:
                try:
                    outcomes.append(await self._propagation.receive(slug, item))
                except NotFound as exc:  # a group deleted meanwhile
                    outcomes.append(str(exc))
        if not outcomes:
            return "propagated to none of our groups"
        return "done" if "done" in outcomes else "; ".join(outcomes)


class GroupSpaces:
    """The resolver's observer: a remote group that publishes a Matrix space gets
    its accepted relations' spaces linked, even when it published none (or
    another) when the relation was accepted. Once per space: see
    ``Relations.relink``."""

    def __init__(self, relations: Relations) -> None:
        self._relations = relations

    async def __call__(self, actor: RemoteActor, document: dict[str, Any]) -> None:
        if actor.type not in _GROUP_TYPES or not actor.space:
            return
        try:
            await self._relations.relink(actor.uri)
        except Exception:  # never let the graph stop an actor from resolving
            log.exception("could not relink a remote group's space", extra={"actor": actor.uri})

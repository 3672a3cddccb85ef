"""The resources adapter: our intents and agreements out to other servers
(:class:`ApResources`, the ``ResourceMessenger`` port), and theirs in
(:class:`ResourceIntake`, asked by the inbox processor before the other
handlers), and offers and needs propagated through the graph
(:class:`PropagatedIntents`, the ``CarriedIntents`` port). The documents
themselves are built and read in :mod:`.resources`.

Trust: an activity is signed by its ``actor`` (the inbox checked it). We take
from it only what that actor may say: a Proposal only attributed to the
actor, an answer only from the agreement's other party, a confirmation only
from a party to that agreement. A malformed Proposal or Agreement is refused
whole, with a log line; nothing of it is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from imago_fed.activitypub import resources as wire
from imago_fed.activitypub.actors import ActorError, ActorResolver, FetchJson
from imago_fed.activitypub.http import FetchError
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.relations import Publish
from imago_fed.activitypub.vocab import addressees, as_list, id_of
from imago_fed.domain.errors import InvalidInput, NotFound
from imago_fed.domain.graph.propagation import Item
from imago_fed.domain.ports import Clock
from imago_fed.domain.ports.federation import Follows
from imago_fed.domain.ports.resources import StoredAgreement, StoredIntent
from imago_fed.domain.resources.intents import Intent
from imago_fed.services.resources import Resources

__all__ = ["ApResources", "FollowTrust", "PropagatedIntents", "ResourceIntake"]

log = logging.getLogger(__name__)


class ApResources:
    """Implements ``ResourceMessenger`` over the outbox and the delivery queue."""

    def __init__(self, publish: Publish, resolver: ActorResolver, ids: Ids, clock: Clock) -> None:
        self._publish, self._resolver, self._ids, self._clock = publish, resolver, ids, clock

    def proposal_id(self, slug: str, intent_id: int) -> str:
        return f"{self._ids.group(slug)}/intents/{intent_id}"

    def agreement_iri(self, slug: str, agreement_id: int) -> str:
        return f"{self._ids.group(slug)}/agreements/{agreement_id}"

    def new_offer_id(self) -> str:
        return self._ids.new_activity()

    async def publish(self, slug: str, stored: StoredIntent) -> None:
        assert stored.group_id is not None
        document = wire.proposal(self._ids, slug, stored)
        await self._publish(
            stored.group_id, wire.create(self._ids, slug, document), None, stored.ap_id
        )

    async def update(self, slug: str, stored: StoredIntent) -> None:
        assert stored.group_id is not None
        if stored.intent.state in ("withdrawn", "expired"):
            activity = wire.delete_proposal(self._ids, slug, stored)
        else:
            document = wire.proposal(self._ids, slug, stored)
            activity = wire.create(self._ids, slug, document, "Update")
        await self._publish(stored.group_id, activity, None, stored.ap_id)

    async def offer_agreement(
        self, slug: str, agreement: StoredAgreement, intent: StoredIntent
    ) -> None:
        document = wire.offer_agreement(self._ids, slug, agreement, intent)
        await self._send(agreement, document)

    async def answer(
        self, slug: str, agreement: StoredAgreement, intent: StoredIntent, *, accept: bool
    ) -> str:
        if accept:
            document = wire.accept_agreement(self._ids, slug, agreement, intent)
        else:
            document = wire.reject_agreement(self._ids, slug, agreement, "rejected by the group")
        await self._send(agreement, document)
        return str(document["id"])

    async def confirm(self, slug: str, agreement: StoredAgreement) -> str:
        document = wire.confirmation(self._ids, slug, agreement, self._clock.now())
        await self._send(agreement, document)
        return str(document["id"])

    async def cancel(self, slug: str, agreement: StoredAgreement) -> str:
        document = wire.cancel_agreement(self._ids, slug, agreement)
        await self._send(agreement, document)
        return str(document["id"])

    async def _send(self, agreement: StoredAgreement, document: dict[str, Any]) -> None:
        try:
            inbox = (await self._resolver.actor(agreement.peer)).inbox
        except ActorError as exc:
            raise NotFound(f"cannot reach {agreement.peer}: {exc}") from exc
        await self._publish(agreement.group_id, document, [inbox])


class FollowTrust:
    """Implements ``SenderTrust`` over the follow tables: a member is an accepted
    follower of the group; a followed actor is one a group of ours follows."""

    def __init__(self, follows: Follows) -> None:
        self._follows = follows

    async def trusted(self, actor: str, group_ids: Collection[int]) -> bool:
        for group_id in group_ids:
            if await self._follows.is_follower(group_id, actor):
                return True
        return await self._follows.is_followed(actor)


class PropagatedIntents:
    """Implements ``CarriedIntents``: a propagated item names a Proposal by its id,
    and we read it from there (signed by our instance actor), never from the relay
    that handed the item on. The Proposal must live on its origin's server, carry
    the id it was fetched at, and be attributed to the origin; read as any inbound
    Proposal is (:func:`.resources.parse_proposal`), or refused whole."""

    def __init__(self, resources: Resources, fetch_json: FetchJson, ids: Ids) -> None:
        self._resources, self._fetch, self._ids = resources, fetch_json, ids

    async def proposal_of(self, slug: str, intent_id: int) -> str:
        return await self._resources.open_proposal(slug, intent_id)

    async def is_open(self, group_id: int, object_id: str) -> bool:
        stored = await self._resources.by_proposal(object_id)
        return (
            stored is not None
            and stored.group_id == group_id
            and stored.ap_id == object_id
            and stored.intent.state == "open"
        )

    async def read(self, item: Item) -> tuple[Intent, str] | None:
        if self._ids.parse_group(item.origin) is not None:
            # One of ours: known here already (matching saw it when it opened).
            stored = await self._resources.by_proposal(item.object_id)
            if stored is None or stored.group_id is None or stored.intent.state != "open":
                raise InvalidInput(f"{item.object_id} is no open offer or need of ours")
            return None
        if _authority(item.object_id) != _authority(item.origin):
            raise InvalidInput("the Proposal does not live on its origin's server")
        try:
            document = await self._fetch(item.object_id)
        except FetchError as exc:
            raise InvalidInput(f"cannot fetch {item.object_id}: {exc}") from exc
        if id_of(document) != item.object_id:
            raise InvalidInput("the fetched Proposal has another id")
        if not wire.looks_like_proposal(document):
            raise InvalidInput(f"{item.object_id} is not a Proposal")
        return wire.parse_proposal(document, item.origin)  # InvalidInput if malformed

    async def keep(self, intent: Intent, intent_iri: str) -> None:
        outcome = await self._resources.proposal_received(intent, intent_iri, vouched=True)
        if outcome != "done":
            log.info("propagated proposal not kept", extra={"proposal": intent.ap_id,
                                                            "why": outcome})  # fmt: skip


def _authority(iri: str) -> str:
    parts = urlsplit(iri)
    return f"{parts.scheme}://{parts.netloc}".lower()


class ResourceIntake:
    """Asked first by the inbox processor: None when the activity is not about resources."""

    def __init__(self, resources: Resources) -> None:
        self._resources = resources

    async def __call__(self, activity: dict[str, Any], actor: str) -> str | None:
        kind = activity.get("type")
        inner = activity.get("object")
        if kind in ("Create", "Update") and wire.looks_like_proposal(inner):
            return await self._proposal(activity, inner, actor)
        if kind == "Create" and isinstance(inner, dict) and inner.get("context"):
            return await self._confirmation(activity, inner, actor)
        if kind == "Delete":
            gone = id_of(inner)
            return await self._resources.proposal_gone(actor, gone) if gone else None
        if kind == "Offer" and isinstance(inner, dict) and _is(inner, "Agreement"):
            return await self._offer(activity, inner, actor)
        if kind in ("Accept", "Reject"):
            return await self._answer(activity, actor)
        if kind == "Undo" and isinstance(inner, dict):
            return await self._undo(inner, actor)
        return None

    async def _proposal(self, activity: dict[str, Any], inner: Any, actor: str) -> str:
        try:
            intent, intent_iri = wire.parse_proposal(inner, actor)
        except InvalidInput as exc:
            log.warning(
                "malformed proposal refused",
                extra={"activity": activity.get("id"), "actor": actor, "error": exc.message},
            )
            return f"malformed proposal: {exc.message}"
        addressed = [*addressees(activity)]
        if isinstance(inner, dict):
            addressed.extend(addressees(inner))
        return await self._resources.proposal_received(intent, intent_iri, addressed)

    async def _offer(self, activity: dict[str, Any], inner: dict[str, Any], actor: str) -> str:
        offer_id = id_of(activity)
        try:
            if not offer_id:
                raise InvalidInput("the Offer has no id")
            satisfies, quantity = wire.parse_commitment(inner)
        except InvalidInput as exc:
            log.warning(
                "malformed agreement refused",
                extra={"activity": offer_id, "actor": actor, "error": exc.message},
            )
            return f"malformed agreement: {exc.message}"
        return await self._resources.agreement_offered(actor, offer_id, satisfies, quantity)

    async def _answer(self, activity: dict[str, Any], actor: str) -> str | None:
        offer_id = id_of(activity.get("object"))
        if not offer_id:
            return None
        return await self._resources.agreement_answered(
            actor, offer_id, accept=activity["type"] == "Accept",
            agreement_iri=wire.agreement_id(activity.get("result")),
            answer_id=str(activity.get("id")),
        )  # fmt: skip

    async def _undo(self, inner: dict[str, Any], actor: str) -> str | None:
        """An accepted agreement called off: the other party undoes its Accept (the
        intent's group) or its Offer (the answering group). None when the Offer is no
        agreement of ours with that actor, so a relation's or a follow's Undo goes on."""
        if id_of(inner.get("actor")) not in (None, actor):
            return None
        if inner.get("type") == "Accept":
            offer_id = id_of(inner.get("object"))
        elif inner.get("type") == "Offer":
            offer_id = id_of(inner)
        else:
            return None
        if not offer_id:
            return None
        return await self._resources.agreement_cancelled(actor, offer_id)

    async def _confirmation(
        self, activity: dict[str, Any], inner: dict[str, Any], actor: str
    ) -> str | None:
        reference = id_of(inner.get("context"))
        if not reference:
            return None
        outcome = await self._resources.agreement_confirmed(
            actor, reference, str(activity.get("id"))
        )
        return outcome if outcome == "done" else None


def _is(document: dict[str, Any], kind: str) -> bool:
    return any(str(t).endswith(kind) for t in as_list(document.get("type")))

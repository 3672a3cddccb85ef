"""Resources: offers and needs published under the group's rules, matched
across groups, agreed, fulfilled, and counted in the groups' inventories.

Publishing is a ``publish_offer`` decision; committing the group to an
agreement (offering one, or accepting one) is a ``spend`` decision. The
decision's adoption carries the act out (``carry_out``), at once under a
do-ocracy, when its window closes under consensus, after a vote otherwise:

    publish(A)         ── publish_offer in A ──> intent pending ──> open
                                                  └─ Proposal to A's followers
    propose_agreement(B, A's intent) ── spend in B ──> agreement offered (B)
                                                  └─ Offer(Agreement) ──> A
    A: offered()       ── agreement offered (A), nothing decided yet
    A: answer(accept)  ── spend in A ──> accepted; A's intent: what is left, agreed
                                                  └─ Accept{result: Agreement} ──> B
    either: fulfil()   ── fulfilled; stocks move (provider -, receiver +)
                                                  └─ confirmation ──> the other
    either: cancel()   ── an accepted one, cancelled; the intent gets its quantity
                          back and opens again; stocks untouched
                                                  └─ Undo (of our Accept or Offer) ──> the other
    tick()             ── pending intents whose decision failed: withdrawn;
                          open intents past their window: expired

When both groups live on this instance, both rows move here and nothing goes
on the wire. Matching (``matches``) only suggests; it never agrees.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Collection
from dataclasses import replace
from decimal import Decimal
from typing import Any

from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.events import GroupEvent, IntentChanged, MatchSuggested
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.proposals import Proposal
from imago_fed.domain.governance.service import Governance
from imago_fed.domain.graph.places import bounding_box
from imago_fed.domain.graph.proximity import hops_from
from imago_fed.domain.graph.relations import Relation
from imago_fed.domain.groups import Group
from imago_fed.domain.ports.clock import Clock
from imago_fed.domain.ports.events import GroupEventLog
from imago_fed.domain.ports.groups import GroupRepository
from imago_fed.domain.ports.propagation import PropagationStore
from imago_fed.domain.ports.relations import GroupAddresses
from imago_fed.domain.ports.resources import (
    GroupProfiles,
    ResourceMessenger,
    ResourceStore,
    SenderTrust,
    StoredAgreement,
    StoredIntent,
)
from imago_fed.domain.resources.agreements import (
    AGREEMENT,
    InventoryItem,
    commit,
    release,
    stock_after,
    terms_for,
)
from imago_fed.domain.resources.intents import (
    INTENT,
    Intent,
    describe,
    intent_from_dict,
    parse_quantity,
)
from imago_fed.domain.resources.matching import Match, suggest
from imago_fed.domain.resources.taxonomy import taxonomy
from imago_fed.domain.resources.vocabulary import ACTIONS, action_family, parse_resource_type

__all__ = ["SOURCE", "Resources", "agreement_json"]

log = logging.getLogger(__name__)
_UNADOPTED = frozenset({"rejected", "expired", "withdrawn", "challenged"})
SOURCE = "resources"  # the group event log's source for what this service records
NOTIFIED_MATCHES = 3  # suggestions told to the groups when an intent opens or changes
BETTER_BY = Decimal("0.05")  # how much a pair's score must rise to be told again


def agreement_json(stored: StoredAgreement) -> dict[str, Any]:
    """The admin API's shape of one party's view of an agreement."""
    terms = stored.terms
    resource = terms.resource
    return {
        "id": stored.id,
        "intent_id": stored.intent_id,
        "role": stored.role,
        "other": stored.peer,
        "state": stored.state,
        "action": terms.action,
        "resource_conforms_to": (resource.iri or resource.label) if resource else None,
        "quantity": terms.quantity.to_dict() if terms.quantity else None,
        "provider": terms.provider,
        "receiver": terms.receiver,
        "offer_id": stored.offer_id,
        "agreement_id": stored.agreement_iri,
        "decision_id": stored.decision_id,
        "updated_at": stored.updated_at.isoformat() if stored.updated_at else None,
    }


class Resources:
    """The resource use cases; ``attach`` gives it the governance it decides in."""

    def __init__(
        self, store: ResourceStore, addresses: GroupAddresses, messenger: ResourceMessenger,
        groups: GroupRepository, clock: Clock, relations: Any = None,
        senders: SenderTrust | None = None, events: GroupEventLog | None = None,
        profiles: GroupProfiles | None = None, spread: PropagationStore | None = None,
    ) -> None:  # fmt: skip
        self._store, self._addresses, self._messenger = store, addresses, messenger
        self._groups, self._clock, self._relations = groups, clock, relations
        self._senders = senders  # None: every signed sender is heard (tests, benchmarks)
        self._events = events  # None: the chat side is not told (tests, benchmarks)
        self._profiles = profiles  # None: an intent has a place only if it names one
        self._spread = spread  # None: an intent is never taken to have been propagated
        self._governance: Governance | None = None

    def attach(self, governance: Governance) -> None:
        """Governance runs our effects and we open its proposals: wired once both exist."""
        self._governance = governance

    # ------------------------------------------------------------- intents
    async def publish(
        self, slug: str, data: object, *, author: str
    ) -> tuple[StoredIntent, Proposal]:
        """Validate an offer or a need, keep it pending, open its publish_offer decision."""
        group = await self._group(slug)
        assert group.id is not None
        profile = await self._profiles.profile(group.id) if self._profiles else None
        home = profile.place if profile is not None else None
        intent = intent_from_dict(data, group=self._addresses.actor(slug), place=home)
        now = self._clock.now()
        if intent.window.ended_by(now):
            raise InvalidInput("available_until is already past", field="available_until")
        new_id = await self._store.next_intent_id()
        ap_id = self._messenger.proposal_id(slug, new_id)
        intent = replace(intent, id=new_id, ap_id=ap_id, state="pending")
        await self._store.add_intent(
            intent, group_id=group.id, intent_iri=ap_id + "#primary", now=now
        )
        title = f"Publish {intent.purpose}: {intent.name}"[:300]
        proposal = await self._decide(
            group, ActionKind.PUBLISH_OFFER, title, author, {"op": "publish", "intent": new_id}
        )
        assert proposal.id is not None
        await self._store.set_decision(new_id, proposal.id)
        return await self._intent(new_id), proposal

    async def intents(
        self, slug: str, states: frozenset[str] | None = None
    ) -> builtins.list[StoredIntent]:
        group = await self._group(slug)
        assert group.id is not None
        return await self._store.list_intents(group.id, states)

    async def known(
        self, states: frozenset[str] | None = None, purpose: str | None = None
    ) -> builtins.list[StoredIntent]:
        """The published intents the instance knows, ours and other servers' alike."""
        return await self._store.known(states, purpose)

    async def intent(self, intent_id: int) -> StoredIntent:
        return await self._intent(intent_id)

    async def by_proposal(self, ap_id: str) -> StoredIntent | None:
        """An intent known here (ours or another server's) by its Proposal id."""
        return await self._store.intent_by_iri(ap_id)

    async def open_proposal(self, slug: str, intent_id: int) -> str:
        """The Proposal id of one of the group's open intents (to propagate it)."""
        group = await self._group(slug)
        stored = await self._intent(intent_id)
        if stored.group_id != group.id:
            raise NotFound(f"no intent {intent_id} in {slug}")
        if stored.intent.state != "open":
            raise Conflict(
                f"the intent is {stored.intent.state}: only an open offer or need propagates"
            )
        return stored.ap_id

    async def withdraw(self, slug: str, intent_id: int) -> StoredIntent:
        """Take back one of our intents (pending or open); followers are told."""
        group = await self._group(slug)
        stored = await self._intent(intent_id)
        if stored.group_id != group.id:
            raise NotFound(f"no intent {intent_id} in {slug}")
        was = stored.intent.state
        if not INTENT.allows(was, "withdrawn"):
            raise Conflict(f"the intent is {was}: it can no longer be withdrawn")
        stored = await self._store.move_intent(intent_id, "withdrawn", self._clock.now())
        if was == "open":
            await self._messenger.update(slug, stored)
            await self._tell(stored)
        return stored

    # ------------------------------------------------------------ matching
    async def matches(self, intent_id: int, limit: int = 10) -> builtins.list[Match]:
        """The best counterparts of an intent among the open ones the instance knows."""
        stored = await self._intent(intent_id)
        return await self._suggest(stored.intent, limit)

    async def group_matches(self, slug: str, per_intent: int = 3) -> builtins.list[dict[str, Any]]:
        """For each open intent of the group, its best few counterparts."""
        found = []
        for stored in await self.intents(slug, frozenset({"open"})):
            best = await self._suggest(stored.intent, per_intent)
            if best:
                found.append({"intent": stored.intent.to_dict(),
                              "matches": [m.to_dict() for m in best]})  # fmt: skip
        return found

    async def _suggest(self, intent: Intent, limit: int) -> builtins.list[Match]:
        if intent.state != "open":
            return []
        keys = None if not intent.type_key else taxonomy().related(intent.type_key) | {""}
        now = self._clock.now()
        family = action_family(intent.action)
        candidates = await self._store.candidates(
            intent.counter_purpose, keys, now,
            actions=frozenset(a for a in ACTIONS if action_family(a) == family),
            box=bounding_box(intent.place, intent.range_km) if intent.place else None,
        )  # fmt: skip
        hops = await self._hops(intent.group)
        return suggest(intent, [c.intent for c in candidates], now=now, limit=limit, hops=hops)

    async def _hops(self, actor: str) -> dict[str, int]:
        """Steps from a local group to the groups around it (two at most), by accepted
        relations; empty for a remote group (we do not know its edges)."""
        slug = self._addresses.local_slug(actor)
        if slug is None or self._relations is None:
            return {}
        group = await self._groups.get(slug)
        if group is None or group.id is None:
            return {}
        edges: list[Relation] = list(await self._relations.active(group.id))
        for edge in list(edges):
            near = self._addresses.local_slug(edge.other(actor)) if edge.involves(actor) else None
            neighbour = await self._groups.get(near) if near else None
            if neighbour is not None and neighbour.id is not None:
                edges.extend(await self._relations.active(neighbour.id))
        return {g: path.hops for g, path in hops_from(actor, edges, 2).items()}

    # ---------------------------------------------------------- agreements
    async def propose_agreement(
        self, slug: str, intent: int | str, quantity: object = None, *, author: str
    ) -> Proposal:
        """Open the spend decision to answer another group's intent (by id or IRI)."""
        group = await self._group(slug)
        target = await self._target(intent)
        amount = parse_quantity(quantity) if quantity is not None else None
        terms = terms_for(target.intent, self._addresses.actor(slug), amount)  # refusals here
        title = f"Agree on {target.intent.purpose} '{target.intent.name}' of {target.intent.group}"
        params = {"op": "offer_agreement", "intent": target.id,
                  "quantity": terms.quantity.to_dict() if terms.quantity else None}  # fmt: skip
        return await self._decide(group, ActionKind.SPEND, title[:300], author, params)

    async def accept(self, slug: str, agreement_id: int, *, author: str) -> Proposal:
        """Open the spend decision to accept an agreement offered on one of our intents:
        accepting commits the group's resources."""
        group = await self._group(slug)
        row = await self._offered_to_us(group, agreement_id)
        title = f"Accept the agreement with {row.peer} on intent {row.intent_id}"
        return await self._decide(
            group, ActionKind.SPEND, title[:300], author, {"op": "accept", "agreement": row.id}
        )

    async def reject(self, slug: str, agreement_id: int) -> StoredAgreement:
        """Reject an agreement offered on one of our intents (at once: nothing is spent)."""
        group = await self._group(slug)
        return await self._reject(group, await self._offered_to_us(group, agreement_id))

    async def _offered_to_us(self, group: Group, agreement_id: int) -> StoredAgreement:
        row = await self._own(group, agreement_id)
        if row.role != "owner":
            raise Conflict("this group offered the agreement: the other side answers it")
        if row.state != "offered":
            raise Conflict(f"the agreement is {row.state}, not offered")
        return row

    async def agreements(
        self, slug: str, states: frozenset[str] | None = None
    ) -> builtins.list[StoredAgreement]:
        group = await self._group(slug)
        assert group.id is not None
        return await self._store.list_agreements(group.id, states)

    async def agreement(self, slug: str, agreement_id: int) -> StoredAgreement:
        return await self._own(await self._group(slug), agreement_id)

    async def fulfil(self, slug: str, agreement_id: int) -> StoredAgreement:
        """Record that an accepted agreement was carried out: stocks move, the other
        party is told, the intent is fulfilled once all of it is."""
        group = await self._group(slug)
        row = await self._own(group, agreement_id)
        if row.state != "accepted":
            raise Conflict(f"the agreement is {row.state}, not accepted")
        now = self._clock.now()
        done = await self._store.move_agreement(row.id, "fulfilled", now)
        await self._restock(row.group_id, done)
        if self._addresses.local_slug(row.peer) is None:
            confirmation = await self._messenger.confirm(slug, done)
            done = replace(done, confirmation_id=confirmation)
        else:
            for other in await self._store.agreements_by_offer(row.offer_id):
                if other.id != row.id and other.state == "accepted":
                    moved = await self._store.move_agreement(other.id, "fulfilled", now)
                    await self._restock(other.group_id, moved)
        await self._settle(done.intent_id)
        return done

    async def cancel(self, slug: str, agreement_id: int) -> StoredAgreement:
        """Call off an accepted agreement not yet carried out (either party may): the
        intent gets its quantity back and opens again, stocks stay as they are, and
        the other party is told. A fulfilled one is history: refused."""
        group = await self._group(slug)
        row = await self._own(group, agreement_id)
        if not AGREEMENT.allows(row.state, "cancelled"):
            raise Conflict(
                f"the agreement is {row.state}: only an accepted one, not yet carried out,"
                " can be cancelled"
            )
        now = self._clock.now()
        done = await self._store.move_agreement(row.id, "cancelled", now)
        if self._addresses.local_slug(row.peer) is None:
            await self._messenger.cancel(slug, done)
        else:
            for other in await self._store.agreements_by_offer(row.offer_id):
                if other.id != row.id and other.state == "accepted":
                    await self._store.move_agreement(other.id, "cancelled", now)
        await self._release(done)
        return done

    async def _release(self, row: StoredAgreement) -> None:
        """The agreement's quantity goes back to its intent (ours: followers and the
        chat side are told; another server's copy: matching offers it again)."""
        stored = await self._store.get_intent(row.intent_id)
        if stored is None or stored.intent.state not in ("open", "agreed"):
            return  # withdrawn or expired meanwhile: nothing to reopen
        remaining, state = release(stored.intent, row.terms.quantity)
        moved = await self._store.move_intent(
            stored.id, state, self._clock.now(), remaining=remaining, set_remaining=True
        )
        slug = self._addresses.local_slug(moved.intent.group)
        if slug is not None and moved.group_id is not None:
            await self._messenger.update(slug, moved)
            await self._tell(moved)
        await self._announce_matches(moved)  # open again, or more left: new counterparts

    # ------------------------------------------------------------ inventory
    async def inventory(self, slug: str) -> builtins.list[InventoryItem]:
        group = await self._group(slug)
        assert group.id is not None
        return await self._store.inventory(group.id)

    async def set_stock(self, slug: str, data: object) -> InventoryItem:
        """Record what the group has on hand of one kind of resource."""
        group = await self._group(slug)
        assert group.id is not None
        if not isinstance(data, dict):
            raise InvalidInput("a stock must be an object")
        unknown = set(data) - {"resource_conforms_to", "name", "quantity"}
        if unknown:
            raise InvalidInput(f"unknown field(s): {', '.join(sorted(unknown))}")
        resource = parse_resource_type(data.get("resource_conforms_to"))
        quantity = parse_quantity(data.get("quantity"))
        if quantity.value is None:
            raise InvalidInput("quantity.value is required for a stock", field="quantity.value")
        name = data.get("name") or resource.label or resource.key
        if not isinstance(name, str) or len(name) > 200:
            raise InvalidInput("name must be text of at most 200 characters", field="name")
        item = InventoryItem(resource, name.strip(), quantity)
        await self._store.set_stock(group.id, item, self._clock.now())
        return item

    # ---------------------------------------------------- decisions' effects
    async def carry_out(self, proposal: Proposal) -> str | None:
        """The ``publish_offer`` and ``spend`` effects (``ActionEffect``)."""
        params = proposal.params.get("resources")
        if proposal.action not in (ActionKind.PUBLISH_OFFER, ActionKind.SPEND):
            return None
        if not isinstance(params, dict):
            return None
        group = await self._groups.get_by_id(proposal.group_id)
        if group is None:
            return "the group is gone"
        op = params.get("op")
        try:
            if op == "publish":
                return await self._open(group, int(params["intent"]))
            if op == "offer_agreement":
                return await self._offer(group, int(params["intent"]), params.get("quantity"))
            if op == "accept":
                return await self._accept(group, int(params["agreement"]))
        except (InvalidInput, Conflict, NotFound) as exc:
            return f"not carried out: {exc.message}"
        return f"unknown resources operation {op!r}"

    async def _open(self, group: Group, intent_id: int) -> str:
        stored = await self._intent(intent_id)
        if stored.group_id != group.id:
            return f"intent {intent_id} is not {group.slug}'s"
        if stored.intent.window.ended_by(self._clock.now()):
            await self._store.move_intent(intent_id, "withdrawn", self._clock.now())
            return f"intent {intent_id} withdrawn: its window ended before the decision"
        stored = await self._store.move_intent(intent_id, "open", self._clock.now())
        await self._messenger.publish(group.slug, stored)
        await self._tell(stored)
        await self._announce_matches(stored)
        return f"{stored.intent.purpose} {intent_id} published: {stored.intent.name}"

    async def _offer(self, group: Group, intent_id: int, quantity: object) -> str:
        assert group.id is not None
        target = await self._intent(intent_id)
        me = self._addresses.actor(group.slug)
        amount = parse_quantity(quantity) if quantity is not None else None
        terms = terms_for(target.intent, me, amount)
        offer_id = self._messenger.new_offer_id()
        now = self._clock.now()
        row = await self._store.add_agreement(
            group_id=group.id, offer_id=offer_id, intent_id=target.id, role="answerer",
            peer=target.intent.group, terms=terms, now=now,
        )  # fmt: skip
        if target.group_id is None:
            await self._messenger.offer_agreement(group.slug, row, target)
            return f"agreement offered to {target.intent.group} (intent {target.ap_id})"
        await self._store.add_agreement(
            group_id=target.group_id, offer_id=offer_id, intent_id=target.id, role="owner",
            peer=me, terms=terms, now=now,
        )  # fmt: skip
        return f"agreement offered to local group {self._addresses.local_slug(target.intent.group)}"

    async def _accept(self, group: Group, agreement_id: int) -> str:
        row = await self._own(group, agreement_id)
        if row.role != "owner" or row.state != "offered":
            return f"agreement {agreement_id} is {row.state}: nothing to accept"
        stored = await self._intent(row.intent_id)
        remaining, state = commit(stored.intent, row.terms.quantity)  # Conflict if too much
        now = self._clock.now()
        stored = await self._store.move_intent(
            stored.id, state, now, remaining=remaining, set_remaining=True
        )
        iri = self._messenger.agreement_iri(group.slug, row.id)
        accepted = await self._store.move_agreement(row.id, "accepted", now, agreement_iri=iri)
        if self._addresses.local_slug(row.peer) is None:
            answer_id = await self._messenger.answer(group.slug, accepted, stored, accept=True)
            await self._store.set_answer_id(accepted.id, answer_id)
        else:
            for other in await self._store.agreements_by_offer(row.offer_id):
                if other.id != row.id and other.state == "offered":
                    await self._store.move_agreement(other.id, "accepted", now, agreement_iri=iri)
        await self._messenger.update(group.slug, stored)
        await self._tell(stored)
        await self._announce_matches(stored)  # what is left may fit another counterpart better
        return f"agreement {row.id} with {row.peer} accepted"

    async def _reject(self, group: Group, row: StoredAgreement) -> StoredAgreement:
        now = self._clock.now()
        rejected = await self._store.move_agreement(row.id, "rejected", now)
        if self._addresses.local_slug(row.peer) is None:
            intent = await self._intent(row.intent_id)
            answer_id = await self._messenger.answer(group.slug, rejected, intent, accept=False)
            await self._store.set_answer_id(rejected.id, answer_id)
        else:
            for other in await self._store.agreements_by_offer(row.offer_id):
                if other.id != row.id and other.state == "offered":
                    await self._store.move_agreement(other.id, "rejected", now)
        return rejected

    # ------------------------------------------------ what others sent us
    async def proposal_received(
        self, intent: Intent, intent_iri: str, addressed: Collection[str] = (), *,
        vouched: bool = False,
    ) -> str:  # fmt: skip
        """A remote group published (or updated) an offer or a need. Heard only from
        an actor one of our groups follows, or a member of a group it addressed, or
        ``vouched`` for: propagated through the graph and let in by a group of ours
        under its feed rules (the Proposal read from its origin)."""
        assert intent.ap_id is not None
        if self._addresses.local_slug(intent.group) is not None:
            return "a proposal of our own group"
        if not vouched and not await self._heard(intent.group, addressed):
            return "proposal from an actor no group of ours follows or counts as a member"
        now = self._clock.now()
        known = await self._store.intent_by_iri(intent.ap_id)
        if known is None:
            added = await self._store.add_intent(
                replace(intent, id=None, state="open"), group_id=None, intent_iri=intent_iri,
                now=now,
            )  # fmt: skip
            await self._announce_matches(added)
            return "done"
        if known.group_id is not None or known.intent.group != intent.group:
            return "proposal id already used by another group"
        updated = await self._store.replace_remote(known, intent, now)
        if intent.state != known.intent.state and INTENT.allows(known.intent.state, intent.state):
            updated = await self._store.move_intent(known.id, intent.state, now)
        await self._announce_matches(updated)  # a better fit now? (quantity, window, place)
        return "done"

    async def proposal_gone(self, actor: str, ap_id: str) -> str | None:
        """A remote group deleted its Proposal; None when it is none we know from it."""
        known = await self._store.intent_by_iri(ap_id)
        if known is None or known.group_id is not None or known.intent.group != actor:
            return None
        if INTENT.allows(known.intent.state, "withdrawn"):
            await self._store.move_intent(known.id, "withdrawn", self._clock.now())
        return "done"

    async def agreement_offered(
        self, actor: str, offer_id: str, satisfies: str, quantity: Any
    ) -> str:
        """Another group offers an agreement on one of our intents: recorded, awaiting
        our answer. ``quantity`` is a domain Quantity or None."""
        target = await self._store.intent_by_iri(satisfies)
        if target is None or target.group_id is None:
            return "agreement on no intent of ours"
        if not await self._hears_answers(actor, target):
            return "agreement from an actor who is not a member of the group nor followed by it"
        if await self._store.agreements_by_offer(offer_id):
            return "offer already recorded"
        try:
            terms = terms_for(target.intent, actor, quantity)
            await self._store.add_agreement(
                group_id=target.group_id, offer_id=offer_id, intent_id=target.id, role="owner",
                peer=actor, terms=terms, now=self._clock.now(),
            )  # fmt: skip
        except (InvalidInput, Conflict) as exc:
            return f"agreement refused: {exc.message}"
        return "done"

    async def agreement_answered(
        self, actor: str, offer_id: str, *, accept: bool, agreement_iri: str | None,
        answer_id: str,
    ) -> str | None:  # fmt: skip
        """The intent's group accepted or rejected our offer; None if it is not ours."""
        rows = [
            r for r in await self._store.agreements_by_offer(offer_id)
            if r.role == "answerer" and r.peer == actor
        ]  # fmt: skip
        if not rows:
            return None
        now = self._clock.now()
        moved = 0
        for row in rows:
            if row.state != "offered":
                continue
            state = "accepted" if accept else "rejected"
            await self._store.move_agreement(
                row.id, state, now, answer_id=answer_id, agreement_iri=agreement_iri
            )
            moved += 1
            if accept:
                await self._commit_remote(row)
        return "done" if moved else "answer to an agreement already answered"

    async def _commit_remote(self, row: StoredAgreement) -> None:
        """Our copy of the remote intent keeps what is left, so matching stops offering it."""
        stored = await self._store.get_intent(row.intent_id)
        if stored is None or stored.intent.state != "open":
            return
        try:
            remaining, state = commit(stored.intent, row.terms.quantity)
        except (Conflict, InvalidInput):
            return
        moved = await self._store.move_intent(
            stored.id, state, self._clock.now(), remaining=remaining, set_remaining=True
        )
        await self._announce_matches(moved)  # what is left may fit another need better

    async def agreement_confirmed(self, actor: str, reference: str, confirmation_id: str) -> str:
        """The other party says the agreement was carried out (FEP-0837 confirmation)."""
        rows = await self._store.agreements_by_iri(reference) or (
            await self._store.agreements_by_offer(reference)
        )
        rows = [r for r in rows if r.peer == actor]
        if not rows:
            return "confirmation of no agreement with this actor"
        now = self._clock.now()
        for row in rows:
            if row.state != "accepted":
                continue
            done = await self._store.move_agreement(
                row.id, "fulfilled", now, confirmation_id=confirmation_id
            )
            await self._restock(row.group_id, done)
            await self._settle(row.intent_id)
        return "done"

    async def agreement_cancelled(self, actor: str, offer_id: str) -> str | None:
        """The other party called off an accepted agreement (an Undo of its Accept or
        of its Offer); None when we hold no agreement under that Offer with it."""
        rows = [r for r in await self._store.agreements_by_offer(offer_id) if r.peer == actor]
        if not rows:
            return None
        cancelled = 0
        for row in rows:
            if not AGREEMENT.allows(row.state, "cancelled"):
                continue
            done = await self._store.move_agreement(row.id, "cancelled", self._clock.now())
            await self._release(done)
            cancelled += 1
        if not cancelled:
            return f"agreement is {rows[0].state}: nothing to cancel"
        return "done"

    async def _hears_answers(self, actor: str, target: StoredIntent) -> bool:
        """Whom a group hears answers to its intent from: its members and those it
        follows; anyone, once it decided to propagate the intent through the graph
        (accepting an answer is still its own spend decision)."""
        assert target.group_id is not None
        if self._senders is None or await self._senders.trusted(actor, [target.group_id]):
            return True
        return self._spread is not None and await self._spread.seen(target.group_id, target.ap_id)

    async def _heard(self, actor: str, addressed: Collection[str]) -> bool:
        if self._senders is None:
            return True
        group_ids = []
        for uri in addressed:
            slug = self._addresses.local_slug(uri.removesuffix("/followers"))
            group = await self._groups.get(slug) if slug else None
            if group is not None and group.id is not None:
                group_ids.append(group.id)
        return await self._senders.trusted(actor, group_ids)

    # -------------------------------------------------------------- ticker
    async def tick(self) -> int:
        """Withdraw pending intents whose decision failed; expire ended ones."""
        changed = 0
        now = self._clock.now()
        if self._governance is not None:
            for stored in await self._store.pending():
                if stored.decision_id is None:
                    continue
                decision = await self._governance.get(stored.decision_id)
                if decision.state in _UNADOPTED:
                    await self._store.move_intent(stored.id, "withdrawn", now)
                    changed += 1
        for stored in await self._store.due_to_expire(now):
            moved = await self._store.move_intent(stored.id, "expired", now)
            slug = self._addresses.local_slug(moved.intent.group)
            if slug is not None and moved.group_id is not None:
                await self._messenger.update(slug, moved)
                await self._tell(moved)
            changed += 1
        return changed

    # ------------------------------------------------- telling the chat side
    async def _tell(self, stored: StoredIntent) -> None:
        """Record that one of our intents changed (the Matrix room shows it, edited in
        place); the key makes a repeat of the same change a no-op, while a return to
        an earlier state (a cancelled agreement reopens the intent) is a new change."""
        if self._events is None or stored.group_id is None:
            return
        intent = stored.intent
        left = intent.available
        data = IntentChanged(
            intent_id=stored.id, ap_id=stored.ap_id, purpose=intent.purpose,
            action=intent.action, name=intent.name, state=intent.state, text=describe(intent),
            resource=(intent.resource.iri or intent.resource.label) if intent.resource else "",
            quantity=_words(intent.quantity), remaining=_words(left),
        )  # fmt: skip
        key = f"resources|intent|{stored.id}|{intent.state}|{data.remaining}"
        if stored.updated_at is not None:
            key += f"|{stored.updated_at.isoformat()}"
        await self._events.record(GroupEvent(stored.group_id, SOURCE, key, data))

    async def _announce_matches(self, stored: StoredIntent) -> None:
        """Tell each local group concerned about the best counterparts of an intent that
        opened or changed (both sides of a pair hear of it; nothing is agreed).

        A pair is told when it was never told (a new intent, or a change that lets it
        pass the filters or reach the best few), and again only when its score rose by
        ``BETTER_BY`` since; never twice at the same or a lower score. The store keeps
        the score each pair was told at, so this holds across restarts and races.
        """
        if self._events is None or stored.intent.state != "open":
            return
        now = self._clock.now()
        for match in await self._suggest(stored.intent, NOTIFIED_MATCHES):
            other = match.intent
            assert other.id is not None
            told, before = await self._store.claim_match_notice(
                stored.id, other.id, Decimal(f"{match.score:.4f}"), BETTER_BY, now
            )
            if not told:
                continue
            why = "; ".join(match.why)
            sides = [(stored.group_id, stored.intent, other)]
            slug = self._addresses.local_slug(other.group)
            group = await self._groups.get(slug) if slug else None
            if group is not None:
                sides.append((group.id, other, stored.intent))
            for group_id, mine, theirs in sides:
                if group_id is None or mine.id is None or theirs.id is None:
                    continue
                if before is None:
                    head = f"Suggested match (score {match.score:.2f})"
                    key = f"resources|match|{mine.id}|{theirs.id}"
                else:
                    head = f"Better match (score {match.score:.2f}, was {before:.2f})"
                    key = f"resources|match|{mine.id}|{theirs.id}|{match.score:.4f}"
                text = (f"{head} for {describe(mine)}: {describe(theirs)}, from {theirs.group}. "
                        f"Why: {why}. Answer it with intent {theirs.id}.")  # fmt: skip
                data = MatchSuggested(
                    intent_id=mine.id, other_intent_id=theirs.id, other_group=theirs.group,
                    score=f"{match.score:.4f}", text=text,
                )  # fmt: skip
                await self._events.record(GroupEvent(group_id, SOURCE, key, data))

    # ------------------------------------------------------------- helpers
    async def _restock(self, group_id: int, row: StoredAgreement) -> None:
        """Move the stock of one party: down for the provider, up for the receiver."""
        group = await self._groups.get_by_id(group_id)
        terms = row.terms
        if group is None or terms.resource is None:
            return
        me = self._addresses.actor(group.slug)
        giving = terms.provider == me
        intent = await self._store.get_intent(row.intent_id)
        name = intent.intent.name if intent else terms.resource.label
        current = await self._store.stock(group_id, terms.resource.key)
        try:
            after = stock_after(current, terms, name, giving=giving)
        except InvalidInput as exc:
            log.warning("stock not moved", extra={"agreement": row.id, "error": exc.message})
            return
        if after is not None:
            await self._store.set_stock(group_id, after, self._clock.now())

    async def _settle(self, intent_id: int) -> None:
        """An agreed intent whose agreements are all carried out is fulfilled."""
        stored = await self._store.get_intent(intent_id)
        if stored is None or stored.intent.state != "agreed":
            return
        rows = await self._store.agreements_of_intent(intent_id)
        live = [r for r in rows if not AGREEMENT.is_terminal(r.state) or r.state == "fulfilled"]
        if live and all(r.state == "fulfilled" for r in live):
            moved = await self._store.move_intent(intent_id, "fulfilled", self._clock.now())
            slug = self._addresses.local_slug(moved.intent.group)
            if slug is not None and moved.group_id is not None:
                await self._messenger.update(slug, moved)
                await self._tell(moved)

    async def _decide(
        self, group: Group, action: ActionKind, title: str, author: str, params: dict[str, Any]
    ) -> Proposal:
        if self._governance is None:
            raise RuntimeError("Resources.attach(governance) was not called")
        assert group.id is not None
        return await self._governance.propose(
            group.id, action=action, title=title, author=author, params={"resources": params}
        )

    async def _group(self, slug: str) -> Group:
        group = await self._groups.get(slug)
        if group is None:
            raise NotFound(f"no group {slug}")
        return group

    async def _intent(self, intent_id: int) -> StoredIntent:
        stored = await self._store.get_intent(intent_id)
        if stored is None:
            raise NotFound(f"no intent {intent_id}")
        return stored

    async def _target(self, reference: int | str) -> StoredIntent:
        if isinstance(reference, int) and not isinstance(reference, bool):
            return await self._intent(reference)
        if isinstance(reference, str) and reference.strip():
            text = reference.strip()
            if text.isdigit():
                return await self._intent(int(text))
            found = await self._store.intent_by_iri(text)
            if found is not None:
                return found
            raise NotFound(f"no intent {text} known here")
        raise InvalidInput("intent must be an intent id or a Proposal IRI", field="intent")

    async def _own(self, group: Group, agreement_id: int) -> StoredAgreement:
        row = await self._store.get_agreement(agreement_id)
        if row is None or row.group_id != group.id:
            raise NotFound(f"no agreement {agreement_id} in {group.slug}")
        return row


def _words(quantity: Any) -> str:
    if quantity is None or quantity.value is None:
        return ""
    return f"{quantity.value.normalize():f} {quantity.unit.name}"

"""Propagation: a group sends one of its announcements to the closest groups,
and each receiver applies its own feed rules.

Sending is a decision (action ``propagate`` in the group's control table);
receiving is the receiver's hand-written feed rules, judged by the domain
(:func:`imago_fed.domain.graph.feeds.accept`):

    request(slug, object, criteria) ── propagate decision ──> carry_out
        originate(object, origin=us) ─ plan(k closest matching the criteria)
        ─> send to each (a local group is handed the item here, a remote one
           gets an Announce carrying origin, path, hops, hop limit)

    receive(slug, item) ── feed rules, loop, dedupe, hop limit, rate ──>
        drop (reason logged by the caller) | hold (for moderators)
        | accept: boost to our followers, and when below the hop limit relay:
                  plan again from us with the path excluded, forwarded_by(us)

An offer or need (``request_intent``: one of the group's open intents) travels
the same way as an item of kind ``intent``. A receiver whose feed rules let it
in reads the Proposal from its origin *before* recording anything (unreachable
or malformed: dropped whole, with why) and, once the item is accepted (at once,
or released by a moderator), keeps it as a known remote intent, which matching
suggests to its groups' own offers and needs:

    receive(slug, item{kind: intent}) ── feed rules ──> read from the origin
        ── malformed: drop | record ── accept: keep the intent, boost, relay

Each item a group records (sent, accepted, held, released) is told to the other
networks as an ``item_received`` group event: the Matrix side shows it in the
group's announcements room (a held one with how to release it) and in the
personal feeds it matches.

No loop is possible even on a cycle of relations: the path travels with the
item and a group on it neither receives nor is sent the item again; a second
copy arriving by another path is a duplicate (one row per group and object).
"""

from __future__ import annotations

from typing import Any

from imago_fed.domain.errors import InvalidInput, NotFound
from imago_fed.domain.events import GroupEvent, ItemReceived
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.proposals import Proposal
from imago_fed.domain.governance.service import Governance
from imago_fed.domain.graph.feeds import FeedRules, Receiver, accept
from imago_fed.domain.graph.propagation import Item, PropagationCriteria, originate, plan
from imago_fed.domain.graph.proximity import MAX_K
from imago_fed.domain.groups import Group
from imago_fed.domain.ports.clock import Clock
from imago_fed.domain.ports.events import GroupEventLog
from imago_fed.domain.ports.groups import GroupRepository
from imago_fed.domain.ports.propagation import (
    CarriedIntents,
    PropagatedItem,
    PropagationSender,
    PropagationStore,
)
from imago_fed.domain.resources.intents import Intent
from imago_fed.services.proximity import Proximity
from imago_fed.services.relations import SOURCE, Relations

__all__ = ["Propagation", "item_json"]

# Candidates fetched per recipient wanted: the domain filters by the criteria
# and ranks, so the store hands it more than k.
_CANDIDATES_PER_SLOT = 4
# Related groups are candidates one hop away only: farther ones are reached by
# relays, one relation at a time, which is what the hop limit counts.
_RELATED_HOPS = 1
_MAX_OBJECT_ID = 2048


def item_json(found: PropagatedItem) -> dict[str, Any]:
    return {
        "id": found.id,
        **found.item.to_dict(),
        "verdict": found.verdict,
        "reason": found.reason,
        "received_at": found.received_at.isoformat(),
    }


class Propagation:
    def __init__(
        self,
        store: PropagationStore,
        proximity: Proximity,
        relations: Relations,
        sender: PropagationSender,
        groups: GroupRepository,
        clock: Clock,
        *,
        events: GroupEventLog | None = None,
        intents: CarriedIntents | None = None,
    ) -> None:
        self._store, self._proximity, self._relations = store, proximity, relations
        self._sender, self._groups, self._clock = sender, groups, clock
        self._events = events  # None: the other networks are not told (unit tests)
        self._intents = intents  # None: offers and needs neither sent nor taken
        self._governance: Governance | None = None

    def attach(self, governance: Governance) -> None:
        """Governance executes our effect and we open its proposals: wired after both exist."""
        self._governance = governance

    # -------------------------------------------------------- feed rules
    async def feed_rules(self, slug: str) -> FeedRules:
        group = await self._group(slug)
        assert group.id is not None
        return await self._store.feed_rules(group.id) or FeedRules()

    async def set_feed_rules(self, slug: str, data: object) -> FeedRules:
        group = await self._group(slug)
        assert group.id is not None
        rules = FeedRules.from_dict(data)
        await self._store.save_feed_rules(group.id, rules, self._clock.now())
        return rules

    async def items(self, slug: str) -> list[PropagatedItem]:
        group = await self._group(slug)
        assert group.id is not None
        return await self._store.items(group.id)

    # ------------------------------------------------------------ sending
    async def request(
        self, slug: str, object_id: object, criteria: object, *, author: str
    ) -> Proposal:
        """Open the ``propagate`` decision for one of the group's announcements, or
        one of its open offers or needs (by its Proposal id)."""
        group = await self._group(slug)
        assert group.id is not None
        if not isinstance(object_id, str) or not 0 < len(object_id) <= _MAX_OBJECT_ID:
            raise InvalidInput("object must be the id of an announced object", field="object")
        if criteria is not None and not isinstance(criteria, dict):
            raise InvalidInput("criteria must be an object", field="criteria")
        parsed = PropagationCriteria.from_dict(criteria or {})
        kind = "announcement"
        if not await self._store.announced(group.id, object_id):
            if self._intents is None or not await self._intents.is_open(group.id, object_id):
                raise InvalidInput(
                    f"{slug} has not announced {object_id}: only its own announcements and"
                    " open offers or needs propagate",
                    field="object",
                )
            kind = "intent"
        if self._governance is None:
            raise RuntimeError("Propagation.attach(governance) was not called")
        return await self._governance.propose(
            group.id, action=ActionKind.PROPAGATE, title=f"Propagate {object_id}",
            author=author,
            params={"propagation": {"object_id": object_id, "criteria": parsed.to_dict(),
                                    "kind": kind}},
        )  # fmt: skip

    async def request_intent(
        self, slug: str, intent_id: int, criteria: object, *, author: str
    ) -> Proposal:
        """Open the ``propagate`` decision for one of the group's open offers or needs."""
        if self._intents is None:
            raise NotFound("offers and needs are not wired in this process")
        object_id = await self._intents.proposal_of(slug, intent_id)
        return await self.request(slug, object_id, criteria, author=author)

    async def carry_out(self, proposal: Proposal) -> str | None:
        """The ``propagate`` effect (``ActionEffect``); None when not ours."""
        params = proposal.params.get("propagation")
        if proposal.action != ActionKind.PROPAGATE or not isinstance(params, dict):
            return None
        group = await self._groups.get_by_id(proposal.group_id)
        if group is None:
            return "the group is gone"
        assert group.id is not None
        object_id = params.get("object_id")
        if not isinstance(object_id, str):
            return "params.propagation needs object_id"
        criteria = PropagationCriteria.from_dict(params.get("criteria") or {})
        kind = params.get("kind", "announcement")
        if kind == "intent" and (
            self._intents is None or not await self._intents.is_open(group.id, object_id)
        ):
            return f"not propagated: {object_id} is no longer an open offer or need"
        profile = await self._proximity.profile(group.slug)
        # The item carries where it comes from and what it is about (the origin's
        # place and themes), so receivers' feed rules can match on them.
        item = originate(object_id, self._relations.actor(group.slug), criteria.hop_limit,
                         themes=profile.themes, place=profile.place,
                         kind=str(kind))  # fmt: skip
        sent = await self._store.record(group.id, item, "sent", "originated here",
                                        self._clock.now())  # fmt: skip
        if sent is not None:
            await self._tell(sent)
        recipients = await self._recipients(group, criteria, item.path)
        await self._send(group, item, recipients)
        return f"propagated to {len(recipients)} group(s)" + (
            ": " + ", ".join(recipients) if recipients else ""
        )

    async def _recipients(
        self, group: Group, criteria: PropagationCriteria, exclude: tuple[str, ...]
    ) -> list[str]:
        wanted = min(MAX_K, criteria.k * _CANDIDATES_PER_SLOT)
        hood = await self._proximity.neighbourhood(group, wanted, hops=_RELATED_HOPS)
        chosen = plan(
            hood.anchor, hood.candidates, criteria, relations=hood.relations,
            weights=hood.weights, exclude=exclude, kinds=self._relations.kinds,
        )  # fmt: skip
        return [s.group for s in chosen]

    async def _send(self, group: Group, item: Item, recipients: list[str]) -> None:
        """Local groups get the item handed over here; the rest over the network."""
        remote = []
        for recipient in recipients:
            slug = self._relations.local_slug(recipient)
            if slug is None:
                remote.append(recipient)
            else:
                await self.receive(slug, item)
        if remote:
            await self._sender.send(group.slug, item, remote)

    # ---------------------------------------------------------- receiving
    async def receive(self, slug: str, item: Item) -> str:
        """Judge an item under the group's feed rules; ``done`` or why it was dropped."""
        group = await self._group(slug)
        assert group.id is not None
        now = self._clock.now()
        rules = await self._store.feed_rules(group.id) or FeedRules()
        me = self._relations.actor(slug)
        seen = {item.object_id} if await self._store.seen(group.id, item.object_id) else set()
        profile = await self._proximity.profile(slug)
        receiver = Receiver.from_relations(me, await self._relations.active(group.id),
                                           place=profile.place,
                                           kinds=self._relations.kinds)  # fmt: skip
        rate = await self._store.rate_state(group.id)
        decision = accept(item, rules, seen, now, rate, receiver=receiver)
        if not decision.delivered:
            return decision.reason
        try:
            carried = await self._carried(item)  # read before anything is stored
        except InvalidInput as exc:
            return f"malformed proposal: {exc.message}"
        recorded = await self._store.record(group.id, item, decision.verdict, decision.reason, now)
        if recorded is None:  # another copy won the race
            return "duplicate: this object was already received"
        await self._store.save_rate_state(
            group.id, decision.rate_state.pruned(rules.rate_limit, now)
        )
        await self._tell(recorded)
        if decision.verdict == "accept":
            await self._keep(carried)
            await self._spread(group, item, may_forward=decision.may_forward)
        return "done"

    async def _carried(self, item: Item) -> tuple[Intent, str] | None:
        """The offer or need an intent item carries, read from its origin; None for an
        announcement, or one of ours. InvalidInput when it cannot be had whole."""
        if item.kind != "intent":
            return None
        if self._intents is None:
            raise InvalidInput("offers and needs are not taken here")
        return await self._intents.read(item)

    async def _keep(self, carried: tuple[Intent, str] | None) -> None:
        if carried is not None and self._intents is not None:
            await self._intents.keep(*carried)

    async def release(self, slug: str, item_id: int) -> PropagatedItem:
        """A moderator lets a held item through: boosted, and relayed if it may travel on."""
        group = await self._group(slug)
        found = await self._store.get(item_id)
        if found is None or found.group_id != group.id:
            raise NotFound(f"no propagated item {item_id} in {slug}")
        if found.verdict != "hold":
            raise InvalidInput(f"the item is {found.verdict}, not held", field="id")
        carried = await self._carried(found.item)  # read again: it may have changed
        await self._store.set_verdict(item_id, "released")
        await self._keep(carried)
        await self._spread(group, found.item, may_forward=found.item.may_travel_on)
        released = await self._store.get(item_id)
        assert released is not None
        await self._tell(released)
        return released

    async def _spread(self, group: Group, item: Item, *, may_forward: bool) -> None:
        """Boost to our followers; relay to our own closest groups while hops remain."""
        await self._sender.boost(group.slug, item)
        me = self._relations.actor(group.slug)
        if not may_forward or me in item.path:
            return
        forwarded = item.forwarded_by(me)
        # A relay knows only the hop limit of the origin's criteria: it sends to
        # the groups it is itself related to, never back along the path.
        criteria = PropagationCriteria(hop_limit=item.hop_limit)
        recipients = await self._recipients(group, criteria, forwarded.path)
        await self._send(group, forwarded, recipients)

    async def _tell(self, found: PropagatedItem) -> None:
        """Record the ``item_received`` event of a stored item (once per verdict)."""
        if self._events is None:
            return
        item, place = found.item, found.item.place
        data = ItemReceived(
            item_id=found.id, object_id=item.object_id, origin=item.origin,
            verdict=found.verdict, path=item.path, hop_limit=item.hop_limit,
            reason=found.reason, themes=tuple(sorted(item.themes)),
            place_lat=place.lat if place else None, place_lon=place.lon if place else None,
            place_label=place.label if place else "",
        )  # fmt: skip
        key = f"graph|item|{found.id}|{found.verdict}"
        await self._events.record(GroupEvent(found.group_id, SOURCE, key, data))

    async def _group(self, slug: str) -> Group:
        group = await self._groups.get(slug)
        if group is None:
            raise NotFound(f"no group {slug}")
        return group

"""Relations between groups: proposed by one, accepted by the other, each
under its own control table (action ``relate``).

Nothing changes on the admin's word alone: every change opens a ``relate``
proposal in the acting group, and only its adoption (at once under the
default do-ocracy, after a vote under a stricter table) carries it out.

    A: propose(target=B, kind)  ── relate decision in A ──> row (proposed) ── Offer ──> B
    B: offered()                ── row (proposed), nothing decided yet
    B: answer(accept)           ── relate decision in B ──> row (accepted) ── Accept ──> A
    A: answered()               ── row (accepted): the edge exists on both sides
    either: remove()            ── relate decision ──> row (removed|withdrawn) ── Undo ──> other
    other: undone()             ── row (removed|withdrawn)

When both groups live on this instance the rows of both sides are moved here
directly, with the same decisions on each side, and nothing goes on the wire.

Every move out of ``proposed`` or ``accepted`` is told to the other networks as
a ``relation_changed`` group event of the local group whose row moved (the
Matrix side links a sub-group's space into its parent's; for a group on another
instance the event carries the Matrix space its actor publishes).
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.events import GroupEvent, RelationChanged
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.proposals import Proposal
from imago_fed.domain.governance.service import Governance
from imago_fed.domain.graph.relations import DEFAULT_KINDS, Relation, RelationKinds, propose
from imago_fed.domain.groups import Group
from imago_fed.domain.ports.clock import Clock
from imago_fed.domain.ports.events import GroupEventLog
from imago_fed.domain.ports.federation import RemoteActors
from imago_fed.domain.ports.groups import GroupRepository
from imago_fed.domain.ports.relations import (
    GroupAddresses,
    RelationMessenger,
    RelationStore,
    StoredRelation,
)

__all__ = ["SOURCE", "Relations", "relation_json"]

SOURCE = "graph"  # the group event log's source for what the graph services record
LIVE = frozenset({"proposed", "accepted"})


def relation_json(stored: StoredRelation, me: str) -> dict[str, Any]:
    """What the admin API shows: the edge, and what the other group is to this one."""
    relation = stored.relation
    return {
        "id": stored.id,
        "source": relation.source,
        "target": relation.target,
        "kind": relation.kind,
        "other": stored.peer,
        "other_is": relation.kind_from(me) if relation.involves(me) else None,
        "proposed_by": relation.source,
        "state": relation.state,
        "offer_id": stored.offer_id,
        "updated_at": stored.updated_at.isoformat() if stored.updated_at else None,
    }


class Relations:
    """The relation use cases; ``attach`` gives it the governance it opens decisions in."""

    def __init__(
        self,
        store: RelationStore,
        addresses: GroupAddresses,
        messenger: RelationMessenger,
        groups: GroupRepository,
        clock: Clock,
        kinds: RelationKinds = DEFAULT_KINDS,
        *,
        events: GroupEventLog | None = None,
        actors: RemoteActors | None = None,
    ) -> None:
        self._store, self._addresses, self._messenger = store, addresses, messenger
        self._groups, self._clock, self.kinds = groups, clock, kinds
        self._events = events  # None: the other networks are not told (unit tests)
        # Remote groups as last fetched: their Matrix spaces go into the events,
        # so the Matrix side can link ours to theirs without reading the fediverse.
        self._actors = actors
        self._governance: Governance | None = None

    def attach(self, governance: Governance) -> None:
        """Governance executes our effects and we open its proposals: wired after both exist."""
        self._governance = governance

    # ------------------------------------------------------------- reads
    async def list(
        self, slug: str, states: frozenset[str] | None = None
    ) -> builtins.list[StoredRelation]:
        group = await self._group(slug)
        assert group.id is not None
        return await self._store.list(group.id, states)

    async def active(self, group_id: int) -> builtins.list[Relation]:
        """The group's accepted edges (what proximity and feed rules read)."""
        return [s.relation for s in await self._store.list(group_id, frozenset({"accepted"}))]

    @property
    def addresses(self) -> GroupAddresses:
        """How groups are named (other use cases resolve handles through it too)."""
        return self._addresses

    def actor(self, slug: str) -> str:
        return self._addresses.actor(slug)

    def local_slug(self, actor: str) -> str | None:
        return self._addresses.local_slug(actor)

    # ------------------------------------------------- decisions opened here
    async def propose(self, slug: str, target: str, kind: str, *, author: str) -> Proposal:
        """Open the ``relate`` decision to propose an edge: "<slug> is <target>'s <kind>"."""
        group = await self._group(slug)
        kind = self.kinds.validate(kind)
        if not isinstance(target, str) or not target.strip():
            raise InvalidInput("target must be @name@host or a group URL", field="target")
        me = self._addresses.actor(slug)
        other = await self._addresses.resolve_group(target.strip())
        relation = propose(me, other, kind, self.kinds)  # refuses a relation to oneself
        assert group.id is not None
        for existing in await self._store.list(group.id, LIVE):
            if existing.relation.key(self.kinds) == relation.key(self.kinds):
                raise Conflict(
                    f"a {kind} relation with {other} is already {existing.relation.state}"
                )
        return await self._decide(
            group, f"Relate to {other} ({kind})", author,
            {"op": "propose", "target": other, "kind": kind},
        )  # fmt: skip

    async def answer(self, slug: str, relation_id: int, *, accept: bool, author: str) -> Proposal:
        """Open the decision to accept (or reject) a relation another group offered us."""
        group = await self._group(slug)
        stored = await self._own(group, relation_id)
        if stored.relation.source == self._addresses.actor(slug):
            raise Conflict("this group proposed the relation: the other side answers it")
        if stored.relation.state != "proposed":
            raise Conflict(f"the relation is {stored.relation.state}, not proposed")
        verb = "Accept" if accept else "Reject"
        return await self._decide(
            group, f"{verb} the {stored.relation.kind} relation with {stored.peer}", author,
            {"op": "accept" if accept else "reject", "id": relation_id},
        )  # fmt: skip

    async def remove(self, slug: str, relation_id: int, *, author: str) -> Proposal:
        """Open the decision to remove an accepted relation (or withdraw our proposal)."""
        group = await self._group(slug)
        stored = await self._own(group, relation_id)
        state = stored.relation.state
        ours = stored.relation.source == self._addresses.actor(slug)
        if not (state == "accepted" or (state == "proposed" and ours)):
            raise Conflict(f"the relation is {state}: nothing to remove")
        return await self._decide(
            group, f"Remove the {stored.relation.kind} relation with {stored.peer}", author,
            {"op": "remove", "id": relation_id},
        )  # fmt: skip

    async def _decide(
        self, group: Group, title: str, author: str, params: dict[str, Any]
    ) -> Proposal:
        if self._governance is None:
            raise RuntimeError("Relations.attach(governance) was not called")
        assert group.id is not None
        return await self._governance.propose(
            group.id, action=ActionKind.RELATE, title=title, author=author,
            params={"relation": params},
        )  # fmt: skip

    # ------------------------------------------- the effect of a decision
    async def carry_out(self, proposal: Proposal) -> str | None:
        """The ``relate`` effect (``ActionEffect``); None when the proposal is not ours."""
        params = proposal.params.get("relation")
        if proposal.action != ActionKind.RELATE or not isinstance(params, dict):
            return None
        group = await self._groups.get_by_id(proposal.group_id)
        if group is None:
            return "the group is gone"
        op = params.get("op")
        if op == "propose":
            target, kind = params.get("target"), params.get("kind")
            if not isinstance(target, str) or not isinstance(kind, str):
                return "params.relation needs target (an actor id) and kind"
            return await self._offer(group, target, kind)
        relation_id = params.get("id")
        if isinstance(relation_id, bool) or not isinstance(relation_id, int):
            return "params.relation needs the id of a relation"
        stored = await self._own(group, relation_id)
        if op in ("accept", "reject"):
            return await self._answer(group, stored, accept=op == "accept")
        if op == "remove":
            return await self._remove(group, stored)
        return f"unknown relation operation {op!r}"

    async def _offer(self, group: Group, target: str, kind: str) -> str:
        assert group.id is not None
        me = self._addresses.actor(group.slug)
        relation = propose(me, target, kind, self.kinds)
        offer_id = self._messenger.offer_id(group.slug)
        now = self._clock.now()
        stored = await self._store.add(group.id, relation, target, offer_id, now)
        local = self._addresses.local_slug(target)
        if local is None:
            await self._messenger.offer(group.slug, stored)
            return f"relation offered to {target} ({kind})"
        other = await self._group(local)
        assert other.id is not None
        await self._store.add(other.id, relation, me, offer_id, now)
        return f"relation offered to local group {local} ({kind})"

    async def _answer(self, group: Group, stored: StoredRelation, *, accept: bool) -> str:
        state = "accepted" if accept else "rejected"
        now = self._clock.now()
        if self._addresses.local_slug(stored.peer) is None:
            answer_id = await self._messenger.answer(group.slug, stored, accept=accept)
            await self._move(stored.id, state, now, answer_id)
        else:
            for row in await self._store.by_offer(stored.offer_id):
                await self._move(row.id, state, now)
        return f"relation with {stored.peer} {state}"

    async def _remove(self, group: Group, stored: StoredRelation) -> str:
        state = "removed" if stored.relation.state == "accepted" else "withdrawn"
        now = self._clock.now()
        if self._addresses.local_slug(stored.peer) is None:
            undo_id = await self._messenger.withdraw(group.slug, stored)
            await self._move(stored.id, state, now, undo_id)
        else:
            for row in await self._store.by_offer(stored.offer_id):
                if row.relation.state == stored.relation.state:
                    await self._move(row.id, state, now)
        return f"relation with {stored.peer} {state}"

    # ------------------------------------------ what the other side sent us
    async def offered(self, proposer: str, target: str, kind: str, offer_id: str) -> str:
        """A remote group's Offer to one of ours: recorded as proposed, awaiting our answer.

        Returns the outcome the inbox records (``done`` or why it was ignored).
        """
        slug = self._addresses.local_slug(target)
        if slug is None:
            return "relationship offered to none of our groups"
        if kind not in self.kinds:
            return f"unknown relation kind {kind!r}"
        if await self._store.by_offer(offer_id):
            return "offer already recorded"
        group = await self._group(slug)
        assert group.id is not None
        try:
            relation = Relation(proposer, target, kind)
            await self._store.add(group.id, relation, proposer, offer_id, self._clock.now())
        except (InvalidInput, Conflict) as exc:
            return str(exc)
        return "done"

    async def answered(self, offer_id: str, actor: str, *, accept: bool, answer_id: str) -> str:
        """The other group accepted or rejected our Offer."""
        state = "accepted" if accept else "rejected"
        moved = 0
        for row in await self._store.by_offer(offer_id):
            if (
                row.peer == actor
                and row.relation.target == actor
                and row.relation.state == "proposed"
            ):
                await self._move(row.id, state, self._clock.now(), answer_id)
                moved += 1
        return "done" if moved else "answer to no relation we proposed"

    async def undone(self, offer_id: str, actor: str, undo_id: str) -> str:
        """The other group withdrew its Offer or removed the relation."""
        moved = 0
        for row in await self._store.by_offer(offer_id):
            if row.peer != actor or row.relation.state not in LIVE:
                continue
            state = "removed" if row.relation.state == "accepted" else "withdrawn"
            if state == "withdrawn" and row.relation.source != actor:
                state = "rejected"  # the target took back its answer before accepting
            await self._move(row.id, state, self._clock.now(), undo_id)
            moved += 1
        return "done" if moved else "undo of no relation we know"

    # ------------------------------------------------------------ helpers
    async def _move(
        self, relation_id: int, state: str, now: datetime, answer_id: str | None = None
    ) -> StoredRelation:
        """Move a row and tell the other networks (a ``relation_changed`` event)."""
        moved = await self._store.move(relation_id, state, now, answer_id)
        await self._tell(moved)
        return moved

    async def _tell(self, stored: StoredRelation, *, relink: bool = False) -> None:
        """Record the row's ``relation_changed`` event (once per state; a relink
        once per space the other group publishes)."""
        if self._events is None:
            return
        group = await self._groups.get_by_id(stored.group_id)
        if group is None:
            return
        me = self._addresses.actor(group.slug)
        other_slug = self._addresses.local_slug(stored.peer) or ""
        space, server = ("", "") if other_slug else await self._space_of(stored.peer)
        if relink and not other_slug and not space:
            return  # a group that publishes no space: nothing to link
        state = stored.relation.state
        data = RelationChanged(
            relation_id=stored.id, other=stored.peer,
            other_is=stored.relation.kind_from(me, self.kinds), state=state,
            other_slug=other_slug, other_space=space, other_space_server=server, relink=relink,
        )  # fmt: skip
        key = f"graph|relation|{stored.id}|{state}"
        if relink:
            key = f"graph|relation|{stored.id}|relink|{space or 'local'}"
        await self._events.record(GroupEvent(stored.group_id, SOURCE, key, data))

    async def relink(self, peer: str | None = None) -> bool:
        """Have the Matrix side link the spaces of accepted relations again.

        For the relations of ``peer`` when its actor was fetched (it may publish
        a space it did not when the relation was accepted), or for all of them
        once at start-up (relations accepted before their spaces were linked).
        Each relation is relinked once per space the other group publishes: the
        event's key says which, and the log keeps one event per key. Returns
        False: nothing more to do (a background worker's step).
        """
        for stored in await self._store.accepted(peer):
            await self._tell(stored, relink=True)
        return False

    async def _space_of(self, actor: str) -> tuple[str, str]:
        """The Matrix space a remote group publishes, as we last fetched its actor."""
        remote = None if self._actors is None else await self._actors.get_by_uri(actor)
        if remote is None or not remote.space or not remote.space_server:
            return "", ""
        return remote.space, remote.space_server

    async def _group(self, slug: str) -> Group:
        group = await self._groups.get(slug)
        if group is None:
            raise NotFound(f"no group {slug}")
        return group

    async def _own(self, group: Group, relation_id: int) -> StoredRelation:
        stored = await self._store.get(relation_id)
        if stored is None or stored.group_id != group.id:
            raise NotFound(f"no relation {relation_id} in {group.slug}")
        return stored

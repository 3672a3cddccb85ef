"""The effects of adopted decisions on the group's people and content, on both networks.

Registered with the executor (``services/execution.py``) by kind; each reads
its params, refuses bad ones before the proposal opens (``check``), and
answers what it did. Whatever network the vote came from, the effect is the
same path: the ``MemberNetwork`` of the person (admit, remove), or every
network (publish, take content down, enforce rights).

    admit          params.member            invited into the space and rooms /
                                            follow accepted (or recorded as accepted)
    remove_member  params.member            banned from the space and rooms with
                                            the reason / follower removed + Reject;
                                            the moderator role goes too, and the
                                            delegations they gave or were given
    publish        params.text (or title)   a Note from the Group to its followers
                                            and a message in `announcements`
    moderate       params.remove            a post taken down: the Matrix event
                   (object id or $event)    redacted, the group's re-shares undone
                                            (a Matrix member's Note deleted)
    delegate       params.parent, params.to the group's own vote in a parent group
                   (params.scope)           follows ``to``
    amend_table    params.changes.permissions
                                            the networks enforce the new rights

Effects are safe to run twice (derived ids and transaction ids, bans and
invites that are no-ops the second time), because a failed one is retried.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.delegation import Delegation
from imago_fed.domain.governance.proposals import Proposal
from imago_fed.domain.groups import Group
from imago_fed.domain.ports import GroupRepository
from imago_fed.services.membership import Membership

__all__ = ["register_member_effects"]


def _member(params: Mapping[str, Any]) -> str:
    member = params.get("member")
    if not isinstance(member, str) or not member.strip():
        raise InvalidInput("params.member must name the person (@user:server, @name@host)",
                           field="params")  # fmt: skip
    return member.strip()


class _Effect:
    def __init__(self, membership: Membership, groups: GroupRepository) -> None:
        self._membership, self._groups = membership, groups

    async def _group(self, group_id: int) -> Group:
        group = await self._groups.get_by_id(group_id)
        if group is None:
            raise NotFound("the group was deleted")
        return group

    @staticmethod
    def _reason(proposal: Proposal) -> str:
        return f"decision {proposal.id}: {proposal.title}"


class Admission(_Effect):
    async def check(self, group_id: int, action: ActionKind, params: Mapping[str, Any]) -> None:
        member = _member(params)
        self._membership.network_of(member)
        if await self._membership.is_member(group_id, member):
            raise Conflict(f"{member} is already a member", field="params")

    async def carry_out(self, proposal: Proposal) -> str | None:
        group = await self._group(proposal.group_id)
        member = _member(proposal.params)
        network = self._membership.network_of(member)
        done = await network.admit(group, member, reason=self._reason(proposal))
        return f"admitted {member} ({network.name}): {done}"


class Removal(_Effect):
    def __init__(self, membership: Membership, groups: GroupRepository, governance: Any) -> None:
        super().__init__(membership, groups)
        self._governance = governance

    async def check(self, group_id: int, action: ActionKind, params: Mapping[str, Any]) -> None:
        member = _member(params)
        self._membership.network_of(member)
        roster = {m["id"] for m in await self._membership.roster(await self._group(group_id))}
        if member not in roster and await self._membership.founder_id(member) not in roster:
            raise InvalidInput(f"{member} is not a member of the group", field="params")

    async def carry_out(self, proposal: Proposal) -> str | None:
        group = await self._group(proposal.group_id)
        member = _member(proposal.params)
        network = self._membership.network_of(member)
        done = await network.remove(group, member, reason=self._reason(proposal))
        # The id the roster, the roles and the delegations know (a handle resolved).
        known = await self._membership.founder_id(member)
        await self._membership.set_role(group, known, "member")  # no longer a moderator
        # Their vote no longer follows anyone and nobody's follows them.
        revoked = await self._governance.revoke_involving(proposal.group_id, {member, known})
        tail = f"; {revoked} delegation(s) revoked" if revoked else ""
        return f"removed {member} ({network.name}): {done}{tail}"


class Publication(_Effect):
    async def check(self, group_id: int, action: ActionKind, params: Mapping[str, Any]) -> None:
        text = params.get("text")
        if text is not None and (not isinstance(text, str) or not 0 < len(text) <= 5000):
            raise InvalidInput("params.text must be 1 to 5000 characters", field="params")

    async def carry_out(self, proposal: Proposal) -> str | None:
        group = await self._group(proposal.group_id)
        text = str(proposal.params.get("text") or proposal.title)
        done = []
        for network in self._membership.networks:
            done.append(await network.publish(group, f"proposal|{proposal.id}", text))
        return "published: " + "; ".join(done)


class ContentRemoval(_Effect):
    @staticmethod
    def _ref(params: Mapping[str, Any]) -> str | None:
        ref = params.get("remove")
        return ref.strip() if isinstance(ref, str) and ref.strip() else None

    async def check(self, group_id: int, action: ActionKind, params: Mapping[str, Any]) -> None:
        ref = params.get("remove")
        if ref is not None and self._ref(params) is None:
            raise InvalidInput("params.remove must be a post's id or a Matrix event id",
                               field="params")  # fmt: skip

    async def carry_out(self, proposal: Proposal) -> str | None:
        ref = self._ref(proposal.params)
        if ref is None:
            return None  # a block only (the executor's own effect)
        group = await self._group(proposal.group_id)
        done = []
        for network in self._membership.networks:
            outcome = await network.remove_content(group, ref, reason=self._reason(proposal))
            if outcome:
                done.append(outcome)
        if not done:
            raise NotFound(f"{ref} is no post of this group on any network")
        return "content removed: " + "; ".join(done)


class VoteDelegation(_Effect):
    """The group's own vote in a parent group (where it is a member) follows ``to``."""

    def __init__(
        self, membership: Membership, groups: GroupRepository, governance: Any,
        actor_of: Callable[[Group], str],
    ) -> None:  # fmt: skip
        super().__init__(membership, groups)
        self._governance, self._actor_of = governance, actor_of

    async def _parent(self, params: Mapping[str, Any]) -> Group:
        slug = params.get("parent")
        if not isinstance(slug, str) or not slug:
            raise InvalidInput("params.parent must name the parent group", field="params")
        parent = await self._groups.get(slug)
        if parent is None:
            raise NotFound(f"no group {slug!r} on this instance", field="params")
        return parent

    async def check(self, group_id: int, action: ActionKind, params: Mapping[str, Any]) -> None:
        await self._parent(params)
        if not isinstance(params.get("to"), str) or not params["to"]:
            raise InvalidInput("params.to must name the delegate", field="params")

    async def carry_out(self, proposal: Proposal) -> str | None:
        group = await self._group(proposal.group_id)
        parent = await self._parent(proposal.params)
        assert parent.id is not None
        scope = str(proposal.params.get("scope") or "*")
        to = str(proposal.params["to"])
        me = self._actor_of(group)
        await self._governance.delegate(parent.id, Delegation(me, to, scope))
        return f"the group's vote in {parent.slug} ({scope}) now follows {to}"


class RightsEnforcement(_Effect):
    async def carry_out(self, proposal: Proposal) -> str | None:
        changes = proposal.params.get("changes")
        if not isinstance(changes, dict) or not changes.get("permissions"):
            return None
        done = await self._membership.enforce(await self._group(proposal.group_id))
        return "rights enforced: " + ("; ".join(done) or "nothing to change on the networks")


def register_member_effects(
    executor: Any, membership: Membership, groups: GroupRepository, governance: Any,
    actor_of: Callable[[Group], str],
) -> None:  # fmt: skip
    """Register the membership effects with the executor, one name each."""
    executor.register(ActionKind.ADMIT, Admission(membership, groups), "admit")
    executor.register(
        ActionKind.REMOVE_MEMBER, Removal(membership, groups, governance), "remove_member"
    )
    executor.register(ActionKind.PUBLISH, Publication(membership, groups), "publish")
    executor.register(ActionKind.MODERATE, ContentRemoval(membership, groups), "remove_content")
    executor.register(
        ActionKind.DELEGATE, VoteDelegation(membership, groups, governance, actor_of), "delegate"
    )
    executor.register(ActionKind.AMEND_TABLE, RightsEnforcement(membership, groups), "rights")

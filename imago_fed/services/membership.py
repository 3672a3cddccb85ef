"""Membership use cases: invitations, the founder, the roster, roles and rights.

    create_invitation ──> a code (expiry, uses, who made it) and its link
    redeem(code, who) ──> unknown: NotFound · expired/revoked/used up: InvalidInput
                     ├──> table says ``invitations: admit`` ──> admitted now
                     └──> else an ``admit`` proposal (decided by the table)
    found(group, who) ──> moderator + admitted on their network (group creation)
    may(group, who, right) ──> None, or the reason a right is refused

What each network does (a Matrix invite, an accepted follow) is behind the
``MemberNetwork`` port; the decisions' effects on them are in
``services/member_effects.py``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.events import GroupEvent, MemberInvited, ModeratorsChanged
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.protocols import Democracy
from imago_fed.domain.governance.service import Governance
from imago_fed.domain.groups import Group
from imago_fed.domain.membership import ROLES, Invitation, Permissions, Right, member_network
from imago_fed.domain.ports import Clock, GroupEventLog, GroupRepository
from imago_fed.domain.ports.membership import MemberNetwork, MembershipStore

__all__ = ["Membership"]

SOURCE = "membership"
log = logging.getLogger(__name__)


class Membership:
    def __init__(
        self,
        store: MembershipStore,
        networks: Sequence[MemberNetwork],
        groups: GroupRepository,
        governance: Governance,
        events: GroupEventLog,
        clock: Clock,
        *,
        invite_url: Callable[[str], str],
        new_code: Callable[[], str] = lambda: secrets.token_urlsafe(9),
    ) -> None:
        self._store, self._networks, self._groups = store, list(networks), groups
        self._governance, self._events, self._clock = governance, events, clock
        self._invite_url, self._new_code = invite_url, new_code

    @property
    def networks(self) -> list[MemberNetwork]:
        return list(self._networks)

    def network_of(self, member_id: str) -> MemberNetwork:
        """The network a member id belongs to (InvalidInput when none is enabled for it)."""
        for network in self._networks:
            if network.recognises(member_id):
                return network
        kind = member_network(member_id)
        if kind == "matrix":
            raise InvalidInput("Matrix is not enabled on this instance", field="member")
        raise InvalidInput(
            f"{member_id!r} is neither @user:server nor @name@host nor an actor URL",
            field="member",
        )

    # ------------------------------------------------------------ invitations
    async def create_invitation(
        self, group: Group, *, created_by: str, max_uses: int = 1,
        expires_in: timedelta = timedelta(days=7),
    ) -> Invitation:  # fmt: skip
        assert group.id is not None
        Invitation.check_terms(max_uses, expires_in)
        now = self._clock.now()
        invitation = Invitation(
            code=self._new_code(), group_id=group.id, created_by=created_by[:300],
            created_at=now, expires_at=now + expires_in, max_uses=max_uses,
        )  # fmt: skip
        await self._store.add_invitation(invitation)
        return invitation

    def invitation_json(self, invitation: Invitation) -> dict[str, Any]:
        return {**invitation.to_dict(), "url": self._invite_url(invitation.code)}

    async def invitations(self, group: Group) -> list[Invitation]:
        assert group.id is not None
        return await self._store.invitations(group.id)

    async def revoke(self, group: Group, code: str) -> None:
        assert group.id is not None
        if not await self._store.revoke_invitation(group.id, code, self._clock.now()):
            raise NotFound(f"no invitation {code!r} to revoke in {group.slug}")

    async def _found(self, code: str) -> tuple[Invitation, Group]:
        found = await self._store.invitation(code.strip())
        group = await self._groups.get_by_id(found.group_id) if found else None
        if found is None or group is None:
            raise NotFound("unknown invitation code", field="code")
        return found, group

    async def invitation(self, code: str) -> tuple[Invitation, Group]:
        """A usable invitation and its group (NotFound / InvalidInput otherwise)."""
        found, group = await self._found(code)
        refusal = found.refusal(self._clock.now())
        if refusal:
            raise InvalidInput(refusal, field="code")
        return found, group

    async def redeem(self, code: str, member_id: str) -> str:
        """Use an invitation for ``member_id``; the answer says what happened.

        Someone already in the group is told so (whatever the code's state), and
        nothing is counted; a person's id is checked (a handle resolved) before
        a use is."""
        invitation, group = await self._found(code)
        assert group.id is not None
        network = self.network_of(member_id.strip())
        member_id = await self._canonical(network, member_id.strip())  # a handle: its URL
        if await self._store.is_member(group.id, member_id):
            return f"{member_id} is already a member of {group.name}."
        refusal = invitation.refusal(self._clock.now())
        if refusal:
            raise InvalidInput(refusal, field="code")
        table = await self._governance.table(group.id)
        now = self._clock.now()
        mode = "admitted" if table.invitations_admit else "admit proposal"
        if await self._store.use_invitation(invitation.code, member_id, mode, now) is None:
            raise InvalidInput(
                "this invitation cannot be used again (used up, or used by you already)",
                field="code",
            )
        if table.invitations_admit:
            done = await network.admit(group, member_id, reason=f"invitation {invitation.code}")
            return f"Welcome to {group.name}: {done}."
        proposal = await self._governance.propose(
            group.id, action=ActionKind.ADMIT, title=f"Admit {member_id} (invited)",
            author=f"invitation:{invitation.created_by}",
            params={"member": member_id, "invitation": invitation.code},
        )  # fmt: skip
        if proposal.state == "executed":
            return f"Welcome to {group.name}: {proposal.result.get('executed', 'admitted')}."
        return (
            f"Your request to join {group.name} is proposal {proposal.id} "
            f"({proposal.protocol.name}); the members decide."
        )

    # -------------------------------------------------------- founder, roles
    async def founder_id(self, founder: str) -> str:
        """The founder's id as the network knows it (a handle resolved), checked
        before the group is created so a bad one creates nothing."""
        network = self.network_of(founder.strip())
        return await self._canonical(network, founder.strip())

    async def found(self, group: Group, founder: str) -> dict[str, str]:
        """The founder given at creation: moderator, and admitted on their network.

        The role is stored first; if the network fails (down, or a fediverse
        peer that cannot be reached now), a ``member_invited`` event makes that
        network's log reader try again (with its backoff), and the answer says so.
        """
        assert group.id is not None
        network = self.network_of(founder)
        await self.set_role(group, founder, "moderator")
        reason = "founder of the group"
        try:
            done = await network.admit(group, founder, reason=reason)
        except (InvalidInput, Conflict):
            raise
        except Exception as exc:  # slow or down (a peer that cannot be reached): retried
            error = f"{type(exc).__name__}: {exc}"
            log.warning("founder not admitted yet", extra={"group": group.slug, "error": error})
            await self._events.record(
                GroupEvent(group.id, SOURCE, f"founder|{group.id}|{founder}",
                           MemberInvited(founder, reason))
            )  # fmt: skip
            done = f"queued, to be retried ({error})"
        return {"id": founder, "role": "moderator", "admitted": done}

    async def _canonical(self, network: MemberNetwork, member_id: str) -> str:
        resolve = getattr(network, "resolve", None)
        return await resolve(member_id) if resolve is not None else member_id

    async def set_role(self, group: Group, member_id: str, role: str) -> bool:
        """Make someone a moderator or a plain member; False when it was so already.
        Matrix power levels follow (a moderators_changed event)."""
        assert group.id is not None
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
        now = self._clock.now()
        changed = await self._store.set_moderator(group.id, member_id, role == "moderator", now)
        if changed:
            await self._events.record(
                GroupEvent(
                    group.id, SOURCE, f"roles|{group.id}|{member_id}|{role}|{now.isoformat()}",
                    ModeratorsChanged(),
                )
            )  # fmt: skip
        return changed

    async def roster(self, group: Group) -> list[dict[str, Any]]:
        assert group.id is not None
        return await self._store.roster(group.id)

    async def is_member(self, group_id: int, member_id: str) -> bool:
        return await self._store.is_member(group_id, member_id)

    # ------------------------------------------------------------------ rights
    async def may(self, group_id: int, member_id: str, right: Right) -> str | None:
        """None when ``member_id`` has ``right`` in the group, else why not."""
        permissions = (await self._governance.table(group_id)).permissions
        if permissions.level(right) == "anyone":
            return None
        return permissions.refusal(
            right,
            member=await self._store.is_member(group_id, member_id),
            moderator=await self._store.is_moderator(group_id, member_id),
        )

    async def may_propose(self, group_id: int, member_id: str, action: ActionKind) -> str | None:
        """Opening a proposal takes ``propose``; one the table puts to a secret
        ballot opens an election, which takes ``elect`` as well."""
        refusal = await self.may(group_id, member_id, Right.PROPOSE)
        protocol = (await self._governance.table(group_id)).protocol(action)
        if refusal is None and isinstance(protocol, Democracy) and protocol.secret:
            refusal = await self.may(group_id, member_id, Right.ELECT)
        return refusal

    async def permissions(self, group_id: int) -> Permissions:
        return (await self._governance.table(group_id)).permissions

    async def enforce(self, group: Group) -> list[str]:
        """Make every network enforce the group's rights now (Matrix power levels)."""
        assert group.id is not None
        permissions = await self.permissions(group.id)
        done = []
        for network in self._networks:
            outcome = await network.apply_permissions(group, permissions)
            if outcome:
                done.append(outcome)
        return done

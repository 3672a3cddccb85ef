"""The bot's answers to ``!imago ...`` in a group's rooms.

    !imago help | info                      about the group (no governance needed)
    !imago table | proposals | propose ...  the group's decisions (governance)
    !imago vote | delegate | revoke | link  a member's vote
    !imago convene | speak | done | move    assemblies (in an assembly's room, that
           second | next | adjourn          one; elsewhere the group's current one)
    !imago release <item>                   a moderator publishes a held announcement
    !imago status                           the costs and who chips in; for the
                                            instance admins ([matrix] admins) the
                                            health checks too
    !imago feed ...                         personal feeds (feed_rooms.py)

Answers are text; the bridge posts them as a notice in the room asked in.
A domain error (a vote refused, an unknown proposal) is an answer too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from imago_fed.domain.costs import coverage_sentence
from imago_fed.domain.errors import DomainError
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.delegation import Delegation
from imago_fed.domain.governance.proposals import ballot_from_numbers
from imago_fed.domain.groups import Group
from imago_fed.domain.ports.bridge import ChatMembers
from imago_fed.domain.ports.federation_reads import FederationReads
from imago_fed.matrix.assemblies import assembly_of_kind
from imago_fed.matrix.ids import MatrixIds
from imago_fed.matrix.resource_commands import RESOURCE_HELP, RESOURCE_VERBS, resource_command
from imago_fed.services.assemblies import Assemblies

__all__ = ["HELP", "BotCommands", "FeedCommands", "StatusSources"]

HELP = (
    "Imago bridges this group between Matrix and the fediverse.\n"
    "!imago help: this message\n"
    "!imago info: the group's handle, followers and members\n"
    "!imago table: how this group decides each kind of action\n"
    "!imago proposals: the open proposals\n"
    "!imago propose <action> <title>: open a proposal (actions: see !imago table)\n"
    "!imago vote <proposal> <numbers>: vote (option numbers, or grades/ranks)\n"
    "!imago delegate <@user:server | group:slug> [scope]: delegate your vote\n"
    "!imago revoke [scope]: take your delegation back\n"
    "!imago link <fediverse actor URL>: the same person on both sides votes once\n"
    "   (then post '!link @you:server' to the group from that fediverse account)\n"
    "!imago convene [at=2027-01-31T18:00] [turn=180] [quorum=3] [vote=600] "
    "<title> | <item> | <item>: call an assembly (times UTC)\n"
    "!imago speak: ask for the floor · !imago done: end your turn\n"
    "!imago move <motion> · !imago second <n>: motions, voted as proposals\n"
    "!imago next · !imago adjourn: the chair moves on, or closes with minutes"
    "!imago release <number>: publish an announcement held for moderators\n"
    "!imago status: the instance's costs and who chips in (admins: its health too)\n"
    "!imago feed help: your personal feeds of announcements\n"
    "!imago invite [uses] [days]: an invitation code and link (members)\n"
    "!imago join <code>: use an invitation\n"
    "!imago members: who is in the group, with their role\n"
    "Offers and needs: " + RESOURCE_HELP
)
GOVERNANCE_VERBS = ("vote", "table", "proposals", "propose", "delegate", "revoke", "link")
ASSEMBLY_VERBS = ("convene", "speak", "done", "move", "second", "next", "adjourn")
CONVENE_OPTIONS = {"at": "starts_at", "turn": "turn_seconds", "quorum": "quorum",
                   "vote": "vote_seconds"}  # fmt: skip
MEMBERSHIP_VERBS = ("invite", "members")  # join: answer_anywhere (the code names the group)


@dataclass(frozen=True)
class StatusSources:
    """What ``!imago status`` reads: the dashboard's checks, the costs, where to see more."""

    board: Any  # services.status.StatusBoard
    costs: Any  # services.costs.Costs
    dashboard_url: str  # the admin dashboard
    public_url: str | None = None  # /status, when the instance publishes it


class FeedCommands(Protocol):
    async def command(self, sender: str, args: list[str]) -> str:
        """Answer ``!imago feed <args>`` for ``sender``."""
        ...


class BotCommands:
    def __init__(
        self,
        ids: MatrixIds,
        members: ChatMembers,
        reads: FederationReads,
        *,
        handle_domain: str,
        governance: Any = None,
        assemblies: Assemblies | None = None,
        propagation: Any = None,
        status: StatusSources | None = None,
        feeds: FeedCommands | None = None,
        admins: frozenset[str] = frozenset(),
    ) -> None:
        self._ids, self._members, self._reads = ids, members, reads
        self._handle_domain = handle_domain
        self._governance = governance  # proposals, votes; None: help and info only
        self._assemblies = assemblies
        self.membership: Any = None  # invitations, roster, rights (services/membership.py)
        self.resources: Any = None  # offers, needs, agreements (services/resources.py)
        self._propagation = propagation  # releasing held announcements
        self._status, self._feeds, self._admins = status, feeds, admins

    def attach(
        self,
        *,
        propagation: Any = None,
        status: StatusSources | None = None,
        feeds: FeedCommands | None = None,
    ) -> None:
        """Add the services wired after the bridge (those left None stay as they are)."""
        self._propagation = propagation or self._propagation
        self._status = status or self._status
        self._feeds = feeds or self._feeds

    async def answer_anywhere(self, sender: str, text: str) -> str | None:
        """The commands that need no group (any room of ours); None for the others."""
        words = text.split()
        verb = words[1] if len(words) > 1 else "help"
        if verb == "status" and self._status is not None:
            return await self._status_command(sender)
        if verb == "join" and self.membership is not None:
            if len(words) < 3:
                return "usage: !imago join <invitation code>"
            try:
                return f"{sender}: {await self.membership.redeem(words[2], sender)}"
            except DomainError as exc:
                return f"{sender}: {exc.message}"
        if verb == "feed" and self._feeds is not None:
            try:
                return await self._feeds.command(sender, words[2:])
            except DomainError as exc:
                return f"{sender}: {exc.message}"
        return None

    async def answer(self, group: Group, sender: str, text: str, room_kind: str = "") -> str:
        words = text.split()
        verb = words[1] if len(words) > 1 else "help"
        if verb in ASSEMBLY_VERBS and self._assemblies is not None:
            try:
                return await self._assembly_command(group, sender, verb, text, room_kind)
            except DomainError as exc:
                return f"{sender}: {exc.message}"
        anywhere = await self.answer_anywhere(sender, text)
        if anywhere is not None:
            return anywhere
        if verb in MEMBERSHIP_VERBS and self.membership is not None:
            try:
                return await self._membership_command(group, sender, verb, words[2:])
            except DomainError as exc:
                return f"{sender}: {exc.message}"
        if verb in RESOURCE_VERBS and self.resources is not None:
            return await resource_command(
                self.resources, group, sender, verb, words[2:], self._propagation
            )
        if verb == "release" and self._propagation is not None:
            return await self._release_command(group, sender, words[2:])
        if verb in GOVERNANCE_VERBS and self._governance is not None:
            try:
                return await self._governance_command(group, sender, verb, words[2:], text)
            except DomainError as exc:
                return f"{sender}: {exc.message}"
        if verb == "info":
            assert group.id is not None
            followers = await self._reads.follower_count(group.id)
            members = len(await self._members.members(group.id))
            return (
                f"{group.name}: @{group.slug}@{self._handle_domain} in the fediverse, "
                f"{self._ids.space_alias(group.slug)} in Matrix. "
                f"{followers} fediverse followers, {members} Matrix members."
            )
        return HELP

    async def _governance_command(
        self, group: Group, sender: str, verb: str, args: list[str], text: str
    ) -> str:
        assert group.id is not None and self._governance is not None
        if verb == "vote":
            return await self._vote_command(sender, args)
        if verb == "table":
            table = await self._governance.table(group.id)
            return "\n".join(f"{k}: {v['protocol']}" for k, v in table.to_dict().items())
        if verb == "proposals":
            found = await self._governance.open_proposals(group.id)
            lines = [
                f"{p.id}. {p.title} ({p.action.value}, until {p.closes_at:%Y-%m-%d %H:%M} UTC)"
                for p in found
            ]
            return "\n".join(lines) or "No open proposal."
        if verb == "propose":
            if len(args) < 2:
                return "usage: !imago propose <action> <title>"
            try:
                action = ActionKind(args[0])
            except ValueError:
                return f"unknown action {args[0]!r}; see !imago table"
            title = text.split(None, 3)[3] if len(text.split(None, 3)) > 3 else ""
            if self.membership is not None:
                refusal = await self.membership.may_propose(group.id, sender, action)
                if refusal:
                    return f"{sender}: {refusal}"
            proposal = await self._governance.propose(
                group.id, action=action, title=title, author=sender
            )
            return f"Proposal {proposal.id} is {proposal.state}: {proposal.title}"
        if verb == "link":
            if not args or not args[0].startswith(("https://", "http://")):
                return "usage: !imago link <your fediverse actor URL>"
            return await self._governance.claim_identity("matrix", sender, args[0])
        if verb == "delegate":
            if not args:
                return "usage: !imago delegate <@user:server | group:slug> [scope]"
            scope = args[1] if len(args) > 1 else "*"
            await self._governance.delegate(group.id, Delegation(sender, args[0], scope))
            return f"{sender}: your vote ({scope}) now follows {args[0]}."
        await self._governance.revoke(group.id, sender, args[0] if args else "*")
        return f"{sender}: delegation revoked."

    async def _assembly_command(
        self, group: Group, sender: str, verb: str, text: str, room_kind: str
    ) -> str:
        assert group.id is not None and self._assemblies is not None
        rest = text.split(None, 2)[2] if len(text.split(None, 2)) > 2 else ""
        if verb == "convene":
            return await self._convene(group.id, sender, rest)
        assemblies = self._assemblies
        here = assembly_of_kind(room_kind)
        assembly_id = here if here is not None else (await assemblies.current(group.id)).id
        assert assembly_id is not None
        if verb == "speak":
            said = await assemblies.speak(assembly_id, sender)
        elif verb == "done":
            said = await assemblies.done(assembly_id, sender)
        elif verb == "move":
            said = await assemblies.move(assembly_id, sender, rest)
        elif verb == "second":
            if not rest.strip().isdigit():
                return "usage: !imago second <motion number>"
            said = await assemblies.second(assembly_id, sender, int(rest.strip()))
        elif verb == "next":
            said = await assemblies.next_item(assembly_id, sender)
        else:
            said = await assemblies.adjourn(assembly_id, sender)
        # The chair's words reach the assembly's room through the event log;
        # elsewhere the member gets them as the answer.
        return "OK." if here is not None else "\n".join(said) or "OK."

    async def _convene(self, group_id: int, sender: str, rest: str) -> str:
        assert self._assemblies is not None
        options: dict[str, Any] = {}
        words = rest.split()
        while words and "=" in words[0] and words[0].split("=")[0] in CONVENE_OPTIONS:
            key, value = words.pop(0).split("=", 1)
            options[CONVENE_OPTIONS[key]] = value
        title, *agenda = [part.strip() for part in " ".join(words).split("|")]
        if not title or not agenda:
            return "usage: !imago convene [at=...] [turn=...] <title> | <item> | <item>"
        try:
            when = options.pop("starts_at", None)
            starts_at = _utc(when) if when else None  # None: now
            numbers = {k: int(v) for k, v in options.items()}
        except ValueError:
            return "at= is a date and time (2027-01-31T18:00), the others whole numbers"
        proposal = await self._assemblies.convene(
            group_id, sender, title=title, agenda=agenda, starts_at=starts_at,
            turn_seconds=numbers.get("turn_seconds", 180), quorum=numbers.get("quorum", 1),
            vote_seconds=numbers.get("vote_seconds", 600),
        )  # fmt: skip
        if proposal.state == "executed":
            return f"Assembly \u201c{title}\u201d convened (proposal {proposal.id})."
        return f"Proposal {proposal.id} to convene \u201c{title}\u201d is {proposal.state}."

    async def _membership_command(
        self, group: Group, sender: str, verb: str, args: list[str]
    ) -> str:
        assert group.id is not None
        if verb == "members":
            roster = await self.membership.roster(group)
            lines = [f"{m['id']} ({m['network']}, {m['role']}, since {m['since'][:10]})"
                     for m in roster]  # fmt: skip
            return "\n".join(lines) or "No member yet."
        if not await self.membership.is_member(group.id, sender):
            return f"{sender}: only members of the group invite"
        numbers = [int(a) for a in args[:2] if a.isdigit()]
        uses = numbers[0] if numbers else 1
        days = numbers[1] if len(numbers) > 1 else 7
        invitation = await self.membership.create_invitation(
            group, created_by=sender, max_uses=uses, expires_in=timedelta(days=days)
        )
        shown = self.membership.invitation_json(invitation)
        return (
            f"Invitation {shown['code']} ({uses} use(s), until {shown['expires_at'][:16]} UTC): "
            f"{shown['url']} or !imago join {shown['code']}"
        )

    async def _vote_command(self, sender: str, args: list[str]) -> str:
        """``!imago vote <proposal> <numbers>``: option numbers (1-based), or for
        Majority Judgment / Schulze one grade or rank per option."""
        if not args or not all(a.isdigit() for a in args):
            return "usage: !imago vote <proposal number> <numbers...>"
        proposal = await self._governance.get(int(args[0]))
        ballot = ballot_from_numbers(proposal, [int(a) for a in args[1:]])
        outcome = await self._governance.vote(proposal.id, sender, ballot, network="matrix")
        if outcome == "counted":
            return f"{sender}: your vote on proposal {proposal.id} is counted."
        return f"{sender}: your vote on proposal {proposal.id} was not counted: {outcome}."

    async def _release_command(self, group: Group, sender: str, args: list[str]) -> str:
        """``!imago release <item>``: a moderator lets a held announcement through."""
        assert group.id is not None
        if len(args) != 1 or not args[0].isdigit():
            return "usage: !imago release <number of the held announcement>"
        if sender not in self._admins and not await self._reads.is_moderator(group.id, sender):
            return f"{sender}: only a moderator of {group.name} may release an announcement."
        try:
            released = await self._propagation.release(group.slug, int(args[0]))
        except DomainError as exc:
            return f"{sender}: {exc.message}"
        return (
            f"Announcement {released.id} released by {sender}: {group.name} boosts "
            f"{released.item.object_id} to its followers."
        )

    async def _status_command(self, sender: str) -> str:
        """Costs for everyone; each health check for the instance's admins."""
        assert self._status is not None
        lines = []
        if sender in self._admins:
            checks = await self._status.board.checks()
            overall = max((c.level for c in checks), default=None)
            lines.append(f"Health: {overall.name if overall is not None else 'unknown'}")
            lines += [f"- {c.name}: {c.level.name}. {c.sentence}" for c in checks]
            lines.append(f"Dashboard: {self._status.dashboard_url}")
        view = await self._status.costs.view()
        lines.append(coverage_sentence(view.coverage))
        if self._status.public_url:
            lines.append(f"Status page: {self._status.public_url}")
        return "\n".join(lines)


def _utc(text: str) -> datetime:
    """A date and time as typed; without a zone, UTC."""
    when = datetime.fromisoformat(text)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)

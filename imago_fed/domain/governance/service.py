"""The governance use cases: proposals opened, voted on, decided, executed.

Every network reaches the same rules through these calls: the admin API and
CLI, the Matrix bot and polls, fediverse replies and poll votes. What each
network must show (a Question, a Matrix poll, the result) is told through
the group event log (proposal_opened / proposal_counts / proposal_closed).

    create ──> open (closes_at = now + duration/window)
      doocracy: adopted and executed at once; a challenge opens a new
                proposal under the fallback protocol
    vote   ──> validated (open, member, valid ballot) ──> counted or logged
               with the reason it was not
    tick   ──> decide() each open proposal ──> closed / adopted / rejected /
               expired ──> executed when adopted ──> proposal_closed event
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.events import (
    GroupEvent,
    ProposalClosed,
    ProposalCounts,
    ProposalFacts,
    ProposalOpened,
)
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.delegation import (
    Delegation,
    ResolvedBallot,
    check_new_delegation,
)
from imago_fed.domain.governance.proposals import Outcome, Proposal, decide, options_for, transition
from imago_fed.domain.governance.protocols import Consensus, Democracy, Doocracy, Oligarchy
from imago_fed.domain.governance.table import ControlTable, default_table, parse_changes
from imago_fed.domain.ports.clock import Clock
from imago_fed.domain.ports.events import GroupEventLog
from imago_fed.domain.ports.governance import ActionExecutor, GovernanceStore

__all__ = ["Governance"]

log = logging.getLogger(__name__)
SOURCE = "governance"
# A do-ocracy act is concluded by its proposer the moment it opens (``propose``).
# The ticker, running in another task, would otherwise find it open in between
# and conclude it too: one of the two then fails on the moved row, and the
# proposer's caller sees an error for an act that was carried out. The ticker
# takes one up only once this long has passed: a proposer that stopped midway.
_PROPOSER_GRACE = timedelta(minutes=1)
CountChoices = Callable[[str, Sequence[str], Sequence[ResolvedBallot]], tuple[int | None, Any]]


class Governance:
    def __init__(
        self,
        store: GovernanceStore,
        events: GroupEventLog,
        executor: ActionExecutor,
        clock: Clock,
        count_choices: CountChoices,
    ) -> None:
        self._store, self._events, self._executor = store, events, executor
        self._clock, self._count = clock, count_choices

    # ------------------------------------------------------------- table
    async def table(self, group_id: int) -> ControlTable:
        return await self._store.table(group_id) or default_table()

    # --------------------------------------------------------- proposals
    async def propose(
        self,
        group_id: int,
        *,
        action: ActionKind,
        title: str,
        author: str,
        options: Sequence[str] = (),
        params: Mapping[str, Any] | None = None,
        topics: Sequence[str] = (),
        duration: timedelta | None = None,
    ) -> Proposal:
        """Open a proposal under the protocol the table names for ``action``."""
        title = title.strip()
        if not title or len(title) > 300:
            raise InvalidInput("title must be 1 to 300 characters", field="title")
        params = dict(params or {})
        if action == ActionKind.AMEND_TABLE:
            try:
                parse_changes(params.get("changes", {}))
            except ValueError as exc:
                raise InvalidInput(str(exc), field="params") from exc
            if not params.get("changes"):
                raise InvalidInput("amend_table needs params.changes", field="params")
        await self._executor.check(group_id, action, params)
        protocol = (await self.table(group_id)).protocol(action)
        if options and not isinstance(protocol, Democracy):
            raise InvalidInput("only a democratic vote chooses among options", field="options")
        if len(set(options)) != len(options) or len(options) == 1 or len(options) > 20:
            raise InvalidInput("options must be 2 to 20 distinct names", field="options")
        if duration is not None and not timedelta(0) < duration <= timedelta(days=60):
            raise InvalidInput("duration must be positive and at most 60 days", field="duration")
        now = self._clock.now()
        span = duration or _span(protocol)
        draft = Proposal(
            group_id=group_id, action=action, title=title, protocol=protocol,
            options=options_for(protocol, options), author=author, created_at=now,
            params=params, topics=tuple(topics),
        )  # fmt: skip
        stored = await self._store.add(draft)
        opened, record = transition(
            stored, "open", by=author, at=now, opened_at=now, closes_at=now + span
        )
        await self._store.save(opened, record)
        await self._tell(opened, ProposalOpened)
        if isinstance(protocol, Doocracy):  # the act happens now, open to challenge
            return await self._conclude(opened, Outcome("adopted", {"doocracy": True}), now)
        return opened

    async def get(self, proposal_id: int) -> Proposal:
        proposal = await self._store.get(proposal_id)
        if proposal is None:
            raise NotFound(f"no proposal {proposal_id}")
        return proposal

    async def claim_identity(self, side: str, matrix_user: str, actor_uri: str) -> str:
        """One person, two accounts: each side claims the other; both claims link them,
        so they vote once (their latest vote, from either side, counts)."""
        if await self._store.claim(side, matrix_user, actor_uri, self._clock.now()):
            return f"{matrix_user} and {actor_uri} are now linked: they vote as one."
        other = "fediverse" if side == "matrix" else "Matrix"
        return f"claim recorded; confirm it from the {other} account to link them."

    async def members(self, group_id: int, as_of: Any = None) -> list[str]:
        """Who may vote and propose: members on every network, linked accounts once
        (``as_of`` a time: those who were members already then)."""
        return await self._store.members(group_id, as_of)

    async def open_proposals(self, group_id: int) -> list[Proposal]:
        return [p for p in await self._store.open_proposals() if p.group_id == group_id]

    async def list_proposals(self, group_id: int, state: str | None = None) -> list[Proposal]:
        """The group's proposals, newest first, optionally only those in ``state``."""
        return await self._store.list(group_id, state)

    async def transitions(self, proposal_id: int) -> list[dict[str, Any]]:
        """The proposal's state changes, oldest first (who moved it, when, why)."""
        return await self._store.transitions(proposal_id)

    async def vote_log(self, proposal_id: int) -> list[dict[str, Any]]:
        """Every vote received on the proposal, counted or not, with the reason."""
        return await self._store.vote_log(proposal_id)

    async def link_identities(self, matrix_user: str, actor_uri: str) -> None:
        """Link a Matrix account and a fediverse account as one person (an admin vouches)."""
        await self._store.link(matrix_user, actor_uri, self._clock.now())

    # ------------------------------------------------------------- votes
    async def vote(
        self,
        proposal_id: int,
        voter: str,
        ballot: Sequence[int],
        *,
        network: str,
        add_to_previous: bool = False,
    ) -> str:
        """Record a vote; the answer says whether it counts, and if not, why.

        ``add_to_previous``: approval votes that arrive one option at a time
        (Mastodon sends one activity per chosen option) add up.
        """
        proposal = await self.get(proposal_id)
        voter = await self._store.canonical(voter)
        ballot = tuple(int(b) for b in ballot)
        if add_to_previous:
            previous = (await self._store.ballots(proposal_id)).get(voter, ())
            ballot = tuple(sorted(set(previous) | set(ballot)))
        now = self._clock.now()
        reason = await self._refusal(proposal, voter, ballot, now)
        await self._store.record_vote(
            proposal_id, voter, ballot, network, counted=reason is None, reason=reason or "",
            at=now,
        )  # fmt: skip
        if reason is not None:
            return reason
        if proposal.state == "executed" and isinstance(proposal.protocol, Doocracy):
            await self._challenge(proposal, voter, now)
            return "challenge recorded: the act goes to a vote"
        await self._tell(proposal, ProposalCounts)
        return "counted"

    async def _refusal(
        self, proposal: Proposal, voter: str, ballot: tuple[int, ...], now: Any
    ) -> str | None:
        doocracy_window = (
            isinstance(proposal.protocol, Doocracy)
            and proposal.state == "executed"
            and proposal.opened_at is not None
            and now < proposal.opened_at + proposal.protocol.window
        )
        if isinstance(proposal.protocol, Democracy) and proposal.protocol.secret:
            return "this is a secret ballot: vote with your credential (imago-fed ballot)"
        if proposal.state != "open" and not doocracy_window:
            return f"the proposal is {proposal.state}"
        if proposal.closes_at is not None and now >= proposal.closes_at and not doocracy_window:
            return "voting has ended"
        if voter not in await self._store.members(proposal.group_id):
            return "not a member of the group"
        n = len(proposal.options)
        method = proposal.protocol.method if isinstance(proposal.protocol, Democracy) else ""
        if method in ("plurality", "") or proposal.yes_no:
            if len(ballot) != 1 or not 0 <= ballot[0] < n:
                return "a ballot names exactly one of the options"
        elif method == "approval":
            if any(not 0 <= b < n for b in ballot) or len(set(ballot)) != len(ballot):
                return "approve each option at most once"
        elif len(ballot) != n:
            return f"give one grade or rank per option ({n})"
        return None

    # ---------------------------------------------------- decide + execute
    async def tick(self) -> int:
        """Decide every open proposal that can be decided now; return how many changed."""
        changed = 0
        for proposal in await self._store.open_proposals():
            if isinstance(proposal.protocol, Democracy) and proposal.protocol.secret:
                continue  # decided by its election's verified result (conclude_external)
            if isinstance(proposal.protocol, Doocracy) and (
                proposal.opened_at is None
                or proposal.opened_at > self._clock.now() - _PROPOSER_GRACE
            ):
                continue  # its proposer is concluding it right now
            outcome = await self.outcome(proposal)
            if outcome.verdict != "pending":
                await self._conclude(proposal, outcome, self._clock.now())
                changed += 1
        return changed

    async def outcome(self, proposal: Proposal) -> Outcome:
        method = proposal.protocol.method if isinstance(proposal.protocol, Democracy) else ""
        ballots = await self._store.ballots(proposal.id or 0)
        delegations = await self._store.delegations(proposal.group_id)
        return decide(
            proposal,
            eligible=await self._eligible(proposal),
            ballots=ballots,
            delegations=delegations,
            subgroup_results=await self._subgroup_results(proposal, ballots, delegations),
            count_choices=lambda options, ballots: self._count(method, options, ballots),
            now=self._clock.now(),
        )

    async def due_secret_proposals(self) -> list[Proposal]:
        """Open secret-ballot proposals whose voting time is over (their election decides)."""
        now = self._clock.now()
        return [
            p for p in await self._store.open_proposals()
            if isinstance(p.protocol, Democracy) and p.protocol.secret
            and p.closes_at is not None and p.closes_at <= now
        ]  # fmt: skip

    async def conclude_external(self, proposal_id: int, outcome: Outcome) -> Proposal:
        """Conclude an open proposal with an outcome counted elsewhere: a secret
        vote's result comes from its election (services/elections/), as the
        store holds no ballot of it to count."""
        proposal = await self.get(proposal_id)
        if proposal.state != "open":
            raise Conflict(f"the proposal is {proposal.state}")
        return await self._conclude(proposal, outcome, self._clock.now())

    async def _subgroup_results(
        self,
        proposal: Proposal,
        ballots: Mapping[str, tuple[int, ...]],
        delegations: Sequence[Delegation],
    ) -> dict[str, tuple[int, ...] | None]:
        """Each sub-group's result on this proposal: the option its own members chose.

        The sub-group's members who voted here are counted among themselves
        (one each); its winning option carries the weight delegated to it. A
        tie, no vote, or a graded method (no single option to hand on): None,
        and that weight abstains.
        """
        wanted = {d.delegate for d in delegations if d.delegate.startswith("group:")}
        if not wanted:
            return {}
        linked = await self._store.subgroups(proposal.group_id)
        results: dict[str, tuple[int, ...] | None] = {}
        for target in wanted:
            slug = target.removeprefix("group:")
            if slug not in linked:
                results[target] = None
                continue
            members = set(await self._store.members(linked[slug]))
            counts = [0] * len(proposal.options)
            for voter, ballot in ballots.items():
                if voter in members and len(ballot) == 1 and 0 <= ballot[0] < len(counts):
                    counts[ballot[0]] += 1
            best = max(counts, default=0)
            winners = [i for i, c in enumerate(counts) if c == best]
            results[target] = (winners[0],) if best and len(winners) == 1 else None
        return results

    async def _eligible(self, proposal: Proposal) -> list[str]:
        members = await self._store.members(proposal.group_id)
        if isinstance(proposal.protocol, Oligarchy):
            return [m for m in members if m in proposal.protocol.deciders]
        return members

    async def _conclude(self, proposal: Proposal, outcome: Outcome, now: Any) -> Proposal:
        result: dict[str, Any] = {"verdict": outcome.verdict, "tally": outcome.tally}
        verdict = outcome.verdict
        # A vote closes before it is counted; early decisions (k approvals, a
        # block, a do-ocracy act) go straight from open to their verdict.
        if verdict == "expired" or isinstance(proposal.protocol, Democracy):
            proposal, record = transition(proposal, "closed", by="system", at=now)
            await self._store.save(proposal, record)
        if verdict != "adopted" and proposal.params.get("challenges"):
            # The members did not uphold a do-ocracy act: it is undone.
            result["undone"] = await self._executor.undo(proposal)
        proposal, record = transition(proposal, verdict, by="system", at=now, result=result)
        await self._store.save(proposal, record)
        if verdict == "adopted":
            done = await self._executor.execute(proposal)
            result = {**result, "executed": done}
            proposal, record = transition(
                proposal, "executed", by="system", at=now, note=done, result=result
            )
            await self._store.save(proposal, record)
        await self._tell(proposal, ProposalClosed)
        return proposal

    async def _challenge(self, proposal: Proposal, voter: str, now: Any) -> None:
        assert isinstance(proposal.protocol, Doocracy)
        challenged, record = transition(proposal, "challenged", by=voter, at=now)
        await self._store.save(challenged, record)
        fallback = proposal.protocol.fallback
        stored = await self._store.add(
            replace(
                proposal, id=None, protocol=fallback, options=options_for(fallback),
                state="draft", author=voter, created_at=now, result={},
                title=f"Challenged: {proposal.title}",
                params={**proposal.params, "challenges": proposal.id},
            )
        )  # fmt: skip
        opened, record = transition(
            stored, "open", by=voter, at=now, opened_at=now, closes_at=now + _span(fallback)
        )
        await self._store.save(opened, record)
        await self._tell(opened, ProposalOpened)

    # -------------------------------------------------------- delegation
    async def delegate(self, group_id: int, delegation: Delegation) -> None:
        members = set(await self._store.members(group_id))
        delegator = await self._store.canonical(delegation.delegator)
        delegation = replace(delegation, delegator=delegator)
        if delegation.delegator not in members:
            raise InvalidInput("only members delegate", field="delegator")
        existing = [
            d for d in await self._store.delegations(group_id)
            if not (d.delegator == delegation.delegator and d.scope == delegation.scope)
        ]  # fmt: skip
        if delegation.delegate.startswith("group:"):
            slug = delegation.delegate.removeprefix("group:")
            if slug not in await self._store.subgroups(group_id):
                raise InvalidInput(f"{slug} is not a sub-group of this group", field="delegate")
        check_new_delegation(existing, delegation, members)
        await self._store.set_delegation(group_id, delegation, self._clock.now())

    async def revoke(self, group_id: int, delegator: str, scope: str = "*") -> None:
        if not await self._store.revoke_delegation(group_id, delegator, scope):
            raise NotFound("no such delegation")

    async def revoke_involving(self, group_id: int, voters: set[str]) -> int:
        """Revoke every delegation given by or to one of ``voters`` (someone who
        left the group: their vote no longer flows, nobody's flows to them);
        linked accounts are taken as the id they vote as. How many went."""
        ids = set(voters) | {await self._store.canonical(v) for v in voters}
        gone = 0
        for d in await self._store.delegations(group_id):
            if d.delegator in ids or d.delegate in ids:
                gone += await self._store.revoke_delegation(group_id, d.delegator, d.scope)
        return gone

    async def delegations(self, group_id: int) -> list[Delegation]:
        """The group's delegation graph as stored (delegator, delegate, scope)."""
        return await self._store.delegations(group_id)

    # -------------------------------------------------------- sub-groups
    async def subgroups(self, group_id: int) -> dict[str, int]:
        """Groups linked as sub-groups of this one (members may delegate to them)."""
        return await self._store.subgroups(group_id)

    async def link_subgroup(self, parent_id: int, child_id: int) -> bool:
        """Make ``child_id`` a sub-group of ``parent_id``; False if it was one already."""
        if parent_id == child_id:
            raise InvalidInput("a group cannot be its own sub-group", field="slug")
        return await self._store.link_subgroup(parent_id, child_id, self._clock.now())

    # ------------------------------------------------------------ events
    async def describe(self, proposal: Proposal) -> dict[str, Any]:
        """What every network shows of a proposal: options, live counts, result."""
        counts = await self._counts(proposal)
        return {
            "proposal_id": proposal.id,
            "title": proposal.title,
            "options": list(proposal.options),
            "state": proposal.state,
            "closes_at": proposal.closes_at.isoformat() if proposal.closes_at else "",
            "method": proposal.protocol.method if isinstance(proposal.protocol, Democracy) else "",
            "protocol": proposal.protocol.name,
            "secret": isinstance(proposal.protocol, Democracy) and proposal.protocol.secret,
            "counts": counts,
            "voters": sum(counts),
            "result_text": _result_text(proposal),
        }

    async def _tell(self, proposal: Proposal, what: type[ProposalFacts]) -> None:
        facts = what.from_payload(await self.describe(proposal))
        counts = list(facts.counts)
        key = f"{what.kind}|{proposal.id}|{proposal.state}|{sum(counts)}|{counts}"
        if what is ProposalCounts:
            key += f"|{self._clock.now().isoformat()}"
        await self._events.record(GroupEvent(proposal.group_id, SOURCE, key, facts))

    async def _counts(self, proposal: Proposal) -> list[int]:
        """Direct votes per option (shown live; the tally with delegation comes at the end)."""
        counts = [0] * len(proposal.options)
        for ballot in (await self._store.ballots(proposal.id or 0)).values():
            for index in ballot if not _graded(proposal) else ():
                if 0 <= index < len(counts):
                    counts[index] += 1
        return counts


def _graded(proposal: Proposal) -> bool:
    return isinstance(proposal.protocol, Democracy) and proposal.protocol.method in (
        "majority_judgment", "schulze",
    ) and not proposal.yes_no  # fmt: skip


def _span(protocol: Any) -> timedelta:
    if isinstance(protocol, Democracy):
        return protocol.duration
    if isinstance(protocol, (Consensus, Doocracy)):
        return protocol.window
    return timedelta(days=7)  # oligarchy: deciders have a week


def _result_text(proposal: Proposal) -> str:
    if not proposal.result:
        return ""
    verdict = proposal.result.get("verdict", proposal.state)
    winner = proposal.result.get("tally", {}).get("winner")
    done = proposal.result.get("executed")
    parts = [f"{proposal.title}: {verdict}"]
    if winner:
        parts.append(f"winner: {winner}")
    if done:
        parts.append(done)
    return " — ".join(parts)

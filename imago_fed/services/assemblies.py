"""Use cases of assemblies: convene under the control table, run the floor, vote motions.

    convene ─ a ``convene`` proposal (the table decides; by default any member
              acts, open to challenge) ─ adopted ─> carry_out: the assembly exists
    members ─ speak · done · move · second · (chair) next · adjourn ─> what the chair says
    tick    ─ opens due assemblies, times turns, puts seconded motions to the vote
              (a ``motion`` proposal, voted on both networks), reports results

What the chair says goes to the group event log (``AssemblySaid``), and the
minutes too (``AssemblyClosed``): the chat side posts them in the assembly's
room, the fediverse side publishes the minutes as a Note. Only the group's
members take part; anyone else is refused with a sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from imago_fed.domain.assemblies import Assembly, minutes_of
from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.domain.events import AssemblyClosed, AssemblyConvened, AssemblySaid, GroupEvent
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.proposals import PROPOSAL, Proposal
from imago_fed.domain.governance.service import Governance
from imago_fed.domain.ports.assemblies import AssemblyStore
from imago_fed.domain.ports.clock import Clock
from imago_fed.domain.ports.events import GroupEventLog

__all__ = ["SOURCE", "Assemblies"]

SOURCE = "assemblies"
DECIDED = PROPOSAL.terminal | {"adopted", "executed"}


class Assemblies:
    """Also the ``ActionEffect`` of ``convene`` and ``motion`` proposals."""

    def __init__(
        self, store: AssemblyStore, governance: Governance, events: GroupEventLog, clock: Clock
    ) -> None:
        self._store, self._governance, self._events, self._clock = store, governance, events, clock

    # ------------------------------------------------------------ convening
    async def convene(
        self, group_id: int, by: str, *, title: str, agenda: list[str],
        starts_at: datetime | None = None, turn_seconds: int = 180, quorum: int = 1,
        vote_seconds: int = 600,
    ) -> Proposal:  # fmt: skip
        """Ask to hold an assembly (``starts_at`` None: now); it exists once the
        ``convene`` decision is adopted."""
        await self._must_be_member(group_id, by)
        starts_at = starts_at or self._clock.now()
        if starts_at.tzinfo is None:
            raise InvalidInput("give the start with its time zone", field="starts_at")
        draft = Assembly(
            group_id, title, tuple(agenda), by, starts_at, turn_seconds=turn_seconds,
            quorum=quorum, vote_seconds=vote_seconds,
        )  # fmt: skip
        params = {
            "assembly": {
                "title": draft.title, "agenda": list(draft.agenda),
                "starts_at": starts_at.isoformat(), "turn_seconds": turn_seconds,
                "quorum": quorum, "vote_seconds": vote_seconds,
            }
        }  # fmt: skip
        return await self._governance.propose(
            group_id, action=ActionKind.CONVENE, title=f"Assembly: {draft.title}"[:300],
            author=by, params=params,
        )  # fmt: skip

    async def carry_out(self, proposal: Proposal) -> str | None:
        """An adopted ``convene`` decision: the assembly is set up and announced.
        An adopted ``motion``: the assembly's resolution, kept in its minutes (the
        ticker tells the room)."""
        spec = proposal.params.get("assembly")
        if proposal.action == ActionKind.MOTION and isinstance(spec, int):
            number = proposal.params.get("motion")
            return f"motion {number} of assembly {spec} carried: a resolution in its minutes"
        if proposal.action != ActionKind.CONVENE or not isinstance(spec, dict):
            return None
        try:  # params came through the generic proposals API too: check them again
            starts_at = datetime.fromisoformat(str(spec["starts_at"]))
            if starts_at.tzinfo is None:
                raise InvalidInput("the start has no time zone", field="starts_at")
            agenda = spec["agenda"]
            if not isinstance(agenda, list):
                raise InvalidInput("the agenda is a list", field="agenda")
            assembly = Assembly(
                proposal.group_id, str(spec["title"]), tuple(str(a) for a in agenda),
                proposal.author, starts_at, turn_seconds=int(spec.get("turn_seconds", 180)),
                quorum=int(spec.get("quorum", 1)), vote_seconds=int(spec.get("vote_seconds", 600)),
            )  # fmt: skip
        except InvalidInput as exc:
            return f"no assembly: {exc.message}"
        except (KeyError, TypeError, ValueError) as exc:
            return f"no assembly: params.assembly is incomplete ({exc})"
        assembly.id = await self._store.add(assembly, self._clock.now())
        event = AssemblyConvened(
            assembly.id, assembly.title, assembly.agenda, assembly.starts_at.isoformat(),
            assembly.convened_by,
        )  # fmt: skip
        await self._events.record(
            GroupEvent(assembly.group_id, SOURCE, f"assembly_convened|{assembly.id}", event)
        )
        return f"assembly {assembly.id} convened for {assembly.starts_at:%Y-%m-%d %H:%M} UTC"

    # -------------------------------------------------------------- reading
    async def get(self, assembly_id: int) -> Assembly:
        found = await self._store.get(assembly_id)
        if found is None:
            raise NotFound(f"no assembly {assembly_id}")
        return found[0]

    async def of_group(self, group_id: int) -> list[Assembly]:
        return await self._store.of_group(group_id)

    async def current(self, group_id: int) -> Assembly:
        """The group's open assembly, else the next convened one (what a command means)."""
        found = [a for a in await self._store.of_group(group_id) if a.state != "closed"]
        if not found:
            raise NotFound("the group has no assembly convened: !imago convene ...")
        return min(found, key=lambda a: (a.state != "open", a.starts_at))

    # ------------------------------------------------------------ the floor
    async def attend(self, assembly_id: int, member: str) -> None:
        """Joined the room or the call: present (members only; others are not counted)."""
        assembly = await self.get(assembly_id)
        if member in await self._governance.members(assembly.group_id):
            await self._change(assembly_id, lambda a, now: a.attend(member, now))

    async def speak(self, assembly_id: int, member: str) -> list[str]:
        await self._member_of(assembly_id, member)
        return await self._change(assembly_id, lambda a, now: a.ask_floor(member, now))

    async def done(self, assembly_id: int, member: str) -> list[str]:
        await self._member_of(assembly_id, member)
        return await self._change(assembly_id, lambda a, now: a.yield_floor(member, now))

    async def next_item(self, assembly_id: int, member: str) -> list[str]:
        return await self._change(assembly_id, lambda a, now: a.next_item(member, now))

    async def move(self, assembly_id: int, member: str, text: str) -> list[str]:
        await self._member_of(assembly_id, member)
        return await self._change(assembly_id, lambda a, now: a.move(member, text, now)[1])

    async def second(self, assembly_id: int, member: str, number: int) -> list[str]:
        """Seconded now; the ticker opens the vote (once, even after a crash here)."""
        await self._member_of(assembly_id, member)

        def apply(a: Assembly, now: datetime) -> list[str]:
            a.second(member, number)
            return [f"Motion {number} is seconded by {member}: it goes to the vote."]

        return await self._change(assembly_id, apply)

    async def adjourn(self, assembly_id: int, member: str) -> list[str]:
        said = await self._change(assembly_id, lambda a, now: a.adjourn(member, now))
        await self._publish_minutes(await self.get(assembly_id))
        return said

    # ------------------------------------------------------------ the clock
    async def tick(self) -> int:
        """Open what is due, time the turns, vote seconded motions, report results.

        Returns how many assemblies changed. One failing assembly does not
        stop the others (the worker logs; the next tick tries again).
        """
        changed = 0
        for assembly_id in await self._store.live():
            if await self._tick_one(assembly_id):
                changed += 1
        return changed

    async def _tick_one(self, assembly_id: int) -> bool:
        assembly = await self.get(assembly_id)
        results: dict[int, str] = {}
        for motion in assembly.motions:
            if motion.proposal_id is not None and not motion.result:
                proposal = await self._governance.get(motion.proposal_id)
                if proposal.state in DECIDED:
                    results[motion.proposal_id] = _verdict(proposal)
        to_vote = [m.number for m in assembly.motions if m.state == "seconded"]
        for number in to_vote:  # a proposal first, then the state that points to it
            motion = assembly.motion(number)
            proposal = await self._governance.propose(
                assembly.group_id, action=ActionKind.MOTION,
                title=f"Motion {number} ({assembly.title}): {motion.text}"[:300],
                author=motion.mover, duration=timedelta(seconds=assembly.vote_seconds),
                params={"assembly": assembly_id, "motion": number},
            )  # fmt: skip
            assert proposal.id is not None
            await self._change(assembly_id, _voting(number, proposal.id))

        def apply(a: Assembly, now: datetime) -> list[str]:
            said = a.open(now) if a.due(now) else []
            said += a.tick(now)
            for proposal_id, verdict in results.items():
                said += a.decided(proposal_id, verdict)
            return said

        said = await self._change(assembly_id, apply)
        return bool(said or to_vote)

    # ------------------------------------------------------------ internals
    async def _change(
        self, assembly_id: int, apply: Callable[[Assembly, datetime], list[str]]
    ) -> list[str]:
        """Apply a rule to the latest state and save it; on a concurrent write, again."""
        for _attempt in range(20):
            found = await self._store.get(assembly_id)
            if found is None:
                raise NotFound(f"no assembly {assembly_id}")
            assembly, version = found
            before = assembly.to_dict()
            now = self._clock.now()
            said = apply(assembly, now)
            if assembly.to_dict() == before:
                return said
            if await self._store.save(assembly, version, now):
                await self._say(assembly, said, version)
                return said
        raise Conflict("the assembly is too busy: try again")

    async def _say(self, assembly: Assembly, said: list[str], version: int) -> None:
        assert assembly.id is not None
        for n, text in enumerate(said):
            await self._events.record(
                GroupEvent(
                    assembly.group_id, SOURCE, f"assembly_said|{assembly.id}|{version}|{n}",
                    AssemblySaid(assembly.id, text),
                )
            )  # fmt: skip

    async def _publish_minutes(self, assembly: Assembly) -> None:
        assert assembly.id is not None
        minutes = minutes_of(assembly)
        await self._events.record(
            GroupEvent(
                assembly.group_id, SOURCE, f"assembly_closed|{assembly.id}",
                AssemblyClosed(assembly.id, assembly.title, minutes.text(), minutes.html()),
            )
        )  # fmt: skip

    async def _member_of(self, assembly_id: int, member: str) -> None:
        await self._must_be_member((await self.get(assembly_id)).group_id, member)

    async def _must_be_member(self, group_id: int, member: str) -> None:
        if member not in await self._governance.members(group_id):
            raise Conflict(f"{member}: only the group's members take part in its assemblies")


def _voting(number: int, proposal_id: int) -> Callable[[Assembly, datetime], list[str]]:
    def apply(a: Assembly, now: datetime) -> list[str]:
        return a.put_to_vote(number, proposal_id)

    return apply


def _verdict(proposal: Proposal) -> str:
    """'adopted (2 for, 1 against)': the decision and its direct counts, in words."""
    verdict = str(proposal.result.get("verdict", proposal.state))
    if verdict == "executed":
        verdict = "adopted"
    tally = proposal.result.get("tally", {})
    counts = tally.get("direct") if isinstance(tally, dict) else None
    if isinstance(counts, dict) and counts:
        verdict += " (" + ", ".join(f"{v} {k}" for k, v in counts.items()) + ")"
    return verdict

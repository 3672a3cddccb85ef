"""The assemblies service over in-memory ports, with a clock the test moves.

Convened by a do-ocracy decision (the default table), opened by the ticker at
its start, the floor timed by the ticker, a seconded motion voted as a
``motion`` proposal and its result reported, minutes published; outsiders,
a motion without a seconder and a double request refused.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from imago_fed.domain.errors import Conflict
from imago_fed.domain.events import AssemblyClosed, AssemblyConvened, AssemblySaid
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.counting import count_choices
from imago_fed.domain.governance.service import Governance
from imago_fed.services.assemblies import Assemblies
from imago_fed.services.execution import Executor
from tests.fakes.assemblies import MemoryAssemblyStore
from tests.fakes.governance import (
    T0,
    FakeClock,
    MemoryBlocks,
    MemoryEventLog,
    MemoryGovernanceStore,
)

GROUP = 1
ANN, BOB, CAT, EVE = "@ann:x", "@bob:x", "https://fedi.example/u/cat", "@eve:x"


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.log = MemoryEventLog()
        self.governance_store = MemoryGovernanceStore()
        for member in (ANN, BOB, CAT):
            self.governance_store.join(GROUP, member)
        executor = Executor(self.governance_store, MemoryBlocks(), self.clock)
        self.governance = Governance(
            self.governance_store, self.log, executor, self.clock, count_choices
        )
        self.store = MemoryAssemblyStore()
        self.assemblies = Assemblies(self.store, self.governance, self.log, self.clock)
        executor.register(ActionKind.CONVENE, self.assemblies)
        executor.register(ActionKind.MOTION, self.assemblies)

    def said(self) -> list[str]:
        return [e.data.text for e in self.log.events if isinstance(e.data, AssemblySaid)]

    async def tick(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))
        await self.governance.tick()
        await self.assemblies.tick()


async def test_an_assembly_from_convening_to_minutes() -> None:
    w = World()
    proposal = await w.assemblies.convene(
        GROUP, ANN, title="Spring", agenda=["Budget", "Garden"],
        starts_at=T0 + timedelta(minutes=5), turn_seconds=60, quorum=2, vote_seconds=120,
    )  # fmt: skip
    assert proposal.action == ActionKind.CONVENE and proposal.state == "executed"
    [convened] = [e.data for e in w.log.events if isinstance(e.data, AssemblyConvened)]
    assert convened.agenda == ("Budget", "Garden") and convened.convened_by == ANN
    assembly_id = convened.assembly_id

    with pytest.raises(Conflict, match="convened"):
        await w.assemblies.speak(assembly_id, BOB)
    await w.assemblies.attend(assembly_id, BOB)
    await w.assemblies.attend(assembly_id, EVE)  # not a member: not counted
    await w.tick(300)
    assert (await w.assemblies.get(assembly_id)).state == "open"
    assert any("is open" in s for s in w.said())

    await w.assemblies.speak(assembly_id, BOB)
    await w.assemblies.speak(assembly_id, CAT)
    with pytest.raises(Conflict, match="queue already"):
        await w.assemblies.speak(assembly_id, CAT)
    with pytest.raises(Conflict, match="only the group's members"):
        await w.assemblies.speak(assembly_id, EVE)
    await w.tick(50)
    assert w.said()[-1] == f"{BOB}: 10 seconds left."
    await w.tick(11)
    assert w.said()[-2:] == [f"Time is up for {BOB}.", f"{CAT} has the floor (60 s)."]

    await w.assemblies.move(assembly_id, CAT, "Plant beans")
    with pytest.raises(Conflict, match="cannot second their own"):
        await w.assemblies.second(assembly_id, CAT, 1)
    await w.assemblies.move(assembly_id, BOB, "Paint the shed")  # nobody seconds it
    await w.assemblies.second(assembly_id, BOB, 1)
    await w.tick(1)
    motion = (await w.assemblies.get(assembly_id)).motion(1)
    assert motion.proposal_id is not None
    vote = await w.governance.get(motion.proposal_id)
    assert vote.action == ActionKind.MOTION and vote.author == CAT
    assert vote.closes_at == w.clock.now() + timedelta(seconds=120)
    for member in (ANN, BOB, CAT):
        await w.governance.vote(motion.proposal_id, member, (0,), network="matrix")
    await w.tick(120)
    assert (await w.assemblies.get(assembly_id)).motion(1).result.startswith("adopted")
    decided = await w.governance.get(motion.proposal_id)
    assert decided.result["executed"] == (
        f"motion 1 of assembly {assembly_id} carried: a resolution in its minutes"
    )
    assert any(s.startswith("Motion 1 (Plant beans): adopted") for s in w.said())

    with pytest.raises(Conflict, match="only the chair"):
        await w.assemblies.adjourn(assembly_id, BOB)
    await w.assemblies.next_item(assembly_id, ANN)
    await w.assemblies.adjourn(assembly_id, ANN)
    [closed] = [e.data for e in w.log.events if isinstance(e.data, AssemblyClosed)]
    assert f"Present (2): {BOB}, {CAT}" in closed.minutes_text
    assert "Plant beans \u2014 adopted" in closed.minutes_text
    assert "Paint the shed \u2014 not seconded" in closed.minutes_text
    assert await w.assemblies.tick() == 0  # closed: nothing left to time


async def test_two_writers_at_once_both_land() -> None:
    w = World()
    await w.assemblies.convene(GROUP, ANN, title="Quick", agenda=["One"], starts_at=T0)
    await w.tick(0)
    w.store.race_once = True
    await w.assemblies.speak(1, BOB)
    assert w.store.lost_races == 1 and (await w.assemblies.get(1)).speaker == BOB

"""One assembly's state and its rules of order.

    convened ──open()──> open ──adjourn()──> closed

While open, one agenda item at a time is discussed. Members ask for the
floor and wait in a queue where those who have not yet spoken on the item
go before those who have (each group keeps the order of asking); the
speaker has ``turn_seconds``, is warned ``warn_seconds`` before the end,
then the floor passes on. A motion needs a seconder other than its mover
before it is put to the vote, and only when the quorum is present.

Every method that changes something returns what the chair says about it
(plain sentences), so the adapters need not know the rules to tell people.
Refusals are ``Conflict``/``InvalidInput`` with a sentence for the member.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from imago_fed.domain.errors import Conflict, InvalidInput, NotFound

__all__ = ["Assembly", "Motion", "Turn"]

MAX_ITEMS = 30
MAX_MOTION = 500


@dataclass
class Turn:
    """A member held the floor on an agenda item, from ``started`` to ``ended``."""

    member: str
    item: int
    started: datetime
    ended: datetime | None = None

    def seconds(self, now: datetime) -> int:
        return int(((self.ended or now) - self.started).total_seconds())


@dataclass
class Motion:
    """A motion moved on an item; once seconded it becomes a proposal of the group."""

    number: int
    item: int
    text: str
    mover: str
    seconder: str = ""
    proposal_id: int | None = None
    result: str = ""  # the decision's outcome once the vote ended

    @property
    def state(self) -> str:
        if self.result:
            return "decided"
        if self.proposal_id is not None:
            return "voting"
        return "seconded" if self.seconder else "moved"


@dataclass
class Assembly:
    group_id: int
    title: str
    agenda: tuple[str, ...]
    convened_by: str
    starts_at: datetime
    turn_seconds: int = 180
    quorum: int = 1
    vote_seconds: int = 600  # how long a seconded motion is open for votes
    id: int | None = None
    state: str = "convened"
    item: int = -1  # the agenda item under discussion (index), -1 before the start
    queue: list[str] = field(default_factory=list)
    speaker: str = ""
    warned: bool = False
    turns: list[Turn] = field(default_factory=list)
    attendees: dict[str, datetime] = field(default_factory=dict)
    motions: list[Motion] = field(default_factory=list)
    opened_at: datetime | None = None
    closed_at: datetime | None = None

    def __post_init__(self) -> None:
        self.title = self.title.strip()
        if not 1 <= len(self.title) <= 200:
            raise InvalidInput("an assembly's title is 1 to 200 characters", field="title")
        self.agenda = tuple(a.strip() for a in self.agenda if a.strip())
        if not 1 <= len(self.agenda) <= MAX_ITEMS:
            raise InvalidInput(f"the agenda has 1 to {MAX_ITEMS} items", field="agenda")
        if not 15 <= self.turn_seconds <= 3600:
            raise InvalidInput("a turn lasts 15 s to 1 h", field="turn_seconds")
        if not 30 <= self.vote_seconds <= 86_400:
            raise InvalidInput("a motion's vote lasts 30 s to 1 day", field="vote_seconds")
        if not 1 <= self.quorum <= 10_000:
            raise InvalidInput("the quorum is 1 or more members present", field="quorum")

    # ----------------------------------------------------------- reading
    @property
    def warn_seconds(self) -> int:
        """How long before the end of a turn the speaker is warned."""
        return max(5, min(30, self.turn_seconds // 4))

    @property
    def current_turn(self) -> Turn | None:
        return self.turns[-1] if self.speaker and self.turns else None

    def spoke_on(self, item: int) -> set[str]:
        return {t.member for t in self.turns if t.item == item}

    def motion(self, number: int) -> Motion:
        for motion in self.motions:
            if motion.number == number:
                return motion
        raise NotFound(f"there is no motion {number}")

    def agenda_text(self) -> str:
        return "\n".join(f"{n}. {item}" for n, item in enumerate(self.agenda, 1))

    def item_text(self) -> str:
        return f"Item {self.item + 1} of {len(self.agenda)}: {self.agenda[self.item]}"

    # ----------------------------------------------------------- the time
    def due(self, now: datetime) -> bool:
        """Whether the assembly should open now."""
        return self.state == "convened" and now >= self.starts_at

    def open(self, now: datetime) -> list[str]:
        if self.state != "convened":
            raise Conflict(f"the assembly is {self.state}")
        self.state, self.item, self.opened_at = "open", 0, now
        present = len(self.attendees)
        said = [
            f"The assembly \u201c{self.title}\u201d is open. Agenda:\n{self.agenda_text()}",
            self.item_text() + ". Ask for the floor with !imago speak.",
        ]
        if present < self.quorum:
            said.append(f"Quorum not reached yet ({present} present of {self.quorum}).")
        return said

    def tick(self, now: datetime) -> list[str]:
        """Warn the speaker near the end of the turn; at the end pass the floor on."""
        turn = self.current_turn
        if self.state != "open" or turn is None:
            return []
        end = turn.started + timedelta(seconds=self.turn_seconds)
        if now >= end:
            said = [f"Time is up for {self.speaker}."]
            return said + self._end_turn(now)
        if not self.warned and now >= end - timedelta(seconds=self.warn_seconds):
            self.warned = True
            left = int((end - now).total_seconds())
            return [f"{self.speaker}: {left} seconds left."]
        return []

    # ------------------------------------------------------- the members
    def attend(self, member: str, now: datetime) -> list[str]:
        """A member is present (joined the room or the call); first time counts."""
        if self.state == "closed" or member in self.attendees:
            return []
        self.attendees[member] = now
        if self.state == "open" and len(self.attendees) == self.quorum:
            return [f"Quorum reached: {self.quorum} present."]
        return []

    def ask_floor(self, member: str, now: datetime) -> list[str]:
        self._must_be_open()
        if member == self.speaker:
            raise Conflict(f"{member}: you have the floor already")
        if member in self.queue:
            place = self.queue.index(member) + 1
            raise Conflict(f"{member}: you are in the queue already (position {place})")
        self.attend(member, now)
        spoke = self.spoke_on(self.item)
        if member in spoke:
            self.queue.append(member)
        else:  # before everyone who already spoke on this item
            place = next((i for i, m in enumerate(self.queue) if m in spoke), len(self.queue))
            self.queue.insert(place, member)
        if not self.speaker:
            return self._next_speaker(now)
        return [f"{member} is in the queue (position {self.queue.index(member) + 1})."]

    def yield_floor(self, member: str, now: datetime) -> list[str]:
        """The speaker is done (the chair may also end a turn)."""
        self._must_be_open()
        if member not in (self.speaker, self.convened_by):
            raise Conflict(f"{member}: only the speaker or the chair ends a turn")
        if not self.speaker:
            raise Conflict("nobody has the floor")
        return [f"{self.speaker} yields the floor.", *self._end_turn(now)]

    def next_item(self, by: str, now: datetime) -> list[str]:
        self._must_be_open()
        self._must_chair(by)
        said = self._close_turn(now)
        self.queue.clear()
        if self.item + 1 >= len(self.agenda):
            raise Conflict("this was the last item: !imago adjourn closes the assembly")
        self.item += 1
        return [*said, self.item_text() + ". The queue is empty: !imago speak."]

    def move(self, member: str, text: str, now: datetime) -> tuple[Motion, list[str]]:
        self._must_be_open()
        text = " ".join(text.split())
        if not 1 <= len(text) <= MAX_MOTION:
            raise InvalidInput(f"a motion is 1 to {MAX_MOTION} characters", field="motion")
        self.attend(member, now)
        motion = Motion(len(self.motions) + 1, self.item, text, member)
        self.motions.append(motion)
        return motion, [
            f"Motion {motion.number} by {member}: {text}\n"
            f"It needs a seconder: !imago second {motion.number}"
        ]

    def second(self, member: str, number: int) -> Motion:
        """Second a motion; the caller then puts it to the vote (``put_to_vote``)."""
        self._must_be_open()
        motion = self.motion(number)
        if motion.state != "moved":
            raise Conflict(f"motion {number} is {motion.state} already")
        if member == motion.mover:
            raise Conflict(f"{member}: the mover cannot second their own motion")
        present = len(self.attendees | {member: self.starts_at})
        if present < self.quorum:
            raise Conflict(
                f"no quorum ({present} present of {self.quorum}): motion {number} cannot be "
                "put to the vote yet"
            )
        self.attendees.setdefault(member, self.opened_at or self.starts_at)
        motion.seconder = member
        return motion

    def put_to_vote(self, number: int, proposal_id: int) -> list[str]:
        motion = self.motion(number)
        motion.proposal_id = proposal_id
        return [
            f"Motion {number}, seconded by {motion.seconder}, is put to the vote as proposal "
            f"{proposal_id} (vote in the Decisions room, from the fediverse, or with "
            f"!imago vote {proposal_id} <option>)."
        ]

    def decided(self, proposal_id: int, result: str) -> list[str]:
        for motion in self.motions:
            if motion.proposal_id == proposal_id and not motion.result:
                motion.result = result
                return [f"Motion {motion.number} ({motion.text}): {result}."]
        return []

    def adjourn(self, by: str, now: datetime) -> list[str]:
        self._must_be_open()
        self._must_chair(by)
        said = self._close_turn(now)
        self.queue.clear()
        self.state, self.closed_at = "closed", now
        return [*said, f"The assembly “{self.title}” is closed; minutes follow."]

    # --------------------------------------------------------- internals
    def _must_be_open(self) -> None:
        if self.state != "open":
            when = f" (it opens {self.starts_at:%Y-%m-%d %H:%M} UTC)"
            raise Conflict(
                f"the assembly is {self.state}" + (when if self.state == "convened" else "")
            )

    def _must_chair(self, member: str) -> None:
        if member != self.convened_by:
            raise Conflict(f"{member}: only the chair ({self.convened_by}) does this")

    def _close_turn(self, now: datetime) -> list[str]:
        turn = self.current_turn
        if turn is None:
            return []
        turn.ended, self.speaker, self.warned = now, "", False
        return []

    def _end_turn(self, now: datetime) -> list[str]:
        self._close_turn(now)
        return self._next_speaker(now)

    def _next_speaker(self, now: datetime) -> list[str]:
        if not self.queue:
            return ["The floor is free: !imago speak to ask for it."]
        self.speaker, self.warned = self.queue.pop(0), False
        self.turns.append(Turn(self.speaker, self.item, now))
        nxt = f" Next: {self.queue[0]}." if self.queue else ""
        return [f"{self.speaker} has the floor ({self.turn_seconds} s).{nxt}"]

    # ------------------------------------------------------ stored shape
    def to_dict(self) -> dict[str, Any]:
        """A JSON object holding the whole state (what the store keeps)."""
        return {
            "group_id": self.group_id, "title": self.title, "agenda": list(self.agenda),
            "convened_by": self.convened_by, "starts_at": self.starts_at.isoformat(),
            "turn_seconds": self.turn_seconds, "quorum": self.quorum,
            "vote_seconds": self.vote_seconds, "state": self.state, "item": self.item,
            "queue": list(self.queue), "speaker": self.speaker, "warned": self.warned,
            "turns": [
                {"member": t.member, "item": t.item, "started": t.started.isoformat(),
                 "ended": t.ended.isoformat() if t.ended else None}
                for t in self.turns
            ],
            "attendees": {m: at.isoformat() for m, at in self.attendees.items()},
            "motions": [
                {"number": m.number, "item": m.item, "text": m.text, "mover": m.mover,
                 "seconder": m.seconder, "proposal_id": m.proposal_id, "result": m.result}
                for m in self.motions
            ],
            "opened_at": self.opened_at.isoformat() if self.opened_at else None,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any], id: int | None = None) -> Assembly:
        def when(value: Any) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        assembly = cls(
            group_id=int(data["group_id"]), title=data["title"], agenda=tuple(data["agenda"]),
            convened_by=data["convened_by"], starts_at=datetime.fromisoformat(data["starts_at"]),
            turn_seconds=int(data["turn_seconds"]), quorum=int(data["quorum"]),
            vote_seconds=int(data.get("vote_seconds", 600)), id=id,
        )  # fmt: skip
        assembly.state, assembly.item = data["state"], int(data["item"])
        assembly.queue, assembly.speaker = list(data["queue"]), data["speaker"]
        assembly.warned = bool(data["warned"])
        assembly.turns = [
            Turn(t["member"], int(t["item"]), datetime.fromisoformat(t["started"]),
                 when(t["ended"]))
            for t in data["turns"]
        ]  # fmt: skip
        assembly.attendees = {m: datetime.fromisoformat(at) for m, at in data["attendees"].items()}
        assembly.motions = [Motion(**m) for m in data["motions"]]
        assembly.opened_at, assembly.closed_at = when(data["opened_at"]), when(data["closed_at"])
        return assembly

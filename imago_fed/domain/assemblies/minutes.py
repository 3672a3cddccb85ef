"""The record of an assembly: who was there, who spoke and how long, what was decided.

Written once, when the assembly closes, from its state alone; the adapters
publish the text (Matrix) or the HTML (the fediverse Note) as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from imago_fed.domain.assemblies.assembly import Assembly

__all__ = ["Minutes", "minutes_of"]


@dataclass(frozen=True)
class Minutes:
    title: str
    opened_at: datetime
    closed_at: datetime
    attendees: tuple[str, ...]
    speaking: tuple[tuple[str, int, int], ...]  # member, turns, seconds (most time first)
    items: tuple[tuple[str, tuple[str, ...]], ...]  # agenda item, its speakers in order
    motions: tuple[tuple[int, str, str, str, str], ...]  # number, text, mover, seconder, result

    def text(self) -> str:
        lines = [
            f"Minutes of the assembly \u201c{self.title}\u201d, "
            f"{self.opened_at:%Y-%m-%d %H:%M}\u2013{self.closed_at:%H:%M} UTC",
            f"Present ({len(self.attendees)}): " + (", ".join(self.attendees) or "nobody"),
            "Spoke: "
            + (
                "; ".join(
                    f"{m} ({n} turn{'s' if n > 1 else ''}, {_duration(s)})"
                    for m, n, s in self.speaking
                )
                or "nobody"
            ),
        ]
        for n, (item, speakers) in enumerate(self.items, 1):
            lines.append(f"{n}. {item}: " + (", ".join(speakers) or "no speaker"))
        for number, text, mover, seconder, result in self.motions:
            status = result or ("not seconded" if not seconder else "vote not ended")
            backed = f", seconded by {seconder}" if seconder else ""
            lines.append(f"Motion {number} ({mover}{backed}): {text} \u2014 {status}")
        if not self.motions:
            lines.append("No motion.")
        return "\n".join(lines)

    def html(self) -> str:
        head, *rest = self.text().split("\n")
        return f"<p><strong>{escape(head)}</strong></p>" + "".join(
            f"<p>{escape(line)}</p>" for line in rest
        )


def minutes_of(assembly: Assembly) -> Minutes:
    """The minutes of a closed assembly."""
    assert assembly.opened_at is not None and assembly.closed_at is not None
    end = assembly.closed_at
    totals: dict[str, tuple[int, int]] = {}
    for turn in assembly.turns:
        count, seconds = totals.get(turn.member, (0, 0))
        totals[turn.member] = (count + 1, seconds + turn.seconds(end))
    speaking = sorted(((m, n, s) for m, (n, s) in totals.items()), key=lambda x: (-x[2], x[0]))
    items = tuple(
        (item, tuple(t.member for t in assembly.turns if t.item == index))
        for index, item in enumerate(assembly.agenda)
    )
    return Minutes(
        title=assembly.title,
        opened_at=assembly.opened_at,
        closed_at=end,
        attendees=tuple(sorted(assembly.attendees)),
        speaking=tuple(speaking),
        items=items,
        motions=tuple((m.number, m.text, m.mover, m.seconder, m.result) for m in assembly.motions),
    )


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"

"""The one table that ``python -m bench`` ends with: figure, baseline, ratio, target, met.

Each benchmark hands back :class:`Row` objects instead of printing its own
verdict, so that the verdict is computed in one place, from the figures, and
cannot drift from them. A target is either on the ratio to the baseline
measured in the same run (``on="ratio"``) or on our figure itself
(``on="value"``, e.g. peak memory, which has no baseline).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Row:
    benchmark: str
    ours: float
    unit: str
    target: float | None
    better: Literal["higher", "lower"] = "higher"
    on: Literal["ratio", "value"] = "ratio"
    baseline: float | None = None
    baseline_name: str = ""

    @property
    def ratio(self) -> float | None:
        """ours / baseline (whatever the direction: the target says which way is better)."""
        if self.baseline is None or self.baseline == 0:
            return None
        return self.ours / self.baseline

    @property
    def met(self) -> bool | None:
        """Whether the target is met; None when the figure it is on was not measured."""
        value = self.ratio if self.on == "ratio" else self.ours
        if value is None or self.target is None:
            return None
        return value >= self.target if self.better == "higher" else value <= self.target

    def target_text(self) -> str:
        if self.target is None:
            return "-"
        sign = ">=" if self.better == "higher" else "<="
        what = "ratio" if self.on == "ratio" else self.unit
        return f"{what} {sign} {_num(self.target)}"


def _num(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def format_table(rows: Sequence[Row]) -> str:
    """A fixed-width text table, one line per row, headed; verdicts ``met`` / ``NOT met``."""
    header = ("benchmark", "ours", "baseline", "ratio", "target", "met")
    lines = [header]
    for row in rows:
        base = "-" if row.baseline is None else f"{_num(row.baseline)} {row.unit}"
        if row.baseline_name and row.baseline is not None:
            base += f" ({row.baseline_name})"
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}"
        verdict = {True: "met", False: "NOT met", None: "not measured"}[row.met]
        if row.target is None:
            verdict = "(no target)"
        lines.append(
            (row.benchmark, f"{_num(row.ours)} {row.unit}", base, ratio, row.target_text(), verdict)
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    ]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


MB = 1024 * 1024


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set (VmHWM) in MB, from /proc; None where unavailable.

    Read while the process is still alive: the high-water mark covers its
    whole life so far, so reading it at the end of a benchmark gives the peak
    during it (and during its warm-up).
    """
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / MB
    except OSError:
        return None
    return None


def memory_row(benchmark: str, pid: int | None, limit_mb: float = 400) -> Row | None:
    """A peak-RSS row for ``pid`` against the memory target, or None if it cannot be read."""
    peak = peak_rss_mb(pid) if pid else None
    if peak is None:
        return None
    return Row(benchmark, peak, "MB", limit_mb, better="lower", on="value")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except OSError:
        return []


def process_tree_memory_rows(label: str, pid: int | None, limit_mb: float = 400) -> list[Row]:
    """Peak-RSS rows for a server process and each process it started (one row each).

    A server that serves from several processes on one port has a row per
    process: the target is on each of them, not on their sum.
    """
    if not pid:
        return []
    rows = []
    for n, member in enumerate([pid, *_children(pid)]):
        name = f"{label} peak RSS" if n == 0 else f"{label} child {n} peak RSS"
        row = memory_row(name, member, limit_mb)
        if row is not None:
            rows.append(row)
    return rows

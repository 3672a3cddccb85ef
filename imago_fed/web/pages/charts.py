"""Small inline SVG charts, drawn on the server: no script, no external asset.

Each chart is a ``<figure>`` holding an SVG with a ``<title>`` and a table of
the same numbers (visually hidden unless the SVG cannot be shown), so a screen
reader and a text browser get the data too. Colours come from CSS classes,
so the light and dark themes apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

__all__ = ["Series", "bars", "line"]

WIDTH, HEIGHT, PAD = 600, 160, 28


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # class giving the colour: "c1", "c2"
    values: Sequence[float]


def _scale(series: Sequence[Series]) -> float:
    top = max((v for s in series for v in s.values), default=0.0)
    return float(top) if top > 0 else 1.0


def _axis(top: float, labels: Sequence[str]) -> str:
    first, last = (labels[0], labels[-1]) if labels else ("", "")
    return (
        f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH}" y2="{HEIGHT - PAD}"/>'
        f'<text class="tick" x="{PAD}" y="{HEIGHT - 8}">{escape(first)}</text>'
        f'<text class="tick" x="{WIDTH}" y="{HEIGHT - 8}" text-anchor="end">{escape(last)}</text>'
        f'<text class="tick" x="2" y="14">{top:g}</text>'
        f'<text class="tick" x="2" y="{HEIGHT - PAD}">0</text>'
    )


def _table(caption: str, labels: Sequence[str], series: Sequence[Series]) -> str:
    head = "".join(f"<th scope=col>{escape(s.name)}</th>" for s in series)
    rows = "".join(
        f"<tr><th scope=row>{escape(label)}</th>"
        + "".join(f"<td>{s.values[i]:g}</td>" for s in series)
        + "</tr>"
        for i, label in enumerate(labels)
    )
    return (
        f'<details class="chart-data"><summary>{escape(caption)}: the numbers</summary>'
        f"<table><thead><tr><th scope=col></th>{head}</tr></thead><tbody>{rows}</tbody>"
        "</table></details>"
    )


def _figure(caption: str, body: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    legend = "".join(
        f'<li><span class="swatch {escape(s.css)}"></span>{escape(s.name)}</li>' for s in series
    )
    return Markup(
        f'<figure class="chart"><svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-label="{escape(caption)}" preserveAspectRatio="none">'
        f"<title>{escape(caption)}</title>"
        f"{body}</svg><figcaption>{escape(caption)}<ul class=legend>{legend}</ul></figcaption>"
        f"{_table(caption, labels, series)}</figure>"
    )


def line(caption: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    top = _scale(series)
    n = max(len(labels) - 1, 1)
    body = _axis(top, labels)
    for s in series:
        points = " ".join(
            f"{PAD + i * (WIDTH - PAD) / n:.1f},{HEIGHT - PAD - v / top * (HEIGHT - 2 * PAD):.1f}"
            for i, v in enumerate(s.values)
        )
        body += f'<polyline class="{escape(s.css)}" fill="none" points="{points}"/>'
    return _figure(caption, body, labels, series)


def bars(caption: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    top = _scale(series)
    slot = (WIDTH - PAD) / max(len(labels), 1)
    width = slot * 0.8 / max(len(series), 1)
    body = _axis(top, labels)
    for k, s in enumerate(series):
        for i, v in enumerate(s.values):
            h = v / top * (HEIGHT - 2 * PAD)
            x = PAD + i * slot + slot * 0.1 + k * width
            body += (
                f'<rect class="{escape(s.css)}" x="{x:.1f}" y="{HEIGHT - PAD - h:.1f}"'
                f' width="{width:.1f}" height="{h:.1f}"><title>{escape(labels[i])}: {v:g}'
                "</title></rect>"
            )
    return _figure(caption, body, labels, series)

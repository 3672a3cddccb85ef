"""Matching offers with needs: hard filters, then an explainable score.

For a new intent, the counterparts worth suggesting are the open intents of
the opposite purpose that pass every hard filter; each gets a score in [0, 1]
that is a weighted sum of five parts, and a sentence per part saying why:

    hard filters              opposite purpose · same action family · compatible
                              resource type · both still open and not ended ·
                              windows overlap · within both ranges (when both have
                              a place) · units of one dimension · not the same group
    score = sum of weight * part   type specificity · distance decay 1/(1 + d/10 km)
                              · time overlap / shorter window · graph closeness
                              1/hops · quantity fit min/max

Type specificity, most specific first (a closer fit never scores lower):

    same type (wd:Q15026 = wd:Q15026)                        1.0
    one a Wikidata subclass of the other, n steps apart      0.5 + 0.6 / (n + 1)
        (a need for furniture, an offer of a chair: 1 step, 0.8)
    a classification word (``label:furniture``) on a side:
        the same word, or the label of the same shipped type 0.5
        the label of a type n steps from the other's         0.3 + 0.2 / (n + 1)
    one side accepts any resource                            0.3

The subclass relation comes from the shipped taxonomy (``taxonomy.py``).

Matching is symmetric (a's score against b is b's against a), so a suggestion
shown to one group is the same one the other group sees. It never creates an
agreement. :class:`MatchIndex` keeps intents bucketed by (purpose, type) so a
suggestion looks at the few buckets that can match, not at every intent.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from imago_fed.domain.graph.places import distance_km
from imago_fed.domain.resources.intents import Intent
from imago_fed.domain.resources.taxonomy import Taxonomy, taxonomy
from imago_fed.domain.resources.vocabulary import action_family

__all__ = ["TYPE_VALUES", "WEIGHTS", "Match", "MatchIndex", "refusal", "score", "suggest"]

WEIGHTS: Mapping[str, float] = {
    "type": 0.3,
    "distance": 0.2,
    "time": 0.15,
    "graph": 0.15,
    "quantity": 0.2,
}
DISTANCE_SCALE_KM = 10.0
#: The type part's values by tier. Within a tier a closer relation scores higher
#: (``base + span / (steps + 1)``), and every tier stays above the next one, so a
#: more specific fit never scores lower than a less specific one.
TYPE_VALUES: Mapping[str, float] = {
    "same": 1.0,
    "subclass_base": 0.5,
    "subclass_span": 0.6,  # 1 step 0.8, 2 steps 0.7, ... above 0.5
    "word_base": 0.3,
    "word_span": 0.2,  # the same word or the word for the same type 0.5, 1 step 0.4, ...
    "any": 0.3,
}


@dataclass(frozen=True)
class Match:
    """A suggested counterpart, its score and the reasons for it."""

    intent: Intent
    score: float
    parts: Mapping[str, float] = field(default_factory=dict)
    why: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent.to_dict(),
            "group": self.intent.group,
            "score": self.score,
            "parts": dict(self.parts),
            "why": list(self.why),
        }


def _tier(tier: str, steps: int) -> float:
    return TYPE_VALUES[f"{tier}_base"] + TYPE_VALUES[f"{tier}_span"] / (steps + 1)


def _type_part(a: Intent, b: Intent, tax: Taxonomy) -> tuple[float, str] | None:
    """How specifically b's resource type answers a's, and why (None: not at all)."""
    ka, kb = a.type_key, b.type_key
    if not ka or not kb:
        return TYPE_VALUES["any"], "one side accepts any resource"
    worded = ka.startswith("label:") or kb.startswith("label:")
    if ka == kb:
        if worded:
            return _tier("word", 0), f"same classification word ({tax.name(ka)})"
        return TYPE_VALUES["same"], f"same resource type ({_type_name(a, tax)})"
    ra, rb = tax.resolve(ka), tax.resolve(kb)
    steps = 0 if ra == rb else tax.steps(ra, rb)
    if steps is None:
        return None
    if worded:
        word = ka if ka.startswith("label:") else kb
        named, other = (ra, rb) if word == ka else (rb, ra)
        said = f"the word '{tax.name(word)}' names {tax.name(named)}"
        if steps == 0:
            return _tier("word", 0), f"{said}, the other side's type (matched by word)"
        how = "a kind of" if other in tax.broader.get(named, {}) else "a broader type than"
        return _tier("word", steps), (
            f"{said}, {how} {tax.name(other)} (matched by word, {_steps(steps)})"
        )
    narrow, broad = (ra, rb) if rb in tax.broader.get(ra, {}) else (rb, ra)
    return _tier("subclass", steps), (
        f"{tax.name(narrow)} is a kind of {tax.name(broad)} (Wikidata subclass of, {_steps(steps)})"
    )


def _steps(steps: int) -> str:
    return f"{steps} step{'s' if steps > 1 else ''}"


def _type_name(intent: Intent, tax: Taxonomy) -> str:
    resource = intent.resource
    if resource is None:
        return "any"
    if resource.key in tax.labels:
        return tax.name(resource.key)
    return resource.qid or resource.label or resource.key


def refusal(a: Intent, b: Intent, now: datetime, types: Taxonomy | None = None) -> str | None:
    """Why ``b`` cannot answer ``a`` (None: it passes every hard filter).

    ``types`` is the taxonomy (None: the shipped one)."""
    if b.purpose != a.counter_purpose:
        return "same purpose"
    if a.group == b.group:
        return "same group"
    if a.state != "open" or b.state != "open":
        return "not open"
    if action_family(a.action) != action_family(b.action):
        return f"actions do not match ({a.action}, {b.action})"
    if _type_part(a, b, types if types is not None else taxonomy()) is None:
        return "different resource types"
    if a.window.ended_by(now) or b.window.ended_by(now):
        return "availability ended"
    overlap = a.window.overlap_seconds(b.window)
    if overlap is not None and overlap <= 0:
        return "availability windows do not overlap"
    if (
        a.place is not None
        and b.place is not None
        and distance_km(a.place, b.place) > min(a.range_km, b.range_km)
    ):
        return "too far apart"
    if (
        a.quantity is not None
        and b.quantity is not None
        and a.quantity.unit.dimension != b.quantity.unit.dimension
    ):
        return "quantities in units of different dimensions"
    return None


def score(a: Intent, b: Intent, *, hops: int | None = None, types: Taxonomy | None = None) -> Match:
    """The score of ``b`` as a counterpart of ``a`` (hard filters assumed passed)."""
    parts: dict[str, float] = {}
    why: list[str] = []
    type_part = _type_part(a, b, types if types is not None else taxonomy()) or (
        0.0,
        "different resource types",
    )
    parts["type"], reason = type_part
    why.append(reason)
    if a.place is not None and b.place is not None:
        km = distance_km(a.place, b.place)
        parts["distance"] = 1.0 / (1.0 + km / DISTANCE_SCALE_KM)
        why.append(f"{km:.1f} km apart")
    else:
        parts["distance"] = 0.5
        why.append("distance unknown (a side has no place)")
    overlap = a.window.overlap_seconds(b.window)
    shorter = min(
        (s for s in (a.window.length_seconds(), b.window.length_seconds()) if s is not None),
        default=None,
    )
    if overlap is None or shorter is None:
        parts["time"] = 1.0
        why.append("availability open-ended")
    else:
        parts["time"] = max(0.0, min(1.0, overlap / shorter)) if shorter > 0 else 0.0
        why.append(f"windows overlap {overlap / 3600:.0f} h ({parts['time']:.0%} of the shorter)")
    if hops is not None and hops > 0:
        parts["graph"] = 1.0 / hops
        why.append(f"groups {hops} step(s) apart in the graph")
    else:
        parts["graph"] = 0.0
        why.append("groups not related in the graph")
    parts["quantity"], reason = _quantity_part(a, b)
    why.append(reason)
    total = sum(WEIGHTS[k] * v for k, v in parts.items())
    rounded = {k: round(v, 4) for k, v in parts.items()}
    return Match(b, round(total, 4), rounded, tuple(why))


def _quantity_part(a: Intent, b: Intent) -> tuple[float, str]:
    qa, qb = a.available, b.available
    if qa is None or qb is None or qa.value is None or qb.value is None:
        return 0.5, "quantity open on a side"
    x, y = qa.in_base(), qb.in_base()
    assert x is not None and y is not None
    if x <= 0 or y <= 0:
        return 0.0, "nothing left on a side"
    fit = float(min(x, y) / max(x, y))
    return fit, f"quantities fit {fit:.0%} ({_show(qa)} / {_show(qb)})"


def _show(quantity: Any) -> str:
    return f"{quantity.value.normalize():f} {quantity.unit.name}"


def suggest(
    new: Intent,
    candidates: Iterable[Intent],
    *,
    now: datetime,
    limit: int = 10,
    hops: Mapping[str, int] | None = None,
    types: Taxonomy | None = None,
) -> list[Match]:
    """The best ``limit`` counterparts of ``new`` among ``candidates``, best first.

    Ties are broken by intent id, so the order is stable between calls.
    """
    hops = hops or {}
    types = types if types is not None else taxonomy()
    scored = (
        score(new, c, hops=hops.get(c.group), types=types)
        for c in candidates
        if refusal(new, c, now, types) is None
    )
    return heapq.nsmallest(limit, scored, key=_order)


def _order(match: Match) -> tuple[float, int, str]:
    return (-match.score, match.intent.id or 0, match.intent.ap_id or "")


class MatchIndex:
    """Open intents bucketed by (purpose, type key): what a suggestion needs to look at.

    An intent for "any resource" lives in the "" bucket, which every suggestion
    also reads; a typed suggestion reads the buckets of its type's broader and
    narrower types and of the words naming them (``Taxonomy.related``); a
    suggestion for "any resource" reads every bucket of the other purpose
    (rare, and still filtered).
    """

    def __init__(self, types: Taxonomy | None = None) -> None:
        self._buckets: dict[tuple[str, str], dict[int, Intent]] = {}
        self.types: Taxonomy = types if types is not None else taxonomy()

    def __len__(self) -> int:
        return sum(len(b) for b in self._buckets.values())

    def add(self, intent: Intent) -> None:
        if intent.id is None:
            raise ValueError("only stored intents (with an id) go into the index")
        self._buckets.setdefault((intent.purpose, intent.type_key), {})[intent.id] = intent

    def remove(self, intent: Intent) -> None:
        assert intent.id is not None
        self._buckets.get((intent.purpose, intent.type_key), {}).pop(intent.id, None)

    def candidates(self, new: Intent) -> Iterable[Intent]:
        purpose = new.counter_purpose
        if not new.type_key:
            for (p, _), bucket in self._buckets.items():
                if p == purpose:
                    yield from bucket.values()
            return
        for key in self.types.related(new.type_key) | {""}:
            yield from self._buckets.get((purpose, key), {}).values()

    def suggest(
        self, new: Intent, *, now: datetime, limit: int = 10, hops: Mapping[str, int] | None = None
    ) -> list[Match]:
        return suggest(new, self.candidates(new), now=now, limit=limit, hops=hops, types=self.types)

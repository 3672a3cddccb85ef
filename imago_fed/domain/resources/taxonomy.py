"""Broader and narrower resource types: a need for furniture is met by a chair.

Matching compares resource types by key (``wd:Q15026``). Alone, that would
refuse a chair to a group that asked for furniture. The shipped taxonomy is a
few hundred Wikidata classes of common goods and food and the "subclass of" (P279)
edges between them (``data/resource_types.csv``, sources in
``data/SOURCES.md``), read once into the transitive closure matching needs:

    chair (Q15026) ──P279──> seat (Q2207370) ──P279──> furniture (Q14745)
    steps(chair, furniture) == 1 (a direct edge is the shortest way)

and how far apart two related types are (``steps``), because a closer
relation is the better fit. A classification word (``label:furniture``)
that is the English label of a shipped class is *read as* that class, but
matched as a word: only the label is known, not what the other server meant.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from imago_fed.domain.graph.wikidata import parse_qid

__all__ = ["Taxonomy", "taxonomy"]

_COLUMNS = ["qid", "label", "broader"]
WORD_PREFIX = "label:"
ENTITY_PREFIX = "wd:"


def _word(label: str) -> str:
    return WORD_PREFIX + " ".join(label.casefold().split())


@dataclass(frozen=True)
class Taxonomy:
    """Type keys and, for each, its broader keys with the number of steps to each."""

    broader: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    narrower: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    words: Mapping[str, str] = field(default_factory=dict)  # label:<word> -> type key

    @classmethod
    def from_edges(
        cls, edges: Iterable[tuple[str, str]], labels: Mapping[str, str] | None = None
    ) -> Taxonomy:
        """Close ``(narrower, broader)`` edges transitively, keeping the fewest steps.

        A label two classes share names neither (``words`` skips it): reading
        the word as one of them would be a guess.
        """
        parents: dict[str, set[str]] = {}
        for child, parent in edges:
            if child != parent:
                parents.setdefault(child, set()).add(parent)
        broader: dict[str, dict[str, int]] = {}
        for start in parents:
            seen: dict[str, int] = {}
            queue = deque((p, 1) for p in parents[start])
            while queue:
                key, steps = queue.popleft()
                if key in seen or key == start:
                    continue
                seen[key] = steps
                queue.extend((p, steps + 1) for p in parents.get(key, ()))
            broader[start] = seen
        narrower: dict[str, dict[str, int]] = {}
        for child, ancestors in broader.items():
            for ancestor, steps in ancestors.items():
                narrower.setdefault(ancestor, {})[child] = steps
        labels = dict(labels or {})
        by_word: dict[str, set[str]] = {}
        for key, label in labels.items():
            by_word.setdefault(_word(label), set()).add(key)
        words = {word: next(iter(keys)) for word, keys in by_word.items() if len(keys) == 1}
        return cls(broader, labels, narrower, words)

    @classmethod
    def from_csv(cls, text: str) -> Taxonomy:
        """``qid,label,broader`` rows; ``broader`` lists QIDs separated by spaces."""
        rows = csv.reader(io.StringIO(text))
        header = next(rows)
        if header != _COLUMNS:
            raise ValueError(f"unexpected taxonomy columns: {header}")
        labels: dict[str, str] = {}
        edges: list[tuple[str, str]] = []
        for qid, label, broader in rows:
            key = ENTITY_PREFIX + parse_qid(qid)
            labels[key] = label
            edges.extend((key, ENTITY_PREFIX + parse_qid(p)) for p in broader.split())
        unknown = {parent for _, parent in edges} - set(labels)
        if unknown:
            raise ValueError(f"broader types without a row: {', '.join(sorted(unknown))}")
        return cls.from_edges(edges, labels)

    def __len__(self) -> int:
        return len(self.labels)

    def resolve(self, key: str) -> str:
        """The type a classification word names, when it is a shipped class's label."""
        return self.words.get(key, key) if key.startswith(WORD_PREFIX) else key

    def steps(self, a: str, b: str) -> int | None:
        """Steps between two types when one is a subclass of the other (None otherwise).
        Symmetric, so matching stays symmetric."""
        down = self.broader.get(a, {}).get(b)
        return down if down is not None else self.broader.get(b, {}).get(a)

    def name(self, key: str) -> str:
        """``chair (Q15026)`` for a shipped class, the key's own text otherwise."""
        label = self.labels.get(key)
        bare = key.removeprefix(ENTITY_PREFIX).removeprefix(WORD_PREFIX)
        return f"{label} ({bare})" if label else bare

    def related(self, key: str) -> frozenset[str]:
        """Every key a type may match: itself, its broader and narrower types, and the
        classification words naming any of them (what the candidates query reads)."""
        if not key:
            return frozenset()
        start = self.resolve(key)
        types = {start, *self.broader.get(start, {}), *self.narrower.get(start, {})}
        named = {_word(self.labels[t]): t for t in types if t in self.labels}
        words = {word for word, t in named.items() if self.words.get(word) == t}
        return frozenset(types | words | {key})


@cache
def taxonomy() -> Taxonomy:
    """The shipped taxonomy, read on first use and kept for the process."""
    data = resources.files("imago_fed.domain.resources").joinpath("data")
    return Taxonomy.from_csv(data.joinpath("resource_types.csv").read_text(encoding="utf-8"))

"""A live WikiData lookup: ids the shipped gazetteer does not know, resolved on demand.

Off by default (``[graph] wikidata_lookup``): federation must not wait on
WikiData, and an instance may not want to call it at all. When on, the use cases
ask this port after the gazetteer, and only then::

    {"wikidata": "Q…"} ──> gazetteer ──(unknown)──> WikidataLookup ──> Place | None

The adapter (HTTP, ``web/wikidata.py``) raises :class:`UpstreamFailed` when
WikiData cannot answer (timeout, error, an answer too large or malformed), so
the caller says so instead of calling the id unknown.
"""

from __future__ import annotations

from typing import Protocol

from imago_fed.domain.errors import UpstreamFailed
from imago_fed.domain.graph.places import Place

__all__ = ["UpstreamFailed", "WikidataLookup"]


class WikidataLookup(Protocol):
    """A live WikiData lookup (``[graph] wikidata_lookup``, off by default)."""

    async def place(self, qid: str) -> Place | None:
        """The item's label and coordinates (P625), or None: no such item, or no point."""
        ...

    async def theme(self, qid: str) -> str | None:
        """The entity's label, or None if there is no such item."""
        ...

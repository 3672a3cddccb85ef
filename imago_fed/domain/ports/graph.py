"""Ports of proximity: where groups are, what they care about, who is near.

    services/proximity.py, services/propagation.py
      └─ GraphNodes     places, themes and weights of our groups; places and
                        themes other servers' group actors publish; and the
                        neighbourhood of a group: candidates fetched by index
                        (nearest by place, nearest sharing each theme, related)
                        for the domain to score and rank (store/graph_nodes.py)

The store only *fetches*; it never decides who is closest. The domain's
:func:`~imago_fed.domain.graph.proximity.rank` does, over a few hundred
candidates, so the figures and the ``why`` sentence come from one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from imago_fed.domain.graph.places import Place
from imago_fed.domain.graph.proximity import GroupNode, ProximityWeights
from imago_fed.domain.graph.relations import Relation

__all__ = ["GraphNodes", "Neighbourhood", "NodeProfile"]


@dataclass(frozen=True)
class NodeProfile:
    """What one of our groups declared: its place, its themes, how it weighs proximity."""

    place: Place | None = None
    themes: tuple[str, ...] = ()
    weights: ProximityWeights = field(default_factory=ProximityWeights)


@dataclass(frozen=True)
class Neighbourhood:
    """A group as proximity sees it, and the candidates fetched around it.

    ``relations`` are the accepted edges within reach (the anchor's, and those of
    local groups it reaches), for :func:`~imago_fed.domain.graph.proximity.hops_from`.
    ``handles`` maps actor ids to ``@name@host`` where known.
    """

    anchor: GroupNode
    weights: ProximityWeights
    candidates: Sequence[GroupNode]
    relations: Sequence[Relation] = ()
    handles: Mapping[str, str] = field(default_factory=dict)


class GraphNodes(Protocol):
    async def profile(self, group_id: int) -> NodeProfile | None:
        """What the group declared, or None if it never did."""
        ...

    async def save_profile(
        self, group_id: int, actor: str, handle: str, profile: NodeProfile, now: datetime
    ) -> None: ...

    async def save_remote(
        self, actor: str, handle: str | None, place: Place | None, themes: Sequence[str],
        now: datetime,
    ) -> None:  # fmt: skip
        """Record (or clear) what another server's group publishes about itself."""
        ...

    async def neighbourhood(
        self, group_id: int, actor: str, *, nearest: int, per_theme: int, hops: int
    ) -> Neighbourhood:
        """The ``nearest`` groups by place, the ``per_theme`` nearest sharing each of
        the group's themes, and every group within ``hops`` accepted relations."""
        ...

    async def nearest(
        self, group_id: int, actor: str, *, k: int, hops: int, nearest: int, per_theme: int
    ) -> Neighbourhood:
        """``neighbourhood``'s candidates cut down to those that can be among the best ``k``.

        One round trip. Every related group comes back; of the others, only the
        best ``k`` by the group's own weights (scored in the store as
        :func:`~imago_fed.domain.graph.proximity.rank` scores them, ties and
        rounding included), so ``rank`` over them gives the same best ``k`` as
        over all of ``neighbourhood``'s candidates.
        """
        ...

"""Where a group is, what it cares about, and which groups are closest to it.

    update(slug, place, themes, proximity)
        place {"wikidata": "Q90"} ── gazetteer (shipped; live lookup if enabled)
        place {"lat", "lon", "label"} ── validated as is
        themes ["Q7397", ...] ── known themes only (a typo would match nobody)
        ──> GraphNodes.save_profile ──> the actor document shows them
            (as:Place, Hashtag tags) and other servers rank us by them

    nearby(slug, k)
        GraphNodes.nearest ── one round trip: the group's node, its relations,
            candidates by index (place, themes, relations), pre-scored so only
            the best k unrelated ones (and every related one) come back
        ──> hops_from ──> rank (exact: great-circle km, theme overlap, hops,
            the group's own weights) ──> the best k, each with its "why"

    remote(actor, ...)  what another server's group actor publishes (its place
                        and themes), recorded when we fetch the actor

Remote groups are nodes like ours: they rank by what their actors publish.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from imago_fed.domain.errors import InvalidInput, NotFound, UpstreamFailed
from imago_fed.domain.events import GroupChanged, GroupEvent
from imago_fed.domain.graph.gazetteer import Gazetteer, gazetteer
from imago_fed.domain.graph.places import Place
from imago_fed.domain.graph.proximity import (
    MAX_HOPS,
    MAX_K,
    ProximityWeights,
    Score,
    hops_from,
    rank,
)
from imago_fed.domain.graph.wikidata import parse_qid, parse_qids
from imago_fed.domain.groups import Group
from imago_fed.domain.ports.clock import Clock
from imago_fed.domain.ports.events import GroupEventLog
from imago_fed.domain.ports.graph import GraphNodes, Neighbourhood, NodeProfile
from imago_fed.domain.ports.groups import GroupRepository
from imago_fed.domain.ports.relations import GroupAddresses
from imago_fed.domain.ports.wikidata import WikidataLookup

__all__ = ["CANDIDATES_PER_RESULT", "Nearby", "Proximity", "WikidataLookup"]

# Candidates fetched per result wanted: the planar index order differs from the
# great-circle one, and themes and hops reorder the rest, so fetch a margin.
CANDIDATES_PER_RESULT = 4
MAX_THEMES = 50
#: Labels of themes learnt from the live WikiData lookup, kept per process (oldest out first).
LOOKED_UP_LABELS = 4096
_UNSET: Any = object()


@dataclass(frozen=True)
class Nearby:
    """One ranked group, as the admin API shows it."""

    score: Score
    handle: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"actor": self.score.group, "handle": self.handle, **self.score.to_dict()}


class Proximity:
    def __init__(
        self,
        nodes: GraphNodes,
        addresses: GroupAddresses,
        groups: GroupRepository,
        clock: Clock,
        domain: str,
        *,
        places: Gazetteer | None = None,
        lookup: WikidataLookup | None = None,
        events: GroupEventLog | None = None,
    ) -> None:
        self._nodes, self._addresses, self._groups = nodes, addresses, groups
        self._clock, self._domain, self._lookup = clock, domain, lookup
        self._events = events
        self._gazetteer = places
        # Themes the gazetteer lacks, labelled by the live lookup when they were accepted:
        # served with them, so the admin API and the actor's tags show a name, not null.
        self._looked_up: OrderedDict[str, str] = OrderedDict()

    @property
    def gazetteer(self) -> Gazetteer:
        if self._gazetteer is None:
            self._gazetteer = gazetteer()  # loaded on first use (about a second)
        return self._gazetteer

    # ------------------------------------------------------------ profile
    async def profile(self, slug: str) -> NodeProfile:
        group = await self._group(slug)
        assert group.id is not None
        return await self._nodes.profile(group.id) or NodeProfile()

    async def update(
        self, slug: str, *, place: object = _UNSET, themes: object = _UNSET,
        proximity: object = _UNSET,
    ) -> NodeProfile:  # fmt: skip
        """Change what was given (``None`` clears a place); the rest stays."""
        group = await self._group(slug)
        assert group.id is not None
        current = await self._nodes.profile(group.id) or NodeProfile()
        changed = current
        if place is not _UNSET:
            changed = replace(changed, place=await self.resolve_place(place))
        if themes is not _UNSET:
            changed = replace(changed, themes=await self.resolve_themes(themes))
        if proximity is not _UNSET:
            if not isinstance(proximity, Mapping):
                raise InvalidInput("proximity must be an object", field="proximity")
            merged = {**current.weights.to_dict(), **proximity}
            changed = replace(changed, weights=ProximityWeights.from_dict(merged))
        if changed != current:
            handle = f"@{slug}@{self._domain}"
            actor = self._addresses.actor(slug)
            now = self._clock.now()
            await self._nodes.save_profile(group.id, actor, handle, changed, now)
            if self._events is not None:  # followers get an Update of the actor
                await self._events.record(
                    GroupEvent(group.id, "graph", f"place|{now.isoformat()}|{group.id}",
                               GroupChanged())
                )  # fmt: skip
        return changed

    async def resolve_place(self, value: object) -> Place | None:
        """``{"wikidata": "Q90"}``, ``{"lat", "lon", "label"}`` (with or without an id), or None."""
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise InvalidInput(
                'place must be {"wikidata": "Q90"} or {"lat": 48.85, "lon": 2.35, "label": '
                '"Paris"}',
                field="place",
            )
        if "lat" in value or "lon" in value:
            return Place.from_dict(value)
        unknown = set(value) - {"wikidata", "label"}
        if unknown or "wikidata" not in value:
            raise InvalidInput(
                "place needs wikidata, or lat and lon" + (
                    f" (unknown keys: {', '.join(sorted(unknown))})" if unknown else ""
                ),
                field="place",
            )  # fmt: skip
        qid = parse_qid(value["wikidata"], field="place.wikidata")
        found = self.gazetteer.place(qid)
        if found is not None and found.lat is not None and found.lon is not None:
            label = value.get("label") or found.label
            return Place(found.lat, found.lon, label, qid)
        if self._lookup is not None:
            looked_up = await self._lookup.place(qid)
            if looked_up is not None:
                return looked_up if not value.get("label") else replace(
                    looked_up, label=value["label"]
                )  # fmt: skip
        raise InvalidInput(
            f"unknown place {qid}: not in the shipped gazetteer"
            + ("" if self._lookup else " (live WikiData lookup is off)")
            + '; give its coordinates: {"lat": ..., "lon": ..., "label": ..., "wikidata": "'
            + qid + '"}',
            field="place.wikidata",
        )  # fmt: skip

    async def resolve_themes(self, value: object) -> tuple[str, ...]:
        """Theme ids, each a theme the gazetteer knows (or WikiData, when the lookup is on)."""
        if value is None:
            return ()
        qids = parse_qids(value, field="themes", limit=MAX_THEMES)  # type: ignore[arg-type]
        for qid in qids:
            if self.gazetteer.theme(qid) is not None or self.gazetteer.place(qid) is not None:
                continue
            label = await self._lookup.theme(qid) if self._lookup is not None else None
            if label is not None:
                self._remember(qid, label)
                continue
            raise InvalidInput(
                f"unknown theme {qid}: not among the shipped themes"
                + ("" if self._lookup else " (live WikiData lookup is off)"),
                field="themes",
            )
        return qids

    def labels(self, qids: Sequence[str]) -> dict[str, str]:
        """Theme labels for ``why`` sentences and the actor's tags: the gazetteer's (a theme
        or a place), else the one the live lookup gave when the theme was accepted."""
        found = {}
        for qid in qids:
            theme = self.gazetteer.theme(qid)
            place = self.gazetteer.place(qid) if theme is None else None
            if theme is not None:
                found[qid] = theme.label_en
            elif place is not None and place.qid == qid:
                found[qid] = place.label
            elif qid in self._looked_up:
                found[qid] = self._looked_up[qid]
        return found

    async def theme_labels(self, qids: Sequence[str]) -> dict[str, str]:
        """``labels``, asking the live lookup (it caches) for themes no one here names yet:
        accepted before a restart, or by another process. A failing lookup leaves the labels
        out (and is not asked again for this call) rather than failing the page that shows
        them. Federation does not wait on WikiData: the actor document uses ``labels``."""
        found = self.labels(qids)
        if self._lookup is None:
            return found
        for qid in qids:
            if qid in found:
                continue
            try:
                label = await self._lookup.theme(qid)
            except UpstreamFailed:
                break
            if label is not None:
                found[qid] = self._remember(qid, label)
        return found

    def _remember(self, qid: str, label: str) -> str:
        self._looked_up[qid] = label
        self._looked_up.move_to_end(qid)
        while len(self._looked_up) > LOOKED_UP_LABELS:
            self._looked_up.popitem(last=False)
        return label

    # ------------------------------------------------------------- nearby
    async def nearby(self, slug: str, k: int = 50, *, hops: int = 3) -> list[Nearby]:
        """The ``k`` closest groups, local or remote, best first, each with why."""
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise InvalidInput(f"k must be a whole number from 1 to {MAX_K}", field="k")
        if not 0 <= hops <= MAX_HOPS:
            raise InvalidInput(f"hops must be from 0 to {MAX_HOPS}", field="hops")
        group = await self._group(slug)
        assert group.id is not None
        hood = await self._nodes.nearest(
            group.id, self._addresses.actor(group.slug), k=k, hops=hops,
            nearest=k * CANDIDATES_PER_RESULT, per_theme=k,
        )  # fmt: skip
        paths = hops_from(hood.anchor.id, hood.relations, hops) if hops else {}
        scores = rank(hood.anchor, hood.candidates, hood.weights, k, paths=paths,
                      labels=self.labels(sorted(hood.anchor.themes)))  # fmt: skip
        return [Nearby(s, self._handle(s.group, hood)) for s in scores]

    async def neighbourhood(self, group: Group, k: int, *, hops: int = 3) -> Neighbourhood:
        """The candidates around ``group`` (for ``nearby`` and for propagation's plan)."""
        assert group.id is not None
        return await self._nodes.neighbourhood(
            group.id, self._addresses.actor(group.slug),
            nearest=min(MAX_K * CANDIDATES_PER_RESULT, k * CANDIDATES_PER_RESULT),
            per_theme=k, hops=hops,
        )  # fmt: skip

    def _handle(self, actor: str, hood: Neighbourhood) -> str | None:
        slug = self._addresses.local_slug(actor)
        if slug is not None:
            return f"@{slug}@{self._domain}"
        return hood.handles.get(actor)

    # ------------------------------------------------------------- remote
    async def remote(
        self, actor: str, handle: str | None, place: Place | None, themes: Sequence[str]
    ) -> None:
        """Record what another server's group publishes (never one of ours)."""
        if self._addresses.local_slug(actor) is not None:
            return
        await self._nodes.save_remote(actor, handle, place, themes[:MAX_THEMES],
                                      self._clock.now())  # fmt: skip

    async def _group(self, slug: str) -> Group:
        group = await self._groups.get(slug)
        if group is None:
            raise NotFound(f"no group {slug}")
        return group

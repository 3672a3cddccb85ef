"""The graph of groups: typed relations, places and themes, proximity, propagation.

Groups are the nodes; accepted relations are the edges; places and Wikidata
themes say where a group is and what it cares about. From these the domain
answers two questions: which groups are *close* to a group, and what a group
does with an announcement that reaches it. All pure: the store fetches
candidates with indexes, the adapters carry items over ActivityPub and Matrix.

    wikidata ── QIDs ──┐
    places ── Place, distance_km, bounding_box ──┐
    relations ── Relation lifecycle, kinds ──────┤
                                                 v
    proximity ── hops_from, score, rank ──> Score ("12 km away, ..., 1 hop (partner)")
                                                 │
                                                 v
    propagation ── plan (k closest matching the criteria) ──> Item(origin, path, hops)
                                                                 │  (over the network)
                                                                 v
    feeds ── accept(item, FeedRules, seen, now, rate) ──> accept | hold | drop, reason
             │                                              │
             └── PersonalFeed.matches ──> a person's feed   └── may_forward: relay = plan again
                                                                from the receiver, path excluded
"""

from __future__ import annotations

from imago_fed.domain.graph.feeds import (
    REANNOUNCE_MODES,
    Bucket,
    Decision,
    FeedRules,
    PersonalFeed,
    RateLimit,
    RateState,
    Receiver,
    accept,
)
from imago_fed.domain.graph.places import (
    EARTH_RADIUS_KM,
    MAX_DISTANCE_KM,
    BoundingBox,
    Place,
    bounding_box,
    distance_km,
    validate_radius,
)
from imago_fed.domain.graph.propagation import (
    Item,
    ItemMeta,
    PropagationCriteria,
    originate,
    plan,
)
from imago_fed.domain.graph.proximity import (
    MAX_HOPS,
    MAX_K,
    GraphPath,
    GroupNode,
    ProximityWeights,
    Score,
    hops_from,
    rank,
    score,
)
from imago_fed.domain.graph.relations import (
    DEFAULT_KINDS,
    RELATION_STATES,
    RELATION_TRANSITIONS,
    Relation,
    RelationKinds,
    propose,
    validate_group_id,
)
from imago_fed.domain.graph.wikidata import (
    ENTITY_PREFIX,
    entity_iri,
    normalize_entity,
    parse_qid,
    parse_qids,
    qid_number,
    same_entity,
)

__all__ = [
    "DEFAULT_KINDS",
    "EARTH_RADIUS_KM",
    "ENTITY_PREFIX",
    "MAX_DISTANCE_KM",
    "MAX_HOPS",
    "MAX_K",
    "REANNOUNCE_MODES",
    "RELATION_STATES",
    "RELATION_TRANSITIONS",
    "BoundingBox",
    "Bucket",
    "Decision",
    "FeedRules",
    "GraphPath",
    "GroupNode",
    "Item",
    "ItemMeta",
    "PersonalFeed",
    "Place",
    "PropagationCriteria",
    "ProximityWeights",
    "RateLimit",
    "RateState",
    "Receiver",
    "Relation",
    "RelationKinds",
    "Score",
    "accept",
    "bounding_box",
    "distance_km",
    "entity_iri",
    "hops_from",
    "normalize_entity",
    "originate",
    "parse_qid",
    "parse_qids",
    "plan",
    "propose",
    "qid_number",
    "rank",
    "same_entity",
    "score",
    "validate_group_id",
    "validate_radius",
]

"""Resources: what groups have and need (ValueFlows intents), agreements between
groups, inventories, and matching offers with needs. Pure: no I/O, no wire words."""

from imago_fed.domain.resources.agreements import AGREEMENT, InventoryItem, Terms, terms_for
from imago_fed.domain.resources.intents import INTENT, Intent, Quantity, Window, intent_from_dict
from imago_fed.domain.resources.matching import Match, MatchIndex, score, suggest

__all__ = [
    "AGREEMENT",
    "INTENT",
    "Intent",
    "InventoryItem",
    "Match",
    "MatchIndex",
    "Quantity",
    "Terms",
    "Window",
    "intent_from_dict",
    "score",
    "suggest",
    "terms_for",
]

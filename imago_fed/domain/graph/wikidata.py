"""Wikidata entity ids: the one way places and themes are named across servers.

Groups declare their place and themes as Wikidata entities so that two servers
that never talked to each other agree on what "Paris" or "gardening" means. The
same entity reaches us spelled in several ways: a bare ``Q90``, the canonical
RDF IRI ``http://www.wikidata.org/entity/Q90`` (what Wikidata itself uses), or
the page URL ``https://www.wikidata.org/wiki/Q90`` (what FEP-0837, Mitra and
Epicyon publish), sometimes on the mobile host ``m.wikidata.org``. So we
compare by QID only and emit the ``/entity/`` form:

    Q90                                  ─┐
    https://m.wikidata.org/wiki/Q90      ─┼─ parse_qid ──> Q90
    http://www.wikidata.org/entity/Q90   ─┘                  │
                                  entity_iri <───────────────┘
                                      └──> http://www.wikidata.org/entity/Q90

Anything else (a property ``P31``, a lexeme, another host, a trailing path) is
refused with InvalidInput: a theme that silently turns into nothing would make
proximity lie.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from imago_fed.domain.errors import InvalidInput

__all__ = [
    "ENTITY_PREFIX",
    "entity_iri",
    "normalize_entity",
    "parse_qid",
    "parse_qids",
    "qid_number",
    "same_entity",
]

ENTITY_PREFIX = "http://www.wikidata.org/entity/"
# Wikidata never issues ids with leading zeros; Q0 does not exist either.
_QID = r"Q[1-9][0-9]{0,11}"
_BARE = re.compile(_QID)
_IRI = re.compile(rf"https?://(?:www\.|m\.)?wikidata\.org/(?:entity|wiki)/({_QID})")
# Longer than any IRI form above: refuse early rather than run a regex on a megabyte.
_MAX_INPUT = 100


def parse_qid(value: object, *, field: str = "wikidata") -> str:
    """Return the bare QID (``"Q90"``) of any accepted spelling, else raise InvalidInput."""
    if not isinstance(value, str) or len(value) > _MAX_INPUT:
        raise InvalidInput(_message(value), field=field)
    text = value.strip()
    if _BARE.fullmatch(text):
        return text
    match = _IRI.fullmatch(text)
    if match is None:
        raise InvalidInput(_message(value), field=field)
    return match.group(1)


def entity_iri(qid: str) -> str:
    """The canonical IRI of a QID (or of any accepted spelling of one)."""
    return ENTITY_PREFIX + parse_qid(qid)


def normalize_entity(value: object, *, field: str = "wikidata") -> str:
    """Any accepted spelling to the canonical ``http://www.wikidata.org/entity/Q…`` IRI."""
    return ENTITY_PREFIX + parse_qid(value, field=field)


def same_entity(a: str, b: str) -> bool:
    """Whether two spellings name the same entity; False if either is not an entity."""
    try:
        return parse_qid(a) == parse_qid(b)
    except InvalidInput:
        return False


def qid_number(qid: str) -> int:
    """The numeric part, for compact storage (``int[]`` columns with a GIN index)."""
    return int(parse_qid(qid)[1:])


def parse_qids(
    values: Iterable[object], *, field: str = "themes", limit: int = 50
) -> tuple[str, ...]:
    """Parse a list of entities into unique bare QIDs, first occurrence first.

    The limit keeps one group from declaring every theme there is, which would
    make it "close" to everyone.
    """
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidInput(f"{field} must be a list of Wikidata ids", field=field)
    seen: dict[str, None] = {}
    for value in values:
        seen[parse_qid(value, field=field)] = None
        if len(seen) > limit:
            raise InvalidInput(f"{field} may hold at most {limit} entries", field=field)
    return tuple(seen)


def _message(value: object) -> str:
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    return (
        f"{shown} is not a Wikidata item id: expected Q followed by digits (Q90), "
        "or http(s)://www.wikidata.org/entity/Q90 or .../wiki/Q90"
    )

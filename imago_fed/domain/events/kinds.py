"""What a group event says: one kind, one frozen dataclass of typed fields.

The log stores each event as its kind (a name) and a JSON object (the
payload); these classes are the only readers and writers of that object:

    Kind.POST_SHARED ─┐                      ┌─ to_payload() ─> {"object_id": ..., ...}
                      └─ PostShared(fields) ─┤
    {"object_id": ...} ─ decode(kind, payload) ┘   unknown kind / bad field: UndecodableEvent

Reading is lenient where it must be: a key the class does not know is
ignored (a newer writer), a missing key with a default takes it (rows
written before the field existed). A missing required key or a value of the
wrong type is refused, and the reader that meets it logs and skips the event
rather than stop for good on it.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Self

from imago_fed.domain.media import Attachment

__all__ = [
    "EVENT_TYPES",
    "AssemblyClosed",
    "AssemblyConvened",
    "AssemblySaid",
    "EventData",
    "GroupChanged",
    "GroupDeleted",
    "ItemReceived",
    "Kind",
    "MalformedEvent",
    "MemberEdited",
    "MemberInvited",
    "MemberPosted",
    "MemberRemoved",
    "ModeratorsChanged",
    "PostEdited",
    "PostRemoved",
    "PostShared",
    "ProposalClosed",
    "ProposalCounts",
    "ProposalFacts",
    "ProposalOpened",
    "RelationChanged",
    "UndecodableEvent",
    "UnknownKind",
    "decode",
]


class Kind(StrEnum):
    """The stored names of the kinds (rows already written keep them: never rename)."""

    POST_SHARED = "post_shared"
    POST_EDITED = "post_edited"
    POST_REMOVED = "post_removed"
    MEMBER_POSTED = "member_posted"
    MEMBER_EDITED = "member_edited"
    MEMBER_REMOVED = "member_removed"
    GROUP_CHANGED = "group_changed"
    GROUP_DELETED = "group_deleted"
    MODERATORS_CHANGED = "moderators_changed"
    MEMBER_INVITED = "member_invited"
    PROPOSAL_OPENED = "proposal_opened"
    PROPOSAL_COUNTS = "proposal_counts"
    PROPOSAL_CLOSED = "proposal_closed"
    ASSEMBLY_CONVENED = "assembly_convened"
    ASSEMBLY_SAID = "assembly_said"
    ASSEMBLY_CLOSED = "assembly_closed"
    RELATION_CHANGED = "relation_changed"
    ITEM_RECEIVED = "item_received"
    INTENT_CHANGED = "intent_changed"
    MATCH_SUGGESTED = "match_suggested"


class UndecodableEvent(ValueError):
    """A stored event this code cannot read."""


class UnknownKind(UndecodableEvent):
    """A kind no class declares (written by a newer version, or a typo)."""


class MalformedEvent(UndecodableEvent):
    """A known kind whose payload lacks a required field or has a wrong type."""


#: Each kind's class, filled as the classes are defined (one class per kind).
EVENT_TYPES: dict[Kind, type[EventData]] = {}


@dataclass(frozen=True)
class EventData:
    """The fields of one kind of event; subclasses set ``kind``."""

    kind: ClassVar[Kind]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind is None:
            return  # an abstract base sharing fields (ProposalFacts)
        if kind in EVENT_TYPES:
            raise TypeError(f"{kind} is already read by {EVENT_TYPES[kind].__name__}")
        EVENT_TYPES[kind] = cls

    def to_payload(self) -> dict[str, Any]:
        """The JSON object stored in the log (tuples become lists, records objects)."""
        return {
            f.name: [_plain(v) for v in value] if isinstance(value, tuple) else value
            for f in dataclasses.fields(self)
            for value in [getattr(self, f.name)]
        }

    @classmethod
    def from_payload(cls, payload: Any) -> Self:
        if not isinstance(payload, dict):
            raise MalformedEvent(f"{cls.kind}: the payload is not an object")
        klass: type = cls  # the cache keys on the class itself
        hints = _field_types(klass)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in payload:
                if f.default is dataclasses.MISSING:
                    raise MalformedEvent(f"{cls.kind}: missing {f.name!r}")
                continue
            values[f.name] = _checked(cls.kind, f.name, hints[f.name], payload[f.name])
        return cls(**values)


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _checked(kind: Kind, name: str, hint: Any, value: Any) -> Any:
    """``value`` if it has the field's type (tuples read from JSON lists, records
    from JSON objects: fields of the record a row lacks take their defaults)."""
    if typing.get_origin(hint) is tuple:
        (item, _ellipsis) = typing.get_args(hint)
        if dataclasses.is_dataclass(item) and isinstance(value, list):
            return tuple(_record(kind, name, item, v) for v in value)
        if isinstance(value, list) and all(_is(item, v) for v in value):
            return tuple(value)
    elif _is(hint, value):
        return value
    raise MalformedEvent(f"{kind}: {name!r} is not {getattr(hint, '__name__', hint)}")


def _record(kind: Kind, name: str, cls: Any, value: Any) -> Any:
    if not isinstance(value, dict):
        raise MalformedEvent(f"{kind}: an item of {name!r} is not an object")
    hints = _field_types(cls)
    values = {
        f.name: _checked(kind, f"{name}.{f.name}", hints[f.name], value[f.name])
        for f in dataclasses.fields(cls)
        if f.name in value
    }
    try:
        return cls(**values)
    except TypeError as exc:  # a required field missing
        raise MalformedEvent(f"{kind}: an item of {name!r}: {exc}") from None


def _is(expected: type, value: Any) -> bool:
    if expected is int:  # JSON true is no number here
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def decode(kind: str, payload: Any) -> EventData:
    """The typed event stored as ``kind`` and ``payload`` (UndecodableEvent otherwise)."""
    try:
        cls = EVENT_TYPES[Kind(kind)]
    except ValueError:
        raise UnknownKind(f"unknown event kind {kind!r}") from None
    return cls.from_payload(payload)


# ----------------------------------------------------- posts from the fediverse
@dataclass(frozen=True)
class PostShared(EventData):
    """The group re-shared a post: the other networks show it, with its author."""

    kind: ClassVar[Kind] = Kind.POST_SHARED
    object_id: str
    url: str
    author_id: str
    author_name: str
    content_html: str
    in_reply_to: str = ""  # the replied-to object id, if any
    attachments: tuple[Attachment, ...] = ()  # where they are on the author's server
    author_avatar: str = ""  # the URL of the author's picture, if they show one


@dataclass(frozen=True)
class PostEdited(EventData):
    kind: ClassVar[Kind] = Kind.POST_EDITED
    object_id: str
    author_id: str
    content_html: str


@dataclass(frozen=True)
class PostRemoved(EventData):
    kind: ClassVar[Kind] = Kind.POST_REMOVED
    object_id: str
    author_id: str


# ------------------------------------------------- messages of chat members
@dataclass(frozen=True)
class MemberPosted(EventData):
    """A member wrote in the group's chat; ids are the chat network's own."""

    kind: ClassVar[Kind] = Kind.MEMBER_POSTED
    member_id: str
    message_id: str
    conversation_id: str
    member_name: str = ""
    text: str = ""
    html: str = ""
    reply_to_message: str = ""  # the replied-to message id, if any
    attachments: tuple[Attachment, ...] = ()  # in our media store (media_id set)


@dataclass(frozen=True)
class MemberEdited(EventData):
    kind: ClassVar[Kind] = Kind.MEMBER_EDITED
    member_id: str
    message_id: str  # the message edited
    text: str = ""
    html: str = ""


@dataclass(frozen=True)
class MemberRemoved(EventData):
    kind: ClassVar[Kind] = Kind.MEMBER_REMOVED
    member_id: str
    message_id: str  # the message removed


# ------------------------------------------------------------ the group itself
@dataclass(frozen=True)
class GroupChanged(EventData):
    """Created, renamed or re-described: readers reload the group."""

    kind: ClassVar[Kind] = Kind.GROUP_CHANGED
    created: bool = False  # a new group: nothing to update elsewhere yet


@dataclass(frozen=True)
class GroupDeleted(EventData):
    """The group is gone (readers cannot load it): what they need to say so."""

    kind: ClassVar[Kind] = Kind.GROUP_DELETED
    slug: str
    name: str = ""


@dataclass(frozen=True)
class ModeratorsChanged(EventData):
    """Readers reload the moderators."""

    kind: ClassVar[Kind] = Kind.MODERATORS_CHANGED


@dataclass(frozen=True)
class MemberInvited(EventData):
    """Someone is to be let into the group on their network (a founder whose
    invitation could not be sent at once): the reader retries until it is."""

    kind: ClassVar[Kind] = Kind.MEMBER_INVITED
    member_id: str
    reason: str = ""


# --------------------------------------------------------------------- proposals
@dataclass(frozen=True)
class ProposalFacts(EventData):
    """A proposal as each network shows it; ``counts`` are direct votes per option."""

    proposal_id: int
    title: str
    options: tuple[str, ...] = ()
    state: str = ""
    closes_at: str = ""  # ISO 8601, or "" when it has no end
    method: str = ""
    protocol: str = ""
    secret: bool = False
    counts: tuple[int, ...] = ()
    voters: int = 0
    result_text: str = ""


@dataclass(frozen=True)
class ProposalOpened(ProposalFacts):
    kind: ClassVar[Kind] = Kind.PROPOSAL_OPENED


@dataclass(frozen=True)
class ProposalCounts(ProposalFacts):
    kind: ClassVar[Kind] = Kind.PROPOSAL_COUNTS


@dataclass(frozen=True)
class ProposalClosed(ProposalFacts):
    kind: ClassVar[Kind] = Kind.PROPOSAL_CLOSED


# -------------------------------------------------------------------- assemblies
@dataclass(frozen=True)
class AssemblyConvened(EventData):
    """An assembly is called: the chat side opens a room (and its call) for it."""

    kind: ClassVar[Kind] = Kind.ASSEMBLY_CONVENED
    assembly_id: int
    title: str
    agenda: tuple[str, ...]
    starts_at: str  # ISO 8601
    convened_by: str = ""


@dataclass(frozen=True)
class AssemblySaid(EventData):
    """What the chair says in the assembly (the floor, the time, the motions)."""

    kind: ClassVar[Kind] = Kind.ASSEMBLY_SAID
    assembly_id: int
    text: str


@dataclass(frozen=True)
class AssemblyClosed(EventData):
    """The assembly ended: its minutes, for every network to publish."""

    kind: ClassVar[Kind] = Kind.ASSEMBLY_CLOSED
    assembly_id: int
    title: str
    minutes_text: str
    minutes_html: str


# ------------------------------------------------------------ the graph of groups
@dataclass(frozen=True)
class RelationChanged(EventData):
    """One of the group's relations came into being or ended (accepted, removed...).

    ``other_is`` is what the other group is to this one (``subgroup``: the other
    group is our sub-group); ``other_slug`` names it when it lives here too, so a
    network can link the two groups' own places (spaces) without a lookup.
    A group elsewhere has no slug here; ``other_space`` is then the Matrix space
    its actor publishes (room id, or alias) and ``other_space_server`` the
    homeserver to reach it through, both empty when it publishes none.
    ``relink``: nothing changed; the accepted relation's spaces are to be linked
    again (the other group published its space only later, or the relation
    predates linking), so networks link without saying anything.
    """

    kind: ClassVar[Kind] = Kind.RELATION_CHANGED
    relation_id: int
    other: str  # the other group's id (its actor IRI)
    other_is: str
    state: str  # accepted, removed, rejected, withdrawn
    other_slug: str = ""
    other_space: str = ""
    other_space_server: str = ""
    relink: bool = False


@dataclass(frozen=True)
class ItemReceived(EventData):
    """An announcement the group propagated or received from another group.

    ``verdict``: ``sent`` (the group originated or relayed it), ``accept``
    (re-announced at once), ``hold`` (waiting for a moderator: ``item_id`` is
    what releasing it names) or ``released`` (a moderator let it through).
    """

    kind: ClassVar[Kind] = Kind.ITEM_RECEIVED
    item_id: int
    object_id: str
    origin: str
    verdict: str
    path: tuple[str, ...] = ()
    hop_limit: int = 1
    reason: str = ""
    themes: tuple[str, ...] = ()
    place_lat: float | None = None
    place_lon: float | None = None
    place_label: str = ""


# --------------------------------------------------------------------- resources
@dataclass(frozen=True)
class IntentChanged(EventData):
    """One of the group's offers or needs was published or changed state (or what
    is left of it): the chat side shows it, and edits it in place afterwards."""

    kind: ClassVar[Kind] = Kind.INTENT_CHANGED
    intent_id: int
    ap_id: str
    purpose: str
    action: str
    name: str
    state: str
    text: str  # the intent in one readable line
    resource: str = ""
    quantity: str = ""
    remaining: str = ""


@dataclass(frozen=True)
class MatchSuggested(EventData):
    """A counterpart suggested for one of the group's intents (never an agreement)."""

    kind: ClassVar[Kind] = Kind.MATCH_SUGGESTED
    intent_id: int
    other_intent_id: int
    other_group: str
    score: str
    text: str

"""Group events: what happened in a group, told in the domain's own words.

An adapter that sees something happen (the fediverse side re-shares a post,
a chat member writes in the group's room) records an event; the other
adapters read the log, each at its own pace, and tell their network. So the
ActivityPub and Matrix adapters never call each other, and a crash between
"recorded" and "told" loses nothing: the reader resumes from its cursor.

    GroupEvent(group_id, source, dedupe_key, data)    the envelope (this module)
      data: PostShared | MemberPosted | ...           one class per Kind (kinds.py)
    EventHandlers                                     an adapter's kind -> handler table
                                                      (dispatch.py)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from imago_fed.domain.events.dispatch import EventHandlers, Handler, handles
from imago_fed.domain.events.kinds import (
    EVENT_TYPES,
    AssemblyClosed,
    AssemblyConvened,
    AssemblySaid,
    EventData,
    GroupChanged,
    GroupDeleted,
    IntentChanged,
    ItemReceived,
    Kind,
    MalformedEvent,
    MatchSuggested,
    MemberEdited,
    MemberInvited,
    MemberPosted,
    MemberRemoved,
    ModeratorsChanged,
    PostEdited,
    PostRemoved,
    PostShared,
    ProposalClosed,
    ProposalCounts,
    ProposalFacts,
    ProposalOpened,
    RelationChanged,
    UndecodableEvent,
    UnknownKind,
    decode,
)

__all__ = [
    "EVENT_TYPES",
    "AssemblyClosed",
    "AssemblyConvened",
    "AssemblySaid",
    "EventData",
    "EventHandlers",
    "GroupChanged",
    "GroupDeleted",
    "GroupEvent",
    "Handler",
    "IntentChanged",
    "ItemReceived",
    "Kind",
    "MalformedEvent",
    "MatchSuggested",
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
    "handles",
]

D = TypeVar("D", bound=EventData, covariant=True)


@dataclass(frozen=True)
class GroupEvent(Generic[D]):
    """One event; ``dedupe_key`` makes recording it twice a no-op."""

    group_id: int
    source: str  # the adapter that recorded it: readers skip their own
    dedupe_key: str
    data: D
    id: int | None = None  # the log's, once stored

    @property
    def kind(self) -> Kind:
        return self.data.kind

"""Proposals in the fediverse: a ``Question`` by the group, votes by reply.

Mastodon sends each vote only to the poll author's inbox, so the group is
the author (``attributedTo``). A vote is a ``Create`` of a ``Note`` whose
``name`` is the option's exact text and ``inReplyTo`` the question, one per
chosen option (Pleroma sends ``Answer``). Options must be unique names.

Methods a poll cannot express (Majority Judgment, Schulze) take a reply:

    vote: 1 3 2        one number per option, in the question's order
                       (MJ: grades, 1 = best ... 5 = reject; Schulze: ranks)

Counts go out as ``Update(Question)`` at most every UPDATE_EVERY, and a final
one with ``closed`` when the vote ends; the question URL serves live counts
(Mastodon re-fetches a viewed poll once a minute).
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

from imago_fed.activitypub import outbound
from imago_fed.activitypub.documents import CONTEXT
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.publish import publish_to_followers
from imago_fed.activitypub.vocab import AS_PUBLIC
from imago_fed.domain.events import GroupEvent, Kind, ProposalFacts, handles
from imago_fed.domain.governance.proposals import GRADED_METHODS as GRADED
from imago_fed.domain.governance.proposals import ballot_from_numbers
from imago_fed.domain.ports import Clock, GroupRepository
from imago_fed.domain.ports.federation import Federation

__all__ = ["QuestionPublisher", "parse_reply_vote", "question_document"]

UPDATE_EVERY = 30.0  # seconds between count updates of one question
_REPLY_VOTE = re.compile(r"vote\s*:\s*([0-9][0-9\s,]*)", re.IGNORECASE)


def parse_reply_vote(text: str) -> tuple[int, ...] | None:
    """Numbers after ``vote:`` in a reply (HTML tags ignored), or None."""
    match = _REPLY_VOTE.search(re.sub(r"<[^>]+>", " ", text))
    if not match:
        return None
    return tuple(int(n) for n in re.findall(r"[0-9]+", match.group(1)))


def question_document(
    ids: Ids, slug: str, payload: dict[str, Any], *, closed_at: datetime | None = None
) -> dict[str, Any]:
    question = ids.proposal(slug, payload["proposal_id"])
    counts = payload.get("counts") or [0] * len(payload["options"])
    method = payload.get("method", "")
    options = [
        {"type": "Note", "name": name, "replies": {"type": "Collection", "totalItems": count}}
        for name, count in zip(payload["options"], counts, strict=False)
    ]
    content = f"<p>{_escape(payload['title'])}</p>"
    if method in GRADED:
        scale = "grades, 1 = best … 5 = reject" if method == "majority_judgment" else "ranks"
        content += (
            f"<p>Reply to vote with <code>vote: </code> and one number per option ({scale}), "
            f"in this order: {_escape(', '.join(payload['options']))}.</p>"
        )
    document: dict[str, Any] = {
        "id": question,
        "type": "Question",
        "attributedTo": ids.group(slug),
        "name": payload["title"],
        "content": content,
        "to": [AS_PUBLIC],
        "cc": [ids.group_collection(slug, "followers")],
        "audience": ids.group(slug),
        "endTime": payload.get("closes_at") or None,
        "votersCount": payload.get("voters", 0),
        "anyOf" if method == "approval" else "oneOf": options,
    }
    if closed_at is not None:
        document["closed"] = closed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return document


def _escape(text: str) -> str:
    from html import escape

    return escape(text)


class QuestionPublisher:
    """Reads proposal events and publishes the Question, its updates and the result."""

    def __init__(self, fed: Federation, ids: Ids, groups: GroupRepository, clock: Clock) -> None:
        self._fed, self._ids, self._groups, self._clock = fed, ids, groups, clock
        self._last_update: dict[int, float] = {}

    @handles(Kind.PROPOSAL_OPENED, Kind.PROPOSAL_COUNTS, Kind.PROPOSAL_CLOSED)
    async def on_group_event(self, event: GroupEvent[ProposalFacts]) -> None:
        group = await self._groups.get_by_id(event.group_id)
        if group is None or group.id is None:
            return
        payload = event.data.to_payload()
        if payload.get("secret") and event.kind != Kind.PROPOSAL_CLOSED:
            return  # a secret ballot is cast with credentials, not in a public poll
        proposal_id = int(payload["proposal_id"])
        question = self._ids.proposal(group.slug, proposal_id)
        now = self._clock.now()
        if event.kind == Kind.PROPOSAL_COUNTS:
            last = self._last_update.get(proposal_id, 0.0)
            if time.monotonic() - last < UPDATE_EVERY:
                return  # batched: the next update or the final one carries the counts
        self._last_update[proposal_id] = time.monotonic()
        closed = now if event.kind == Kind.PROPOSAL_CLOSED else None
        document = question_document(self._ids, group.slug, payload, closed_at=closed)
        kind = "Create" if event.kind == Kind.PROPOSAL_OPENED else "Update"
        activity = {
            "@context": CONTEXT,
            "id": outbound.derived_id(self._ids, group.slug, kind, event.dedupe_key),
            "type": kind,
            "actor": self._ids.group(group.slug),
            "object": document,
            "to": [AS_PUBLIC],
            "cc": [self._ids.group_collection(group.slug, "followers")],
            "audience": self._ids.group(group.slug),
        }
        async with self._fed.transaction() as tx:
            if not payload.get("secret"):
                await publish_to_followers(
                    tx, group_id=group.id, activity=activity, object_id=question, now=now
                )
            if event.kind == Kind.PROPOSAL_CLOSED and payload.get("result_text"):
                note = {
                    "@context": CONTEXT,
                    "id": outbound.derived_id(self._ids, group.slug, "result", question),
                    "type": "Create",
                    "actor": self._ids.group(group.slug),
                    "to": [AS_PUBLIC],
                    "cc": [self._ids.group_collection(group.slug, "followers")],
                    "object": {
                        "id": question + "/result",
                        "type": "Note",
                        "attributedTo": self._ids.group(group.slug),
                        "inReplyTo": question,
                        "content": f"<p>{_escape(payload['result_text'])}</p>",
                        "to": [AS_PUBLIC],
                        "audience": self._ids.group(group.slug),
                    },
                }
                await publish_to_followers(
                    tx, group_id=group.id, activity=note, object_id=None, now=now
                )


_JOIN = re.compile(r"!join\s+([A-Za-z0-9_-]{4,64})", re.IGNORECASE)
_LINK = re.compile(r"!link\s+(@[^:\s]+:\S+)", re.IGNORECASE)
_PROPOSE = re.compile(r"!propose\s+([a-z_]+)\s+(.+)", re.IGNORECASE | re.DOTALL)


class VoteIntake:
    """Fediverse votes on our questions, and proposals posted to a group, handed to
    the group's governance.

    A member opens a proposal by posting to the group (mentioning it) a text
    that starts with ``!propose <action> <title>``, e.g.
    ``!propose moderate Block spam.example``. ``!link @me:matrix.example``
    claims a Matrix account (confirmed there with ``!imago link <actor URL>``).
    """

    def __init__(self, ids: Ids, governance: Any, membership: Any = None) -> None:
        self._ids, self._governance, self._membership = ids, governance, membership

    async def __call__(self, actor_uri: str, note: dict[str, Any], group: Any = None) -> str | None:
        """The outcome, or None when ``note`` is neither a vote nor a proposal."""
        from imago_fed.activitypub.vocab import id_of

        if group is not None:
            text = re.sub(r"<[^>]+>", " ", str(note.get("content", ""))).strip()
            text = re.sub(r"^(@\S+\s+)+", "", text)  # the mention that addresses the group
            match = _PROPOSE.match(text)
            if match:
                return await self._propose(group, actor_uri, match.group(1), match.group(2))
            join = _JOIN.search(text)
            if join and self._membership is not None:
                return await self._join(actor_uri, join.group(1))
            link = _LINK.match(text)
            if link:
                await self._governance.claim_identity("fediverse", link.group(1), actor_uri)
                return "counted"
        parsed = self._ids.parse_proposal(id_of(note.get("inReplyTo")) or "")
        if parsed is None:
            return None
        proposal = await self._governance.get(parsed[1])
        method = getattr(proposal.protocol, "method", "")
        name = note.get("name")
        if isinstance(name, str) and name:  # a poll vote, one option
            index = proposal.options.index(name) if name in proposal.options else -1
            return await self._governance.vote(
                proposal.id, actor_uri, (index,), network="fediverse",
                add_to_previous=method == "approval" and index >= 0,
            )  # fmt: skip
        numbers = parse_reply_vote(str(note.get("content", "")))
        if numbers is None:
            return None  # an ordinary reply to the question: not a vote
        ballot = ballot_from_numbers(proposal, numbers)
        return await self._governance.vote(proposal.id, actor_uri, ballot, network="fediverse")

    async def _join(self, actor_uri: str, code: str) -> str:
        """``!join <code>`` mentioning the group: an invitation used from the fediverse."""
        from imago_fed.domain.errors import DomainError

        try:
            await self._membership.redeem(code, actor_uri)
        except DomainError as exc:
            return exc.message
        return "counted"

    async def _propose(self, group: Any, author: str, action: str, title: str) -> str:
        from imago_fed.domain.errors import DomainError
        from imago_fed.domain.governance.actions import ActionKind

        try:
            kind = ActionKind(action.lower())
        except ValueError:
            return f"unknown action {action!r}"
        if self._membership is not None:
            refusal = await self._membership.may_propose(group.id, author, kind)
            if refusal:
                return refusal
        elif author not in await self._governance.members(group.id):
            return "only members open proposals"
        try:
            await self._governance.propose(
                group.id, action=kind, title=title.strip()[:300], author=author
            )
        except DomainError as exc:
            return exc.message
        return "counted"

"""What the chaos tests share: remote members, signed posts, recording inboxes, figures.

A chaos test runs a real ``imago-fed serve`` (tests/interop/instance.py)
hosting one open group, and a remote fediverse on loopback around it:

    ActorHost (actor documents, keys)      Receiver per follower host
       poster ── signed Create(Note) ──> serve ── Announce x2 ──> Recorder
       member ── signed Follow ────────>        (per Create)      (counts ids)

Every POST is built and signed before it is sent, so a test can send the
same bytes again, as a real server retries what was not answered 2xx. The
figures (sent, acknowledged, processed, duplicated, lost) are printed in the
test output and asserted on.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from imago_fed.activitypub.vocab import AS_PUBLIC
from tests.activitypub.actor_host import ActorHost, RemoteActor, _key
from tests.interop.instance import Instance
from tests.receiver import Reply, Request

__all__ = [
    "SLUG",
    "Member",
    "Post",
    "Recorder",
    "add_member",
    "counts",
    "follow",
    "send",
    "signed_creates",
]

SLUG = "chaos"


@dataclass
class Member(RemoteActor):
    """A remote actor whose inbox (and shared inbox) is a URL of the test's choosing."""

    inbox_url: str = ""

    def document(self) -> dict[str, Any]:
        document = super().document()
        if self.inbox_url:
            document["inbox"] = self.inbox_url
            document["endpoints"] = {"sharedInbox": self.inbox_url}
        return document


def add_member(host: ActorHost, name: str, key_index: int, inbox_url: str = "") -> Member:
    member = Member(host, name, _key(key_index), inbox_url)
    host.actors[name] = member
    return member


@dataclass(frozen=True)
class Post:
    """A signed POST, ready to send (and to send again)."""

    activity_id: str
    object_id: str  # the Note's id: the group Announces both
    url: str
    headers: dict[str, str]
    body: bytes


def signed_creates(poster: RemoteActor, instance: Instance, count: int, tag: str) -> list[Post]:
    """``count`` distinct public Create(Note) to the group, signed now (valid an hour)."""
    group = instance.actor(SLUG)
    inbox = f"{group}/inbox"
    posts = []
    for i in range(count):
        note = {
            "id": f"{poster.id}/notes/{tag}-{i}",
            "type": "Note",
            "attributedTo": poster.id,
            "content": f"<p>chaos {tag}-{i}</p>",
            "to": [AS_PUBLIC, group],
            "audience": group,
        }
        activity = poster.activity("Create", note, to=[AS_PUBLIC, group])
        body = json.dumps(activity).encode()
        posts.append(Post(activity["id"], note["id"], inbox, poster.sign(inbox, body), body))
    return posts


async def send(client: httpx.AsyncClient, post: Post) -> int | str:
    """The status, or the name of the error when there was no answer."""
    try:
        response = await client.post(post.url, content=post.body, headers=post.headers)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return response.status_code


async def follow(instance: Instance, member: RemoteActor) -> None:
    """``member`` follows the group (open: accepted by the worker at once)."""
    inbox = f"{instance.actor(SLUG)}/inbox"
    activity = member.activity("Follow", instance.actor(SLUG))
    body = json.dumps(activity).encode()
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(inbox, content=body, headers=member.sign(inbox, body))
    assert answer.status_code == 202, answer.text

    async def accepted() -> bool:
        listed = await instance.api("GET", f"/groups/{SLUG}/followers")
        return member.id in listed.json()["items"]

    await instance.wait_for(accepted, timeout=60, what=f"{member.name} accepted as a follower")


@dataclass
class Recorder:
    """A follower's inbox: counts each activity id it is sent (duplicates show).

    ``reply`` chooses the answer: the default accepts; a test makes a host
    slow, failing or worse by giving another.
    """

    reply: Any = None
    arrivals: Counter[str] = field(default_factory=Counter)  # activity id -> times
    about: dict[str, str] = field(default_factory=dict)  # Announce id -> what it re-shares
    received: list[dict[str, Any]] = field(default_factory=list)  # every activity, in order
    times: dict[str, list[float]] = field(default_factory=dict)  # activity id -> arrivals

    def shortest_gap(self) -> float | None:
        """The shortest time between two arrivals of the same activity (None: no repeat)."""
        gaps = [b - a for t in self.times.values() for a, b in itertools.pairwise(t)]
        return min(gaps) if gaps else None

    async def __call__(self, request: Request) -> Reply:
        try:
            activity = json.loads(request.body)
        except ValueError:
            activity = {}
        if isinstance(activity, dict) and isinstance(activity.get("id"), str):
            self.arrivals[activity["id"]] += 1
            self.received.append(activity)
            self.times.setdefault(activity["id"], []).append(time.monotonic())
            if activity.get("type") == "Announce":
                shared = activity.get("object")
                shared = shared.get("id") if isinstance(shared, dict) else shared
                self.about[activity["id"]] = str(shared)
        if self.reply is not None:
            return await self.reply(request)
        return Reply(202)

    def reshared(self) -> Counter[str]:
        """Times each re-shared activity (or object) id arrived in an Announce."""
        return Counter({shared: self.arrivals[a] for a, shared in self.about.items()})

    @property
    def duplicates(self) -> int:
        """Arrivals beyond the first, over every Announce."""
        return sum(self.arrivals[a] - 1 for a in self.about)


async def counts(dsn: str, activity_ids: list[str]) -> dict[str, int]:
    """What the server made of ``activity_ids``: stored, processed (done), and the
    Announces it queued for them (the group re-shares each Create twice)."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            """
            SELECT count(*) AS stored,
                   count(*) FILTER (WHERE state = 'done') AS processed,
                   count(*) FILTER (WHERE state = 'queued') AS waiting
            FROM inbox_activities WHERE activity_id = ANY($1::text[])
            """,
            activity_ids,
        )
        deliveries = await conn.fetchrow(
            """
            SELECT count(*) AS announces,
                   count(*) FILTER (WHERE state = 'delivered') AS delivered,
                   count(*) FILTER (WHERE state = 'dead') AS dead
            FROM deliveries WHERE body::jsonb->>'type' = 'Announce'
            """
        )
    finally:
        await conn.close()
    return {**dict(row), **dict(deliveries)}

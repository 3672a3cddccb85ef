"""Our ActivityPub identifiers: made and parsed in one place.

Every URL we mint for the fediverse comes from here, so a change of layout is
one edit, and parsing an incoming URL back to "which group" is the exact
inverse (round-trip tested).

    {base}/groups/{slug}                 the Group actor
    {base}/groups/{slug}#main-key        its key
    {base}/groups/{slug}/inbox|outbox|followers|following|moderators
    {base}/inbox                         the shared inbox
    {base}/actor                         the instance actor (signs shared fetches)
    {base}/groups/{slug}/proposals/{id}  a proposal, as a Question
    {base}/activities/{uuid}             activities our groups emit
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import cached_property

__all__ = ["Ids"]

COLLECTIONS = ("inbox", "outbox", "followers", "following", "moderators")


@dataclass(frozen=True)
class Ids:
    """Identifiers under one instance's public base URL (``scheme://domain``)."""

    base_url: str

    # --------------------------------------------------------------- make
    def group(self, slug: str) -> str:
        return f"{self.base_url}/groups/{slug}"

    def group_key(self, slug: str) -> str:
        return f"{self.group(slug)}#main-key"

    def group_collection(self, slug: str, name: str) -> str:
        if name not in COLLECTIONS:
            raise ValueError(f"unknown collection {name!r}")
        return f"{self.group(slug)}/{name}"

    def proposal(self, slug: str, proposal_id: int) -> str:
        """A proposal, published as a ``Question`` attributed to the group."""
        return f"{self.group(slug)}/proposals/{proposal_id}"

    def parse_proposal(self, uri: str) -> tuple[str, int] | None:
        match = re.fullmatch(
            re.escape(self.base_url) + r"/groups/([a-z0-9_]+)/proposals/([0-9]{1,18})", uri
        )
        return (match.group(1), int(match.group(2))) if match else None

    @property
    def shared_inbox(self) -> str:
        return f"{self.base_url}/inbox"

    @property
    def instance_actor(self) -> str:
        return f"{self.base_url}/actor"

    @property
    def instance_key(self) -> str:
        return f"{self.instance_actor}#main-key"

    def new_activity(self) -> str:
        return self.activity(uuid.uuid4().hex)

    def activity(self, token: str) -> str:
        return f"{self.base_url}/activities/{token}"

    # -------------------------------------------------------------- parse
    def parse_group(self, uri: str) -> str | None:
        """The slug if ``uri`` is one of our group actors (key fragment allowed)."""
        match = self._group_pattern.fullmatch(uri)
        return match.group(1) if match else None

    def parse_activity(self, uri: str) -> str | None:
        match = self._activity_pattern.fullmatch(uri)
        return match.group(1) if match else None

    # Compiled once: a post's addressees are parsed several times each, and
    # escaping the base URL for every one showed in the processor's profile.
    @cached_property
    def _group_pattern(self) -> re.Pattern[str]:
        return re.compile(re.escape(self.base_url) + r"/groups/([a-z0-9_]+)(?:#main-key)?")

    @cached_property
    def _activity_pattern(self) -> re.Pattern[str]:
        return re.compile(re.escape(self.base_url) + r"/activities/([0-9a-f]{32})")

    def is_local(self, uri: str) -> bool:
        return uri == self.base_url or uri.startswith(self.base_url + "/")

"""Our Matrix identifiers: made and parsed in one place.

    #<prefix><slug>:<server>          the group's space
    #<prefix><slug>_<kind>:<server>   its rooms (general, decisions, ...)
    @<prefix><hash>:<server>          a fediverse actor's puppet (hash of its id)
    @<bot>:<server>                   the bridge bot (sender_localpart)
    imago-<hash>                      a transaction id derived from what it answers

Room ids are opaque (room version 12 has no ``:server`` part): the server name
always comes from configuration, never from a room id.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

__all__ = ["MatrixIds", "transaction_id"]


def transaction_id(*parts: str) -> str:
    """The id of a send derived from what it answers: a retry after a crash
    reuses it, and the homeserver deduplicates the send."""
    return "imago-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class MatrixIds:
    server_name: str
    prefix: str = "_imago_"
    bot_localpart: str = "imago"

    def space_alias(self, slug: str) -> str:
        return f"#{self.space_alias_localpart(slug)}:{self.server_name}"

    def space_alias_localpart(self, slug: str) -> str:
        return f"{self.prefix}{slug}"

    def room_alias_localpart(self, slug: str, kind: str) -> str:
        return f"{self.prefix}{slug}_{kind}"

    def room_alias(self, slug: str, kind: str) -> str:
        return f"#{self.room_alias_localpart(slug, kind)}:{self.server_name}"

    @property
    def bot(self) -> str:
        return f"@{self.bot_localpart}:{self.server_name}"

    def puppet_localpart(self, actor_uri: str) -> str:
        digest = hashlib.sha256(actor_uri.encode()).digest()[:10]
        return self.prefix + base64.b32encode(digest).decode().lower().rstrip("=")

    def puppet(self, actor_uri: str) -> str:
        return f"@{self.puppet_localpart(actor_uri)}:{self.server_name}"

    def is_ours(self, user_id: str) -> bool:
        """Users the bridge controls: the bot and every puppet (never bridged back)."""
        if user_id == self.bot:
            return True
        match = re.fullmatch(r"@([^:]+):(.+)", user_id)
        return bool(match and match.group(2) == self.server_name
                    and match.group(1).startswith(self.prefix))  # fmt: skip

    def parse_alias(self, alias: str) -> tuple[str, str | None] | None:
        """(slug, kind or None for the space) of one of our aliases."""
        match = re.fullmatch(
            "#" + re.escape(self.prefix) + r"([a-z0-9_]+):" + re.escape(self.server_name), alias
        )
        if not match:
            return None
        name = match.group(1)
        for kind in ("general", "decisions", "resources", "announcements"):
            if name.endswith("_" + kind):
                return name[: -len(kind) - 1], kind
        return name, None

"""Private messages to one member: the path secrets (voting credentials) take."""

from __future__ import annotations

from typing import Protocol

__all__ = ["DirectMessageFailed", "DirectMessenger"]


class DirectMessageFailed(Exception):
    """A private message could not be handed over; the text says why, for the admin."""


class DirectMessenger(Protocol):
    """One private message to one member, sent now, with no copy kept anywhere.

    Why no queue: what goes through here are secrets (voting credentials)
    that the server must not keep. A failed send raises
    :class:`DirectMessageFailed` and the caller decides what to do with the
    secret it still holds in memory.
    """

    def accepts(self, recipient: str) -> bool:
        """Whether this messenger can reach ``recipient`` (a member id)."""
        ...

    async def send(self, group_id: int, recipient: str, text: str) -> None:
        """Deliver ``text`` privately from the group to ``recipient``."""
        ...

"""Each adapter's table of group event handlers: one small method per kind.

    class RoomsOfGroups:                       handlers = EventHandlers.of(rooms, polls)
        @handles(Kind.POST_SHARED)             await handlers.dispatch(event)
        async def _post(self, event): ...        -> every handler of event.kind, in order
                                                 -> False when none (no work, not an error)

A reader of the log hands every event to ``dispatch``; which kinds an
adapter cares about is the table, not a chain of ``if event.kind == ...``.
Kinds are checked when the method is decorated, so a typo fails at import.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from imago_fed.domain.events.kinds import Kind

if TYPE_CHECKING:  # the envelope's package imports this module
    from imago_fed.domain.events import GroupEvent

__all__ = ["EventHandlers", "Handler", "handles"]

Handler = Callable[["GroupEvent[Any]"], Awaitable[None]]
F = TypeVar("F", bound=Callable[..., Awaitable[None]])
_MARK = "__handles_kinds__"


def handles(*kinds: Kind) -> Callable[[F], F]:
    """Mark a method as the handler of ``kinds`` (collected by :meth:`EventHandlers.of`)."""
    checked = tuple(Kind(kind) for kind in kinds)  # ValueError at import on a typo
    if not checked:
        raise TypeError("handles() needs at least one kind")

    def mark(method: F) -> F:
        setattr(method, _MARK, getattr(method, _MARK, ()) + checked)
        return method

    return mark


class EventHandlers:
    """Kind -> handlers, in the order they were registered."""

    def __init__(self) -> None:
        self._table: dict[Kind, list[Handler]] = {}

    @classmethod
    def of(cls, *owners: object) -> EventHandlers:
        """The table of the ``@handles`` methods of ``owners``, bound to them."""
        table = cls()
        for owner in owners:
            table.register(owner)
        return table

    def register(self, owner: object) -> None:
        found = False
        seen: set[str] = set()
        for klass in reversed(type(owner).__mro__):
            for name, attr in vars(klass).items():
                kinds = getattr(attr, _MARK, None)
                if kinds is None or name in seen:
                    continue
                seen.add(name)
                found = True
                for kind in kinds:
                    self.add(kind, getattr(owner, name))
        if not found:
            raise TypeError(f"{type(owner).__name__} has no @handles method")

    def add(self, kind: Kind, handler: Handler) -> None:
        self._table.setdefault(Kind(kind), []).append(handler)

    @property
    def kinds(self) -> frozenset[Kind]:
        return frozenset(self._table)

    async def dispatch(self, event: GroupEvent[Any]) -> bool:
        """Run the event's handlers; False if this adapter has none for its kind."""
        handlers = self._table.get(event.kind, [])
        for handler in handlers:
            await handler(event)
        return bool(handlers)

    async def __call__(self, event: GroupEvent[Any]) -> None:
        """A table is itself a handler (what a log reader takes)."""
        await self.dispatch(event)

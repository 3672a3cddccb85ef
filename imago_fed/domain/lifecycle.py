"""Lifecycles declared as small state graphs, checked when they are declared.

A row that lives through states (a delivery, an inbound activity, a Matrix
event, a follow, a proposal) moves only along the edges its lifecycle
declares. The declaration is data, so it can be read, drawn and tested; the
store asks it before changing ``state`` (``check`` before an UPDATE, or
``sources`` for the ``WHERE state = ANY(...)`` of a guarded UPDATE), so a
transition nobody declared raises instead of quietly corrupting a row.

    Lifecycle(name, initial, transitions, terminal)
      declared:  every state a key of ``transitions``; every target declared;
                 every state reachable from an initial one; terminal states
                 have no exits; every other state has at least one
      used:      check(from, to)  ─> IllegalTransition unless an edge
                 sources(to)      ─> the states with an edge to ``to``
                 check_entry(s)   ─> a new row starts in an initial state

A self-loop (``queued -> queued``) is a transition like any other: a retry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from imago_fed.domain.errors import Conflict

__all__ = [
    "DELIVERY",
    "FOLLOWER",
    "FOLLOWING",
    "INBOUND_ACTIVITY",
    "MATRIX_EVENT",
    "IllegalTransition",
    "InvalidLifecycle",
    "Lifecycle",
]


class InvalidLifecycle(ValueError):
    """A declaration that cannot be a lifecycle (raised at import, by the declaration)."""


class IllegalTransition(Conflict):
    """A state change the lifecycle does not declare (or a state it does not know)."""


class Lifecycle:
    """States and the transitions allowed between them (immutable once declared)."""

    def __init__(
        self,
        name: str,
        *,
        initial: str | Iterable[str],
        transitions: Mapping[str, Iterable[str]],
        terminal: Iterable[str] = (),
    ) -> None:
        self.name = name
        self.initial = frozenset((initial,) if isinstance(initial, str) else initial)
        graph = {state: frozenset(targets) for state, targets in transitions.items()}
        self.transitions: Mapping[str, frozenset[str]] = MappingProxyType(graph)
        self.terminal = frozenset(terminal)
        self.states = frozenset(graph)
        self._validate()

    def _validate(self) -> None:
        def fail(problem: str) -> InvalidLifecycle:
            return InvalidLifecycle(f"lifecycle {self.name}: {problem}")

        if not self.initial:
            raise fail("no initial state")
        for label, named in (("initial", self.initial), ("terminal", self.terminal)):
            unknown = named - self.states
            if unknown:
                raise fail(f"{label} state(s) {sorted(unknown)} not declared")
        for state, targets in self.transitions.items():
            unknown = targets - self.states
            if unknown:
                raise fail(f"{state} leads to undeclared {sorted(unknown)}")
            if state in self.terminal and targets:
                raise fail(f"terminal state {state} has exits {sorted(targets)}")
            if state not in self.terminal and not targets:
                raise fail(f"{state} has no exit and is not declared terminal")
        reached, frontier = set(self.initial), list(self.initial)
        while frontier:  # bounded: each state enters the frontier once
            for target in self.transitions[frontier.pop()]:
                if target not in reached:
                    reached.add(target)
                    frontier.append(target)
        unreachable = self.states - reached
        if unreachable:
            raise fail(f"state(s) {sorted(unreachable)} cannot be reached")

    def _known(self, state: str) -> str:
        if state not in self.states:
            raise IllegalTransition(f"a {self.name} has no state {state!r}")
        return state

    def allows(self, from_state: str, to_state: str) -> bool:
        return to_state in self.transitions.get(from_state, frozenset())

    def check(self, from_state: str, to_state: str) -> None:
        """Refuse (IllegalTransition, a Conflict) any transition not declared."""
        self._known(from_state), self._known(to_state)
        if not self.allows(from_state, to_state):
            raise IllegalTransition(f"a {self.name} cannot go from {from_state} to {to_state}")

    def check_entry(self, state: str) -> None:
        """A new row must start in an initial state."""
        if self._known(state) not in self.initial:
            raise IllegalTransition(f"a {self.name} cannot start as {state}")

    def sources(self, to_state: str) -> list[str]:
        """The states with a declared edge to ``to_state`` (sorted, for a SQL array).

        Raises when there is none: an UPDATE guarded by an empty list would
        match nothing and hide the mistake.
        """
        self._known(to_state)
        found = sorted(s for s, targets in self.transitions.items() if to_state in targets)
        if not found:
            raise IllegalTransition(f"no {self.name} can move to {to_state}")
        return found

    def is_terminal(self, state: str) -> bool:
        return self._known(state) in self.terminal

    def __repr__(self) -> str:
        return f"Lifecycle({self.name!r}, states={sorted(self.states)})"


# ------------------------------------------------------------- the lifecycles
#: An outbound POST to one inbox (store/deliveries.py draws it): a failed
#: attempt stays queued with a later ``next_attempt``; an admin retry revives the dead.
DELIVERY = Lifecycle(
    "delivery",
    initial="queued",
    transitions={
        "queued": ("queued", "delivered", "dead"),
        "delivered": (),
        "dead": ("queued",),
    },
    terminal=("delivered",),
)

#: Work received from a network and processed once: the inbox and the Matrix
#: transaction queue share this shape (retried in place, then one final state).
_RECEIVED_WORK: dict[str, tuple[str, ...]] = {
    "queued": ("queued", "done", "ignored", "failed"),
    "done": (),
    "ignored": (),
    "failed": (),
}

#: A verified inbound activity (store/inbox.py): processed, ignored, retried,
#: or failed for good after too many attempts.
INBOUND_ACTIVITY = Lifecycle(
    "inbound activity",
    initial="queued",
    transitions=_RECEIVED_WORK,
    terminal=("done", "ignored", "failed"),
)

#: One event of an application-service transaction (store/matrix.py).
MATRIX_EVENT = Lifecycle(
    "matrix event",
    initial="queued",
    transitions=_RECEIVED_WORK,
    terminal=("done", "ignored", "failed"),
)

#: Someone following one of our groups: pending while the group approves
#: followers by hand, accepted at once otherwise. A refusal or an Undo deletes
#: the row (there is no "rejected" follower to keep).
FOLLOWER = Lifecycle(
    "follower",
    initial=("pending", "accepted"),
    transitions={"pending": ("accepted",), "accepted": ()},
    terminal=("accepted",),
)

#: One of our groups following another actor: our Follow waits for an answer;
#: a repeated answer changes nothing; a Reject after an Accept means they
#: removed us; following again asks again.
FOLLOWING = Lifecycle(
    "following",
    initial="requested",
    transitions={
        "requested": ("requested", "accepted", "rejected"),
        "accepted": ("accepted", "rejected", "requested"),
        "rejected": ("rejected", "requested"),
    },
)

"""Lifecycles as declared state graphs: refused when malformed, strict when used."""

from __future__ import annotations

import pytest

from imago_fed.domain.errors import Conflict
from imago_fed.domain.governance.proposals import PROPOSAL, TRANSITIONS
from imago_fed.domain.lifecycle import (
    DELIVERY,
    FOLLOWER,
    FOLLOWING,
    INBOUND_ACTIVITY,
    MATRIX_EVENT,
    IllegalTransition,
    InvalidLifecycle,
    Lifecycle,
)

QUEUE = {"queued": ("queued", "done"), "done": ()}


def test_a_declared_lifecycle_answers_check_sources_and_entry() -> None:
    queue = Lifecycle("job", initial="queued", transitions=QUEUE, terminal=("done",))
    queue.check("queued", "done")
    queue.check("queued", "queued")  # a retry is a declared self-loop
    queue.check_entry("queued")
    assert queue.sources("done") == ["queued"]
    assert queue.is_terminal("done") and not queue.is_terminal("queued")


@pytest.mark.parametrize(
    ("from_state", "to_state"), [("done", "queued"), ("done", "done"), ("queued", "lost")]
)
def test_an_undeclared_transition_is_refused(from_state: str, to_state: str) -> None:
    queue = Lifecycle("job", initial="queued", transitions=QUEUE, terminal=("done",))
    with pytest.raises(IllegalTransition) as caught:
        queue.check(from_state, to_state)
    assert isinstance(caught.value, Conflict)  # adapters map it like any conflict


def test_entering_anywhere_but_an_initial_state_is_refused() -> None:
    queue = Lifecycle("job", initial="queued", transitions=QUEUE, terminal=("done",))
    with pytest.raises(IllegalTransition):
        queue.check_entry("done")
    with pytest.raises(IllegalTransition):
        queue.sources("queue")  # a typo is not an empty WHERE clause


@pytest.mark.parametrize(
    ("transitions", "terminal", "problem"),
    [
        ({"queued": ("done", "lost"), "done": ()}, ("done",), "undeclared"),
        ({"queued": ("done",), "done": ("queued",)}, ("done",), "terminal state done has exits"),
        ({"queued": ("done",), "done": (), "orphan": ("done",)}, ("done",), "cannot be reached"),
        ({"queued": ("stuck",), "stuck": ()}, (), "no exit and is not declared terminal"),
        ({"queued": ("done",), "done": ()}, ("finished",), "not declared"),
    ],
)
def test_a_malformed_graph_is_refused_when_declared(
    transitions: dict[str, tuple[str, ...]], terminal: tuple[str, ...], problem: str
) -> None:
    with pytest.raises(InvalidLifecycle, match=problem):
        Lifecycle("job", initial="queued", transitions=transitions, terminal=terminal)


def test_an_unknown_initial_state_is_refused() -> None:
    with pytest.raises(InvalidLifecycle, match="initial"):
        Lifecycle("job", initial="new", transitions=QUEUE, terminal=("done",))


def test_the_declared_lifecycle_is_read_only() -> None:
    with pytest.raises(TypeError):
        DELIVERY.transitions["delivered"] = frozenset({"queued"})  # type: ignore[index]


def test_the_queues_of_the_federation() -> None:
    assert DELIVERY.sources("queued") == ["dead", "queued"]  # retry, admin retry
    assert DELIVERY.sources("delivered") == ["queued"]
    for lifecycle in (INBOUND_ACTIVITY, MATRIX_EVENT):
        assert lifecycle.terminal == {"done", "ignored", "failed"}
        with pytest.raises(IllegalTransition):
            lifecycle.check("done", "queued")


def test_follows() -> None:
    FOLLOWER.check_entry("pending"), FOLLOWER.check_entry("accepted")
    with pytest.raises(IllegalTransition):
        FOLLOWER.check("accepted", "pending")
    assert FOLLOWING.sources("accepted") == ["accepted", "requested"]
    with pytest.raises(IllegalTransition):
        FOLLOWING.check("rejected", "accepted")  # a late Accept after a Reject


def test_the_proposal_graph_is_a_lifecycle() -> None:
    assert TRANSITIONS is PROPOSAL.transitions
    PROPOSAL.check("executed", "challenged")
    with pytest.raises(IllegalTransition, match="a proposal cannot go from adopted to rejected"):
        PROPOSAL.check("adopted", "rejected")

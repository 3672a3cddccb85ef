"""Relation kinds, inverses, and the lifecycle's state graph."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imago_fed.domain.errors import Conflict, InvalidInput
from imago_fed.domain.graph.relations import (
    DEFAULT_KINDS,
    RELATION_STATES,
    RELATION_TRANSITIONS,
    Relation,
    RelationKinds,
    propose,
    validate_group_id,
)

A, B = "https://a.example/groups/a", "https://b.example/groups/b"
kinds = st.sampled_from(sorted(DEFAULT_KINDS.inverses))
ids = st.sampled_from([A, B, "https://c.example/g/c", "@d@d.example"])


def test_default_kinds_and_their_inverses() -> None:
    assert list(DEFAULT_KINDS) == ["parent", "partner", "same_place", "same_theme", "subgroup"]
    assert DEFAULT_KINDS.inverse("subgroup") == "parent"
    assert DEFAULT_KINDS.inverse("parent") == "subgroup"
    for kind in ("partner", "same_place", "same_theme"):
        assert DEFAULT_KINDS.is_symmetric(kind)


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as caught:
        propose(A, B, "friend")
    assert caught.value.field == "kind"
    for kind in DEFAULT_KINDS:
        assert kind in caught.value.message
    with pytest.raises(InvalidInput):
        DEFAULT_KINDS.validate(None)


def test_the_set_is_open_to_declared_kinds() -> None:
    more = DEFAULT_KINDS.declaring("mentor", "mentee")
    assert more.inverse("mentor") == "mentee"
    assert propose(A, B, "mentor", more).kind == "mentor"
    assert "mentor" not in DEFAULT_KINDS
    assert DEFAULT_KINDS.declaring("sibling").is_symmetric("sibling")


@pytest.mark.parametrize(
    "inverses",
    [{"a": "b"}, {"a": "b", "b": "c", "c": "a"}, {"Bad": "Bad"}, {"ok": "no way"}],
)
def test_inconsistent_kind_tables_are_refused(inverses: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        RelationKinds(inverses)


def test_a_relation_to_oneself_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        propose(A, A, "partner")
    assert "itself" in caught.value.message


@pytest.mark.parametrize("bad", ["", "with space", "a\nb", None, 3, "x" * 3000])
def test_group_ids_are_checked(bad: object) -> None:
    with pytest.raises(InvalidInput):
        validate_group_id(bad)


def test_lifecycle_moves() -> None:
    proposed = propose(A, B, "partner")
    assert proposed.state == "proposed" and not proposed.active
    accepted = proposed.move("accepted")
    assert accepted.active and not accepted.final
    removed = accepted.move("removed")
    assert removed.final and not removed.active
    assert proposed.move("rejected").final
    assert proposed.move("withdrawn").final


def test_undeclared_moves_are_refused() -> None:
    with pytest.raises(Conflict):
        propose(A, B, "partner").move("removed")
    with pytest.raises(Conflict):
        Relation(A, B, "partner", "accepted").move("withdrawn")
    with pytest.raises(InvalidInput):
        propose(A, B, "partner").move("exploded")
    with pytest.raises(InvalidInput):
        Relation(A, B, "partner", "limbo")


@given(st.sampled_from(sorted(RELATION_STATES)), st.sampled_from(sorted(RELATION_STATES)))
def test_move_follows_exactly_the_declared_graph(start: str, to: str) -> None:
    relation = Relation(A, B, "partner", start)
    if to in RELATION_TRANSITIONS[start]:
        assert relation.move(to).state == to
    else:
        with pytest.raises(Conflict):
            relation.move(to)


def test_every_state_is_reachable_from_proposed() -> None:
    reached, frontier = {"proposed"}, ["proposed"]
    while frontier:
        for nxt in RELATION_TRANSITIONS[frontier.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    assert reached == RELATION_STATES


@given(ids, ids, kinds)
def test_inverse_and_key(source: str, target: str, kind: str) -> None:
    if source == target:
        return
    relation = propose(source, target, kind)
    inverse = relation.inverted()
    assert (inverse.source, inverse.target) == (target, source)
    assert inverse.inverted() == relation
    assert relation.key() == inverse.key()
    # What each end is to the other, stated from both sides, agrees.
    assert relation.kind_from(target) == kind
    assert inverse.kind_from(target) == kind
    assert relation.kind_from(source) == DEFAULT_KINDS.inverse(kind)


def test_subgroup_reads_from_its_source() -> None:
    edge = propose(A, B, "subgroup")  # A is a subgroup of B
    assert edge.kind_from(B) == "subgroup"  # A is B's subgroup
    assert edge.kind_from(A) == "parent"  # B is A's parent
    assert edge.other(A) == B and edge.other(B) == A
    with pytest.raises(InvalidInput):
        edge.other("https://elsewhere.example/g")
    with pytest.raises(InvalidInput):
        edge.kind_from("https://elsewhere.example/g")

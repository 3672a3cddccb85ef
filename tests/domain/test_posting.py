"""The group's posting rules (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from imago_fed.domain.posting import refusal_to_forward, refusal_to_reshare


def test_reshare_rules() -> None:
    assert refusal_to_reshare(policy="followers", is_follower=True, author_blocked=False) is None
    assert refusal_to_reshare(policy="anyone", is_follower=False, author_blocked=False) is None
    assert refusal_to_reshare(policy="followers", is_follower=False, author_blocked=False) == (
        "author does not follow the group"
    )


@given(st.sampled_from(["followers", "anyone"]), st.booleans(), st.booleans())
def test_a_blocked_author_is_never_reshared_nor_forwarded(
    policy: str, is_follower: bool, edits: bool
) -> None:
    assert refusal_to_reshare(policy=policy, is_follower=is_follower, author_blocked=True)
    assert refusal_to_forward(
        edits=edits, is_author=True, policy=policy, is_follower=is_follower, actor_blocked=True
    )


@given(st.sampled_from(["followers", "anyone"]), st.booleans())
def test_only_the_author_edits(policy: str, is_follower: bool) -> None:
    common = {"edits": True, "policy": policy, "is_follower": is_follower, "actor_blocked": False}
    assert refusal_to_forward(is_author=True, **common) is None
    assert refusal_to_forward(is_author=False, **common) == "only the author may edit or delete"

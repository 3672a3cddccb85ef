"""The kinds of action a group can take, each governed by the control table."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ActionKind"]


class ActionKind(StrEnum):
    PUBLISH = "publish"  # post as the group
    MODERATE = "moderate"  # remove content, block an actor or an instance
    ADMIT = "admit"  # accept a member or follower
    REMOVE_MEMBER = "remove_member"
    SPEND = "spend"  # resources (a later feature)
    PUBLISH_OFFER = "publish_offer"
    PROPAGATE = "propagate"  # send an announcement to other groups
    RELATE = "relate"  # follow / link another group
    DELEGATE = "delegate"
    AMEND_TABLE = "amend_table"  # change the control table itself
    CONVENE = "convene"  # hold an assembly (agenda, date, turns, quorum)
    MOTION = "motion"  # a motion moved and seconded in an assembly

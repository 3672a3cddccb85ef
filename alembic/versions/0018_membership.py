"""Membership: invitations, and the effects of adopted decisions.

``invitations``: a code per invitation, who made it, until when and how many
times it may be used; ``invitation_uses`` who used it (once per person), so
the count cannot be inflated by one person redeeming twice.

``decision_effects``: what an adopted proposal did, one row per effect (admit
on Matrix, a Note to the followers, ...). A failed effect waits in ``retry``
with ``next_attempt`` (capped exponential backoff) and a lease
(``locked_until``) for the worker that tries it again, until it is ``done``
or ``failed`` (bad input, or too many attempts): never silently dropped.

Revision ID: 0018_membership
Revises: 0017_resources
Create Date: 2026-12-06
"""

from alembic import op

revision = "0018_membership"
down_revision = "0017_resources"
branch_labels = None
depends_on = None

UP = [
    """
    CREATE TABLE invitations (
        code        text PRIMARY KEY,
        group_id    bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        created_by  text NOT NULL,
        created_at  timestamptz NOT NULL,
        expires_at  timestamptz NOT NULL,
        max_uses    integer NOT NULL CHECK (max_uses > 0),
        uses        integer NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
        revoked_at  timestamptz
    )
    """,
    "CREATE INDEX invitations_group ON invitations (group_id, created_at)",
    """
    CREATE TABLE invitation_uses (
        code      text NOT NULL REFERENCES invitations(code) ON DELETE CASCADE,
        member_id text NOT NULL,
        used_at   timestamptz NOT NULL,
        outcome   text NOT NULL,
        PRIMARY KEY (code, member_id)
    )
    """,
    """
    CREATE TABLE decision_effects (
        id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        proposal_id   bigint NOT NULL REFERENCES proposals(id) ON DELETE CASCADE,
        name          text NOT NULL,
        state         text NOT NULL CHECK (state IN ('done', 'retry', 'failed')),
        outcome       text NOT NULL DEFAULT '',
        attempts      integer NOT NULL DEFAULT 1,
        next_attempt  timestamptz,
        locked_until  timestamptz,
        created_at    timestamptz NOT NULL,
        updated_at    timestamptz NOT NULL,
        UNIQUE (proposal_id, name)
    )
    """,
    "CREATE INDEX decision_effects_due ON decision_effects (next_attempt) WHERE state = 'retry'",
]
DOWN = [
    "DROP TABLE decision_effects",
    "DROP TABLE invitation_uses",
    "DROP TABLE invitations",
]


def upgrade() -> None:
    for statement in UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWN:
        op.execute(statement)

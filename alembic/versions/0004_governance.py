"""Governance: control tables, proposals (with their transition log), votes, delegations.

Revision ID: 0004_governance
Revises: 0003_matrix
Create Date: 2026-11-22
"""

from alembic import op

revision = "0004_governance"
down_revision = "0003_matrix"
branch_labels = None
depends_on = None

UP = [
    """
    CREATE TABLE control_tables (
        group_id   bigint PRIMARY KEY REFERENCES groups(id) ON DELETE CASCADE,
        rules      jsonb NOT NULL,
        updated_at timestamptz NOT NULL
    )
    """,
    """
    CREATE TABLE proposals (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        group_id   bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        action     text NOT NULL,
        title      text NOT NULL,
        options    jsonb NOT NULL,
        protocol   jsonb NOT NULL,
        params     jsonb NOT NULL DEFAULT '{}',
        topics     text[] NOT NULL DEFAULT '{}',
        state      text NOT NULL,
        author     text NOT NULL,
        created_at timestamptz NOT NULL,
        opened_at  timestamptz,
        closes_at  timestamptz,
        result     jsonb NOT NULL DEFAULT '{}'
    )
    """,
    "CREATE INDEX proposals_open ON proposals (closes_at) WHERE state = 'open'",
    # Append-only: who moved a proposal from where to where, and when.
    """
    CREATE TABLE proposal_transitions (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        proposal_id bigint NOT NULL REFERENCES proposals(id) ON DELETE CASCADE,
        from_state  text NOT NULL,
        to_state    text NOT NULL,
        by          text NOT NULL,
        at          timestamptz NOT NULL,
        note        text NOT NULL DEFAULT ''
    )
    """,
    # The current ballot of each voter (their latest wins) ...
    """
    CREATE TABLE votes (
        proposal_id bigint NOT NULL REFERENCES proposals(id) ON DELETE CASCADE,
        voter       text NOT NULL,
        ballot      integer[] NOT NULL,
        network     text NOT NULL,
        cast_at     timestamptz NOT NULL,
        PRIMARY KEY (proposal_id, voter)
    )
    """,
    # ... and every vote received, counted or not, with why (append-only).
    """
    CREATE TABLE vote_log (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        proposal_id bigint NOT NULL REFERENCES proposals(id) ON DELETE CASCADE,
        voter       text NOT NULL,
        ballot      integer[] NOT NULL,
        network     text NOT NULL,
        counted     boolean NOT NULL,
        reason      text NOT NULL DEFAULT '',
        at          timestamptz NOT NULL
    )
    """,
    """
    CREATE TABLE delegations (
        group_id   bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        delegator  text NOT NULL,
        delegate   text NOT NULL,
        scope      text NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (group_id, delegator, scope)
    )
    """,
    # A Matrix account and a fediverse account that are the same person
    # (claimed on both sides): they vote once.
    """
    CREATE TABLE identity_links (
        matrix_user text PRIMARY KEY,
        actor_uri   text NOT NULL UNIQUE,
        linked_at   timestamptz NOT NULL
    )
    """,
]

DOWN = [
    "DROP TABLE identity_links",
    "DROP TABLE delegations",
    "DROP TABLE vote_log",
    "DROP TABLE votes",
    "DROP TABLE proposal_transitions",
    "DROP TABLE proposals",
    "DROP TABLE control_tables",
]


def upgrade() -> None:
    for statement in UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWN:
        op.execute(statement)

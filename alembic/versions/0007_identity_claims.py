"""Claims that a Matrix account and a fediverse account are one person.

Revision ID: 0007_identity_claims
Revises: 0006_member_state
Create Date: 2026-11-22
"""

from alembic import op

revision = "0007_identity_claims"
down_revision = "0006_member_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE identity_claims (
            side        text NOT NULL CHECK (side IN ('matrix', 'fediverse')),
            matrix_user text NOT NULL,
            actor_uri   text NOT NULL,
            claimed_at  timestamptz NOT NULL,
            PRIMARY KEY (side, matrix_user, actor_uri)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE identity_claims")

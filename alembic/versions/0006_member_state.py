"""Matrix members of invite-only groups: knocks wait for approval.

Revision ID: 0006_member_state
Revises: 0005_matrix_polls
Create Date: 2026-11-22
"""

from alembic import op

revision = "0006_member_state"
down_revision = "0005_matrix_polls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE matrix_members ADD COLUMN state text NOT NULL DEFAULT 'joined'
            CHECK (state IN ('joined', 'knocked', 'invited'))
        """
    )


def downgrade() -> None:
    op.execute("DELETE FROM matrix_members WHERE state <> 'joined'")
    op.execute("ALTER TABLE matrix_members DROP COLUMN state")

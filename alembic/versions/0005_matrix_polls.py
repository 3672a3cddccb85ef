"""Matrix polls of proposals (which poll event is which proposal).

Revision ID: 0005_matrix_polls
Revises: 0004_governance
Create Date: 2026-11-22
"""

from alembic import op

revision = "0005_matrix_polls"
down_revision = "0004_governance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE matrix_polls (
            proposal_id bigint PRIMARY KEY REFERENCES proposals(id) ON DELETE CASCADE,
            room_id     text NOT NULL,
            event_id    text NOT NULL UNIQUE,
            ended       boolean NOT NULL DEFAULT false
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE matrix_polls")

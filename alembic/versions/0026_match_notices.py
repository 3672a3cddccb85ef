"""The best score each pair of intents was suggested at, so a pair is told again
only when it becomes a markedly better fit, never twice at the same score.

Revision ID: 0026_match_notices
Revises: 0025_actor_spaces
Create Date: 2026-12-06
"""

from alembic import op

revision = "0026_match_notices"
down_revision = "0025_actor_spaces"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE resource_match_notices (
            low_id   bigint NOT NULL REFERENCES resource_intents (id) ON DELETE CASCADE,
            high_id  bigint NOT NULL REFERENCES resource_intents (id) ON DELETE CASCADE,
            score    numeric(6, 4) NOT NULL CHECK (score BETWEEN 0 AND 1),
            told_at  timestamptz NOT NULL,
            PRIMARY KEY (low_id, high_id),
            CHECK (low_id < high_id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE resource_match_notices")

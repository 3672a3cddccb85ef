"""Links between groups of this instance (a sub-group for now).

Revision ID: 0009_group_links
Revises: 0008_elections
Create Date: 2026-11-22
"""

from alembic import op

revision = "0009_group_links"
down_revision = "0008_elections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE group_links (
            parent_id  bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
            child_id   bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
            kind       text NOT NULL CHECK (kind IN ('subgroup')),
            created_at timestamptz NOT NULL,
            PRIMARY KEY (parent_id, child_id, kind),
            CHECK (parent_id <> child_id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE group_links")

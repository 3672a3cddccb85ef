"""t-of-n trustees whose key is made across machines: the ceremony's messages.

Revision ID: 0010_threshold_trustees
Revises: 0009_group_links
Create Date: 2026-11-22
"""

from alembic import op

revision = "0010_threshold_trustees"
down_revision = "0009_group_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE elections ADD COLUMN threshold integer CHECK (threshold >= 1)")
    for column in ("cert", "polynomial", "verification"):
        op.execute(f"ALTER TABLE election_trustees ADD COLUMN {column} text")


def downgrade() -> None:
    for column in ("verification", "polynomial", "cert"):
        op.execute(f"ALTER TABLE election_trustees DROP COLUMN {column}")
    op.execute("ALTER TABLE elections DROP COLUMN threshold")

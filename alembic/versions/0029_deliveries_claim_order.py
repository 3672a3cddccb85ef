"""The delivery queue in claiming order: a claim first reads the oldest due
rows (``ORDER BY next_attempt, id``) for their hosts. With the index on
``next_attempt`` alone, the rows of one fan-out (all due at the same instant)
were one group that had to be read whole and sorted by id.

Revision ID: 0029_deliveries_claim_order
Revises: 0028_inbox_queue_order
Create Date: 2026-12-06
"""

from alembic import op

revision = "0029_deliveries_claim_order"
down_revision = "0028_inbox_queue_order"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX deliveries_due_order ON deliveries (next_attempt, id) WHERE state = 'queued'"
    )
    op.execute("DROP INDEX deliveries_due")


def downgrade() -> None:
    op.execute("CREATE INDEX deliveries_due ON deliveries (next_attempt) WHERE state = 'queued'")
    op.execute("DROP INDEX deliveries_due_order")

"""The inbox queue in claiming order: the processor claims the oldest queued
activities (``ORDER BY id LIMIT n``). With only an index on ``next_attempt``,
every claim read and sorted the whole queue (119 ms a claim with 56,000 rows
queued, measured under a sustained load), so the processor slowed down as the
queue grew, the opposite of what a backlog needs. Walked in ``id`` order, a
claim reads about the rows it takes.

Revision ID: 0028_inbox_queue_order
Revises: 0027_relations_by_peer
Create Date: 2026-12-06
"""

from alembic import op

revision = "0028_inbox_queue_order"
down_revision = "0027_relations_by_peer"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX inbox_queued ON inbox_activities (id) WHERE state = 'queued'")
    op.execute("DROP INDEX inbox_due")


def downgrade() -> None:
    op.execute("CREATE INDEX inbox_due ON inbox_activities (next_attempt) WHERE state = 'queued'")
    op.execute("DROP INDEX inbox_queued")

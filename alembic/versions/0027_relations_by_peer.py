"""Accepted relations by the other group: when a remote group's actor is fetched
and publishes a Matrix space, its accepted relations are looked up by it, so our
groups' spaces can be linked to one that appeared after the relation did.

Revision ID: 0027_relations_by_peer
Revises: 0026_match_notices
Create Date: 2026-12-06
"""

from alembic import op

revision = "0027_relations_by_peer"
down_revision = "0026_match_notices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX group_relations_accepted_peer ON group_relations (peer)"
        " WHERE state = 'accepted'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX group_relations_accepted_peer")

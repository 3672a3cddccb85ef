"""Remote actors' Matrix spaces: read from their actor documents, so a relation
with a group on another instance can link the two groups' spaces.

Revision ID: 0025_actor_spaces
Revises: 0024_intent_place_qid
Create Date: 2026-12-06
"""

from alembic import op

revision = "0025_actor_spaces"
down_revision = "0024_intent_place_qid"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ``space``: the room id (or, until the remote server publishes one, the alias);
    # ``space_server``: the homeserver to reach it through (``via``). Empty: none.
    op.execute(
        "ALTER TABLE remote_actors ADD COLUMN space text NOT NULL DEFAULT '',"
        " ADD COLUMN space_server text NOT NULL DEFAULT ''"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE remote_actors DROP COLUMN space, DROP COLUMN space_server")

"""Resource intents keep their place's Wikidata item.

An intent's place was stored as coordinates and a label only, so an offer
published at "Lyon (Q456)" came back from the store without its item and its
Proposal's ``location`` lost the ``id`` other servers match places by.

Revision ID: 0024_intent_place_qid
Revises: 0023_expenses
Create Date: 2026-12-06
"""

from alembic import op

revision = "0024_intent_place_qid"
down_revision = "0023_expenses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE resource_intents
            ADD COLUMN place_qid text CHECK (place_qid ~ '^Q[1-9][0-9]*$'),
            ADD CONSTRAINT resource_intents_place_qid_needs_place
                CHECK (place_qid IS NULL OR lat IS NOT NULL)
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE resource_intents DROP COLUMN place_qid")

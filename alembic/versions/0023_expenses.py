"""Expenses: one-off spending from the pool, recorded once a ``spend`` decision passes.

Revision ID: 0023_expenses
Revises: 0016_graph_places
Create Date: 2026-12-06
"""

from alembic import op

revision = "0023_expenses"
down_revision = "0016_graph_places"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE cost_expenses (
            id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            label      text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
            amount     bigint NOT NULL CHECK (amount >= 0),
            currency   char(3) NOT NULL,
            spent_on   date NOT NULL,
            note       text NOT NULL DEFAULT '',
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE cost_expenses")

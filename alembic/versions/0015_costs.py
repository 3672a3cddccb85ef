"""What the instance costs and who chips in: bills, pledges, contributions.

Amounts are integers in minor units (cents) with their ISO 4217 currency, so
sums are exact. No payment is processed: a contribution is recorded once the
money arrived.

Revision ID: 0015_costs
Revises: 0012_graph_relations
Create Date: 2026-12-05
"""

from alembic import op

revision = "0015_costs"
down_revision = "0012_graph_relations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE cost_bills (
            id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            label         text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
            kind          text NOT NULL CHECK (kind IN ('hosting', 'domain', 'other')),
            amount        bigint NOT NULL CHECK (amount >= 0),
            currency      char(3) NOT NULL,
            period_months integer NOT NULL CHECK (period_months BETWEEN 1 AND 120),
            starts_on     date NOT NULL,
            renews_on     date NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE cost_pledges (
            id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            member     text NOT NULL CHECK (length(member) BETWEEN 1 AND 200),
            amount     bigint NOT NULL CHECK (amount >= 0),
            currency   char(3) NOT NULL,
            starts_on  date NOT NULL,
            ends_on    date CHECK (ends_on IS NULL OR ends_on > starts_on),
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE cost_contributions (
            id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            member     text NOT NULL CHECK (length(member) BETWEEN 1 AND 200),
            amount     bigint NOT NULL CHECK (amount >= 0),
            currency   char(3) NOT NULL,
            paid_on    date NOT NULL,
            note       text NOT NULL DEFAULT '',
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    # The status dashboard rebuilds queue depth and deliveries per hour from these.
    op.execute("CREATE INDEX deliveries_created_at ON deliveries (created_at)")
    op.execute("CREATE INDEX deliveries_delivered_at ON deliveries (delivered_at)")


def downgrade() -> None:
    op.execute("DROP INDEX deliveries_delivered_at")
    op.execute("DROP INDEX deliveries_created_at")
    op.execute("DROP TABLE cost_contributions")
    op.execute("DROP TABLE cost_pledges")
    op.execute("DROP TABLE cost_bills")

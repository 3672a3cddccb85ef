"""Ballots a voter audited in the booth, so that none of them is ever cast.

An audited ballot's randomness is public (the audit shows it), so casting it
would publish the vote. The booth records the audit here before it reveals
anything, keyed by the ballot's ciphertexts, and the ballot box refuses any
ballot carrying those ciphertexts.

Revision ID: 0020_audited_ballots
Revises: 0015_costs
Create Date: 2026-12-06
"""

from alembic import op

revision = "0020_audited_ballots"
down_revision = "0015_costs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE election_audits (
            election_id bigint NOT NULL REFERENCES elections(id) ON DELETE CASCADE,
            ciphertexts text NOT NULL,
            audited_at  timestamptz NOT NULL,
            PRIMARY KEY (election_id, ciphertexts)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE election_audits")

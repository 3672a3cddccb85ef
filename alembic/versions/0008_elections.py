"""Verifiable secret ballots: an election per secret proposal, its trustees, its board.

Only public material is stored: trustee public keys and partial decryptions,
public credentials (sorted, so their order says nothing about who holds
which), ballots as cast (append-only; the last per credential counts), the
encrypted tally and the result. Private credentials and trustee private keys
never reach the database.

Revision ID: 0008_elections
Revises: 0007_identity_claims
Create Date: 2026-11-22
"""

from alembic import op

revision = "0008_elections"
down_revision = "0007_identity_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE elections (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            proposal_id     bigint NOT NULL UNIQUE REFERENCES proposals(id) ON DELETE CASCADE,
            uuid            text NOT NULL UNIQUE,
            state           text NOT NULL DEFAULT 'keys'
                            CHECK (state IN ('keys', 'open', 'tallied', 'done')),
            electorate      jsonb NOT NULL,
            credentials     jsonb NOT NULL,
            election        text,
            encrypted_tally text,
            result          jsonb,
            timestamp       bigint NOT NULL,
            created_at      timestamptz NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE election_trustees (
            election_id  bigint NOT NULL REFERENCES elections(id) ON DELETE CASCADE,
            position     integer NOT NULL CHECK (position >= 1),
            member       text NOT NULL,
            public_key   text,
            decryption   text,
            decrypted_at timestamptz,
            PRIMARY KEY (election_id, position)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE election_ballots (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            election_id bigint NOT NULL REFERENCES elections(id) ON DELETE CASCADE,
            credential  text NOT NULL,
            tracker     text NOT NULL,
            raw         text NOT NULL,
            cast_at     timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX election_ballots_by_election ON election_ballots (election_id, id)")


def downgrade() -> None:
    op.execute("DROP TABLE election_ballots")
    op.execute("DROP TABLE election_trustees")
    op.execute("DROP TABLE elections")

"""t-of-n trustees whose key is made across machines: the ceremony's messages;
an external credential authority; ballots append-only in the database itself.

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
    op.execute(
        "ALTER TABLE elections ADD COLUMN credential_authority text NOT NULL DEFAULT 'server'"
        " CHECK (credential_authority IN ('server', 'external'))"
    )
    for column in ("cert", "polynomial", "verification"):
        op.execute(f"ALTER TABLE election_trustees ADD COLUMN {column} text")
    # A ballot once accepted is never changed or removed (a revote is a new row;
    # the last per credential counts): the board is a log, and the database says so.
    op.execute(
        """
        CREATE FUNCTION election_ballots_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'election ballots are append-only (% refused)', TG_OP;
        END $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER election_ballots_append_only BEFORE UPDATE OR DELETE ON election_ballots"
        " FOR EACH ROW WHEN (pg_trigger_depth() = 0)"
        " EXECUTE FUNCTION election_ballots_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER election_ballots_append_only ON election_ballots")
    op.execute("DROP FUNCTION election_ballots_append_only()")
    for column in ("verification", "polynomial", "cert"):
        op.execute(f"ALTER TABLE election_trustees DROP COLUMN {column}")
    op.execute("ALTER TABLE elections DROP COLUMN credential_authority")
    op.execute("ALTER TABLE elections DROP COLUMN threshold")

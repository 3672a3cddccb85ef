"""Groups, with their signing keys.

Revision ID: 0001_groups
Revises:
Create Date: 2026-11-22
"""

from alembic import op

revision = "0001_groups"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE groups (
            id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            slug             text NOT NULL UNIQUE,
            name             text NOT NULL,
            summary          text NOT NULL DEFAULT '',
            created_at       timestamptz NOT NULL,
            deleted_at       timestamptz,
            public_key_pem   text NOT NULL,
            private_key_sealed bytea NOT NULL
        )
        """
    )
    op.execute("COMMENT ON COLUMN groups.deleted_at IS 'tombstone: slugs are never reused'")
    op.execute("COMMENT ON COLUMN groups.private_key_sealed IS 'AES-GCM under the instance secret'")


def downgrade() -> None:
    op.execute("DROP TABLE groups")

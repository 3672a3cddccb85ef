"""Assemblies: a group's meetings, their floor, motions and minutes.

The state is one JSON object (the domain's ``Assembly.to_dict``) with a
version for optimistic writes; ``state`` and ``starts_at`` are columns so the
ticker finds the live ones without reading every object.

Revision ID: 0022_assemblies
Revises: 0018_membership
Create Date: 2026-12-06
"""

from alembic import op

revision = "0022_assemblies"
down_revision = "0018_membership"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE assemblies (
            id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            group_id   bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
            state      text NOT NULL CHECK (state IN ('convened', 'open', 'closed')),
            starts_at  timestamptz NOT NULL,
            body       jsonb NOT NULL,
            version    integer NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX assemblies_by_group ON assemblies (group_id, id DESC)")
    op.execute("CREATE INDEX assemblies_live ON assemblies (starts_at) WHERE state <> 'closed'")


def downgrade() -> None:
    op.execute("DROP TABLE assemblies")

"""Media: the files posts carry and groups show, and where each came from.

``media`` is the catalogue of what the media store holds (the bytes live on
disk or in object storage, named by their SHA-256, which is the row's id).
``media_links`` remembers where a file is known on each network (the URL it
was fetched from, its ``mxc://`` upload), so it is fetched and uploaded once.
``group_faces`` are the groups' pictures: avatar and header.

Revision ID: 0021_media
Revises: 0022_assemblies
Create Date: 2026-12-06
"""

from alembic import op

revision = "0021_media"
down_revision = "0022_assemblies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE media (
            id            text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
            media_type    text NOT NULL,
            size          bigint NOT NULL CHECK (size >= 0),
            width         integer NOT NULL DEFAULT 0,
            height        integer NOT NULL DEFAULT 0,
            blurhash      text NOT NULL DEFAULT '',
            thumbnail_id  text REFERENCES media(id) ON DELETE SET NULL,
            origin        text NOT NULL,
            created_at    timestamptz NOT NULL,
            last_used_at  timestamptz NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE media_links (
            network    text NOT NULL,
            ref        text NOT NULL,
            media_id   text NOT NULL REFERENCES media(id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL,
            PRIMARY KEY (network, ref)
        )
        """
    )
    op.execute("CREATE INDEX media_links_by_media ON media_links (media_id, network)")
    op.execute(
        """
        CREATE TABLE group_faces (
            group_id   bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
            role       text NOT NULL CHECK (role IN ('avatar', 'header')),
            media_id   text NOT NULL REFERENCES media(id),
            alt        text NOT NULL DEFAULT '',
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (group_id, role)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE group_faces")
    op.execute("DROP TABLE media_links")
    op.execute("DROP TABLE media")

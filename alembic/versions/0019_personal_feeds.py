"""Personal feeds: what a Matrix user wants to read, and what they were shown.

A feed is a person's own choice of groups, themes and a place with a radius
(``definition``, the domain's ``PersonalFeed.to_dict``), made with the bot; the
bot posts matching announcements in one room per feed (``room_id``, set once
the room exists). ``personal_feed_entries`` holds each object shown in a feed,
so a replayed event or an overlap of the backlog with live items shows it once.

Revision ID: 0019_personal_feeds
Revises: 0021_media
Create Date: 2026-12-06
"""

from alembic import op

revision = "0019_personal_feeds"
down_revision = "0021_media"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE personal_feeds (
            id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            owner      text NOT NULL CHECK (length(owner) BETWEEN 3 AND 255),
            name       text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
            definition jsonb NOT NULL,
            room_id    text,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            UNIQUE (owner, name)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE personal_feed_entries (
            feed_id   bigint NOT NULL REFERENCES personal_feeds(id) ON DELETE CASCADE,
            object_id text NOT NULL,
            shown_at  timestamptz NOT NULL,
            PRIMARY KEY (feed_id, object_id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE personal_feed_entries")
    op.execute("DROP TABLE personal_feeds")

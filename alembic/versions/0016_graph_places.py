"""Places and themes of groups, local and remote: the nodes proximity ranks.

One row per group we know, ours (``group_id`` set) or another server's (read
from its actor document). ``place`` is a ``point`` (x = longitude, y =
latitude) with a GiST index, so "the nearest groups" is a nearest-neighbour
index scan (``ORDER BY place <-> anchor``) in core PostgreSQL, no extension.
``themes`` holds Wikidata QIDs as numbers (``Q7397`` -> 7397).

``graph_node_themes`` repeats each (node, theme) with the node's place, under a
two-column GiST index (theme as a one-value ``int4range``, place): "the nearest
groups sharing theme Q7397" is then one nearest-neighbour scan too, where a GIN
index on ``themes`` would fetch every group of a popular theme and sort them.

Revision ID: 0016_graph_places
Revises: 0019_personal_feeds
Create Date: 2026-12-06
"""

from alembic import op

revision = "0016_graph_places"
down_revision = "0019_personal_feeds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE graph_nodes (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            actor        text NOT NULL UNIQUE,
            group_id     bigint UNIQUE REFERENCES groups(id) ON DELETE CASCADE,
            handle       text,
            place        point,
            place_label  text NOT NULL DEFAULT '',
            place_qid    text,
            themes       integer[] NOT NULL DEFAULT '{}',
            weights      jsonb,
            updated_at   timestamptz NOT NULL,
            CHECK (place IS NULL OR (place[0] BETWEEN -180 AND 180 AND place[1] BETWEEN -90 AND 90))
        )
        """
    )
    op.execute("CREATE INDEX graph_nodes_place ON graph_nodes USING gist (place)")
    op.execute(
        """
        CREATE TABLE graph_node_themes (
            node   bigint NOT NULL REFERENCES graph_nodes(id) ON DELETE CASCADE,
            theme  integer NOT NULL,
            slot   int4range NOT NULL,
            place  point,
            PRIMARY KEY (node, theme),
            CHECK (slot = int4range(theme, theme, '[]'))
        )
        """
    )
    op.execute("CREATE INDEX graph_node_themes_near ON graph_node_themes USING gist (slot, place)")
    # Our groups already in relations get their row, so the walk over relations
    # can step from an actor id to the group it is (store/graph_nodes.py).
    op.execute(
        """
        INSERT INTO graph_nodes (actor, group_id, updated_at)
        SELECT DISTINCT ON (group_id)
               CASE WHEN peer = target THEN source ELSE target END, group_id, now()
          FROM group_relations
         ORDER BY group_id, id
        ON CONFLICT DO NOTHING
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE graph_node_themes")
    op.execute("DROP TABLE graph_nodes")

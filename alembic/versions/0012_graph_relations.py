"""The graph of groups: typed relations, feed rules, propagated items, rate buckets.

Revision ID: 0012_graph_relations
Revises: 0010_threshold_trustees
Create Date: 2026-12-05
"""

from alembic import op

revision = "0012_graph_relations"
down_revision = "0010_threshold_trustees"
branch_labels = None
depends_on = None

_STATES = "'proposed', 'accepted', 'rejected', 'withdrawn', 'removed'"


def upgrade() -> None:
    # One row per local group and relation, stated as the domain states it
    # (source proposes to target: "source is target's <kind>"). When both ends
    # are local, each has its own row, so each side keeps its own view.
    # peer is the other end (the local group is the one that is not), so
    # reading a group's neighbours needs no knowledge of our own URLs.
    # offer_id is the Offer activity: answers and undos name it.
    op.execute(
        f"""
        CREATE TABLE group_relations (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            group_id    bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
            source      text NOT NULL,
            target      text NOT NULL,
            kind        text NOT NULL,
            peer        text NOT NULL,
            state       text NOT NULL CHECK (state IN ({_STATES})),
            offer_id    text NOT NULL,
            answer_id   text,
            created_at  timestamptz NOT NULL,
            updated_at  timestamptz NOT NULL,
            CHECK (source <> target),
            CHECK (peer IN (source, target)),
            UNIQUE (group_id, offer_id)
        )
        """
    )
    # At most one live edge of a kind between two groups, from each side.
    op.execute(
        "CREATE UNIQUE INDEX group_relations_live"
        " ON group_relations (group_id, source, target, kind)"
        " WHERE state IN ('proposed', 'accepted')"
    )
    op.execute("CREATE INDEX group_relations_offer ON group_relations (offer_id)")
    op.execute(
        "CREATE INDEX group_relations_accepted ON group_relations (group_id, peer)"
        " WHERE state = 'accepted'"
    )
    op.execute(
        """
        CREATE TABLE feed_rules (
            group_id   bigint PRIMARY KEY REFERENCES groups(id) ON DELETE CASCADE,
            rules      jsonb NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """
    )
    # What each group received (accepted or held) or originated: the unique key
    # is the de-duplication (one object once per group, whatever the path).
    op.execute(
        """
        CREATE TABLE propagated_items (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            group_id     bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
            object_id    text NOT NULL,
            origin       text NOT NULL,
            path         text[] NOT NULL,
            hops         integer NOT NULL CHECK (hops >= 1),
            hop_limit    integer NOT NULL CHECK (hop_limit >= 1),
            verdict      text NOT NULL CHECK (verdict IN ('sent', 'accept', 'hold', 'released')),
            reason       text NOT NULL DEFAULT '',
            envelope     jsonb NOT NULL,
            received_at  timestamptz NOT NULL,
            UNIQUE (group_id, object_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE propagation_buckets (
            group_id bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
            origin   text NOT NULL,
            tokens   double precision NOT NULL,
            at       timestamptz NOT NULL,
            PRIMARY KEY (group_id, origin)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE propagation_buckets")
    op.execute("DROP TABLE propagated_items")
    op.execute("DROP TABLE feed_rules")
    op.execute("DROP TABLE group_relations")

"""Matrix bridge: appservice transactions, rooms, puppets, members, group events.

Revision ID: 0003_matrix
Revises: 0002_activitypub
Create Date: 2026-11-22
"""

from alembic import op

revision = "0003_matrix"
down_revision = "0002_activitypub"
branch_labels = None
depends_on = None

UP = [
    # Domain events of a group, written by one adapter and read by the others
    # (each keeps its own cursor): how a fediverse post reaches Matrix and a
    # Matrix message reaches the fediverse without the adapters knowing each other.
    """
    CREATE TABLE group_events (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        group_id   bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        kind       text NOT NULL,
        source     text NOT NULL,
        dedupe_key text NOT NULL UNIQUE,
        payload    jsonb NOT NULL,
        created_at timestamptz NOT NULL
    )
    """,
    """
    CREATE TABLE event_cursors (
        consumer text PRIMARY KEY,
        last_id  bigint NOT NULL DEFAULT 0
    )
    """,
    # Appservice transactions: stored before the 200, replays are no-ops.
    """
    CREATE TABLE matrix_transactions (
        txn_id      text PRIMARY KEY,
        body        jsonb NOT NULL,
        received_at timestamptz NOT NULL
    )
    """,
    # One row per event, processed in order per room.
    """
    CREATE TABLE matrix_events (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id     text NOT NULL UNIQUE,
        room_id      text NOT NULL,
        body         jsonb NOT NULL,
        state        text NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'done', 'ignored', 'failed')),
        attempts     integer NOT NULL DEFAULT 0,
        next_attempt timestamptz NOT NULL DEFAULT now(),
        locked_until timestamptz,
        error        text,
        received_at  timestamptz NOT NULL
    )
    """,
    "CREATE INDEX matrix_events_due ON matrix_events (room_id, id) WHERE state = 'queued'",
    """
    CREATE TABLE matrix_rooms (
        group_id   bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        kind       text NOT NULL,
        room_id    text NOT NULL UNIQUE,
        alias      text NOT NULL UNIQUE,
        encrypted  boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (group_id, kind)
    )
    """,
    # Fediverse actors shown in Matrix as virtual users.
    """
    CREATE TABLE matrix_puppets (
        user_id       text PRIMARY KEY,
        actor_uri     text NOT NULL UNIQUE,
        display_name  text,
        registered_at timestamptz NOT NULL
    )
    """,
    # Matrix users shown in the fediverse as Person actors of this instance.
    """
    CREATE TABLE matrix_people (
        user_id            text PRIMARY KEY,
        username           text NOT NULL UNIQUE,
        display_name       text,
        public_key_pem     text NOT NULL,
        private_key_sealed bytea NOT NULL,
        created_at         timestamptz NOT NULL
    )
    """,
    """
    CREATE TABLE matrix_members (
        group_id  bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        user_id   text NOT NULL,
        joined_at timestamptz NOT NULL,
        PRIMARY KEY (group_id, user_id)
    )
    """,
    # Which Matrix event is which fediverse object: replies, edits, redactions,
    # and the guarantee that nothing we sent is sent back.
    """
    CREATE TABLE bridged_messages (
        event_id   text NOT NULL UNIQUE,
        room_id    text NOT NULL,
        object_id  text NOT NULL,
        group_id   bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        origin     text NOT NULL CHECK (origin IN ('matrix', 'fediverse')),
        created_at timestamptz NOT NULL,
        PRIMARY KEY (object_id, room_id)
    )
    """,
]

DOWN = [
    "DROP TABLE bridged_messages",
    "DROP TABLE matrix_members",
    "DROP TABLE matrix_people",
    "DROP TABLE matrix_puppets",
    "DROP TABLE matrix_rooms",
    "DROP TABLE matrix_events",
    "DROP TABLE matrix_transactions",
    "DROP TABLE event_cursors",
    "DROP TABLE group_events",
]


def upgrade() -> None:
    for statement in UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWN:
        op.execute(statement)

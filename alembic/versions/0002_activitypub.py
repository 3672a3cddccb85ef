"""ActivityPub federation: remote actors, follows, inbox, outbox, delivery queue.

Revision ID: 0002_activitypub
Revises: 0001_groups
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002_activitypub"
down_revision = "0001_groups"
branch_labels = None
depends_on = None

UP = [
    """
    ALTER TABLE groups
        ADD COLUMN manually_approves_followers boolean NOT NULL DEFAULT false,
        ADD COLUMN discoverable boolean NOT NULL DEFAULT true,
        ADD COLUMN posting_policy text NOT NULL DEFAULT 'followers'
            CHECK (posting_policy IN ('followers', 'anyone'))
    """,
    # Keys of the instance itself (the instance actor signs fetches that no
    # group makes), sealed like the groups' keys.
    """
    CREATE TABLE instance_keys (
        name               text PRIMARY KEY,
        public_key_pem     text NOT NULL,
        private_key_sealed bytea NOT NULL,
        created_at         timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE remote_actors (
        uri                text PRIMARY KEY,
        host               text NOT NULL,
        type               text NOT NULL,
        preferred_username text,
        name               text,
        inbox              text NOT NULL,
        shared_inbox       text,
        key_id             text,
        public_key_pem     text,
        document           jsonb NOT NULL,
        fetched_at         timestamptz NOT NULL
    )
    """,
    "CREATE INDEX remote_actors_key_id ON remote_actors (key_id)",
    """
    CREATE TABLE group_followers (
        group_id   bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        actor_uri  text NOT NULL,
        follow_id  text NOT NULL,
        state      text NOT NULL CHECK (state IN ('pending', 'accepted')),
        created_at timestamptz NOT NULL,
        PRIMARY KEY (group_id, actor_uri)
    )
    """,
    """
    CREATE TABLE group_following (
        group_id   bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        target_uri text NOT NULL,
        follow_id  text NOT NULL UNIQUE,
        state      text NOT NULL CHECK (state IN ('requested', 'accepted', 'rejected')),
        created_at timestamptz NOT NULL,
        PRIMARY KEY (group_id, target_uri)
    )
    """,
    """
    CREATE TABLE group_moderators (
        group_id  bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        actor_uri text NOT NULL,
        added_at  timestamptz NOT NULL,
        PRIMARY KEY (group_id, actor_uri)
    )
    """,
    # What each group published (its Announces, Accepts, own posts): served at
    # the activity id, listed in the outbox, and the source of threading.
    """
    CREATE TABLE outbox (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        group_id     bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        activity_id  text NOT NULL UNIQUE,
        type         text NOT NULL,
        object_id    text,
        body         jsonb NOT NULL,
        public       boolean NOT NULL DEFAULT true,
        published_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX outbox_group ON outbox (group_id, id DESC)",
    "CREATE INDEX outbox_object ON outbox (object_id)",
    # Verified inbound activities, stored before the 202 and processed later.
    """
    CREATE TABLE inbox_activities (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        activity_id  text NOT NULL UNIQUE,
        actor_uri    text NOT NULL,
        group_id     bigint REFERENCES groups(id) ON DELETE CASCADE,
        type         text NOT NULL,
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
    "CREATE INDEX inbox_due ON inbox_activities (next_attempt) WHERE state = 'queued'",
    # One row per (activity, destination inbox); the body is the exact bytes
    # to send, so a retry sends the same document.
    """
    CREATE TABLE deliveries (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        activity_id  text NOT NULL,
        group_id     bigint REFERENCES groups(id) ON DELETE CASCADE,
        inbox        text NOT NULL,
        host         text NOT NULL,
        body         text NOT NULL,
        state        text NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'delivered', 'dead')),
        attempts     integer NOT NULL DEFAULT 0,
        next_attempt timestamptz NOT NULL DEFAULT now(),
        locked_until timestamptz,
        last_status  integer,
        last_error   text,
        created_at   timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz,
        UNIQUE (activity_id, inbox)
    )
    """,
    "CREATE INDEX deliveries_due ON deliveries (next_attempt) WHERE state = 'queued'",
    "CREATE INDEX deliveries_host ON deliveries (host) WHERE state = 'queued'",
    """
    CREATE TABLE peer_hosts (
        host             text PRIMARY KEY,
        signature_scheme text NOT NULL DEFAULT 'cavage'
                         CHECK (signature_scheme IN ('cavage', 'rfc9421')),
        first_failure_at timestamptz,
        last_failure_at  timestamptz,
        failure_days     integer NOT NULL DEFAULT 0,
        last_success_at  timestamptz,
        unavailable      boolean NOT NULL DEFAULT false
    )
    """,
    # Our blocks: group_id NULL means instance-wide (set by the admin).
    """
    CREATE TABLE blocks (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        group_id   bigint REFERENCES groups(id) ON DELETE CASCADE,
        kind       text NOT NULL CHECK (kind IN ('actor', 'domain')),
        value      text NOT NULL,
        reason     text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL,
        UNIQUE NULLS NOT DISTINCT (group_id, kind, value)
    )
    """,
    # Remote actors who blocked one of our groups: we stop sending to them.
    """
    CREATE TABLE blocked_by (
        group_id   bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        actor_uri  text NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (group_id, actor_uri)
    )
    """,
    """
    CREATE TABLE reports (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        group_id    bigint REFERENCES groups(id) ON DELETE CASCADE,
        reporter    text NOT NULL,
        activity_id text NOT NULL UNIQUE,
        content     text NOT NULL DEFAULT '',
        objects     text[] NOT NULL DEFAULT '{}',
        body        jsonb NOT NULL,
        created_at  timestamptz NOT NULL
    )
    """,
]

DOWN = [
    "DROP TABLE reports",
    "DROP TABLE blocked_by",
    "DROP TABLE blocks",
    "DROP TABLE peer_hosts",
    "DROP TABLE deliveries",
    "DROP TABLE inbox_activities",
    "DROP TABLE outbox",
    "DROP TABLE group_moderators",
    "DROP TABLE group_following",
    "DROP TABLE group_followers",
    "DROP TABLE remote_actors",
    "DROP TABLE instance_keys",
    """
    ALTER TABLE groups
        DROP COLUMN posting_policy,
        DROP COLUMN discoverable,
        DROP COLUMN manually_approves_followers
    """,
]


def upgrade() -> None:
    for statement in UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWN:
        op.execute(statement)

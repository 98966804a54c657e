"""The hub: versions as ciphertext with their clear metadata, account changes, every PC's audit
trail, and the enrolled PCs. One bigserial change sequence per stream is what devices pull by.

Devices log in with a role of their own that may only insert and read (granted by `hub init`, not
here: the role names belong to the hub, see sync/hub_admin.py). Nothing is ever updated or deleted.

Revision ID: h001
Revises:
"""

from alembic import op

revision = "h001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE TABLE hub_meta (key text PRIMARY KEY, value text NOT NULL)")
    op.execute(
        """CREATE TABLE devices (
            device_id uuid PRIMARY KEY,
            role_name text NOT NULL UNIQUE,
            label text NOT NULL,
            enrolled_at timestamptz NOT NULL DEFAULT now(),
            enrolled_by text NOT NULL,
            revoked_at timestamptz)"""
    )
    # One row per enrolment file used: a second use of the same file (its role) is refused.
    op.execute(
        """CREATE TABLE device_claims (
            role_name text PRIMARY KEY DEFAULT current_user,
            device_id uuid NOT NULL REFERENCES devices (device_id),
            claimed_at timestamptz NOT NULL DEFAULT now())"""
    )
    op.execute(
        """CREATE TABLE versions (
            seq bigserial PRIMARY KEY,
            version_id uuid NOT NULL UNIQUE,
            record_id uuid NOT NULL,
            record_kind text NOT NULL,
            patient_id uuid NOT NULL,
            record_created_at timestamp NOT NULL,
            record_created_by uuid NOT NULL,
            record_mac bytea NOT NULL,
            kind text NOT NULL,
            author_id uuid NOT NULL,
            created_at timestamp NOT NULL,
            signed boolean NOT NULL,
            status text NOT NULL,
            review_due date,
            followup_due date,
            parents uuid[] NOT NULL,
            payload bytea NOT NULL,
            pushed_by text NOT NULL DEFAULT current_user,
            received_at timestamptz NOT NULL DEFAULT now())"""
    )
    op.execute("CREATE INDEX ix_versions_record ON versions (record_id)")
    op.execute(
        """CREATE TABLE users (
            seq bigserial PRIMARY KEY,
            change_id text NOT NULL UNIQUE,
            user_id uuid NOT NULL,
            username text NOT NULL,
            display_name text NOT NULL,
            role text NOT NULL,
            active boolean NOT NULL,
            created_at timestamp NOT NULL,
            disabled_at timestamp,
            wrap_key_id integer,
            wrap_kdf text,
            wrap_salt bytea,
            wrapped bytea,
            mac bytea NOT NULL,
            pushed_by text NOT NULL DEFAULT current_user,
            received_at timestamptz NOT NULL DEFAULT now())"""
    )
    op.execute(
        """CREATE TABLE audit (
            device_id uuid NOT NULL,
            seq integer NOT NULL,
            at timestamp NOT NULL,
            user_id text,
            action text NOT NULL,
            patient_id text,
            target_id text,
            detail bytea,
            mac bytea NOT NULL,
            pushed_by text NOT NULL DEFAULT current_user,
            received_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (device_id, seq))"""
    )


def downgrade() -> None:
    for table in ("audit", "users", "versions", "device_claims", "devices", "hub_meta"):
        op.execute(f"DROP TABLE {table}")

"""Initial store: users, key wraps, append-only records and versions, blind index, audit chain.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Clinical history and the audit trail are append-only: the database itself refuses changes,
# so a bug (or a hand-run UPDATE) cannot overwrite a clinical version.
APPEND_ONLY = ("records", "versions", "version_parents", "blind_index", "audit")
APPEND_ONLY_KEYS = {
    "records": ("record_id",),
    "versions": ("version_id",),
    "version_parents": ("version_id", "parent_id"),
    "blind_index": ("kind", "digest", "record_id"),
    "audit": ("seq",),
}


def upgrade() -> None:
    op.create_table(
        "meta", sa.Column("key", sa.String(64), primary_key=True), sa.Column("value", sa.Text, nullable=False)
    )
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("disabled_at", sa.DateTime),
        sa.Column("failed_attempts", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime),
        sa.Column("last_login_at", sa.DateTime),
    )
    op.create_table(
        "key_wraps",
        sa.Column("wrap_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.Integer, nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.user_id")),
        sa.Column("kdf", sa.Text, nullable=False),
        sa.Column("salt", sa.LargeBinary, nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "records",
        sa.Column("record_id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(36), sa.ForeignKey("users.user_id"), nullable=False),
    )
    op.create_table(
        "versions",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version_id", sa.String(36), nullable=False, unique=True),
        sa.Column("record_id", sa.String(36), sa.ForeignKey("records.record_id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("author_id", sa.String(36), sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("signed", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("review_due", sa.Date),
        sa.Column("followup_due", sa.Date),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_versions_record", "versions", ["record_id", "seq"])
    # Covers the caseload's "newest head of every plan" scan without reading the payload pages.
    op.create_index(
        "ix_versions_heads",
        "versions",
        ["kind", "seq", "version_id", "record_id", "status", "created_at", "signed", "review_due", "followup_due"],
    )
    op.create_table(
        "version_parents",
        sa.Column("version_id", sa.String(36), sa.ForeignKey("versions.version_id"), primary_key=True),
        sa.Column("parent_id", sa.String(36), sa.ForeignKey("versions.version_id"), primary_key=True, index=True),
    )
    op.create_table(
        "blind_index",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("digest", sa.LargeBinary, primary_key=True),
        sa.Column("record_id", sa.String(36), sa.ForeignKey("records.record_id"), primary_key=True),
    )
    op.create_table(
        "audit",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("user_id", sa.String(36), index=True),
        sa.Column("action", sa.String(32), nullable=False, index=True),
        sa.Column("patient_id", sa.String(36), index=True),
        sa.Column("target_id", sa.String(36)),
        sa.Column("detail", sa.LargeBinary),
        sa.Column("mac", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "login_throttle",
        sa.Column("name_hash", sa.String(64), primary_key=True),
        sa.Column("failed_attempts", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime),
    )
    op.create_table(
        "snapshots",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("upto_seq", sa.Integer, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "pending_audit",
        sa.Column("pending_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(36)),
        sa.Column("note", sa.Text, nullable=False),
    )
    for table in APPEND_ONLY:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
        # INSERT OR REPLACE deletes the old row without firing delete triggers: refuse a clashing key.
        clash = " AND ".join(f"{c} = NEW.{c}" for c in APPEND_ONLY_KEYS[table])
        op.execute(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {clash}) "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: that key exists'); END"
        )

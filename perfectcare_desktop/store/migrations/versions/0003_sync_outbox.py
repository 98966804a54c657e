"""Sync to the hub: the outbox of changes waiting to be pushed, and what the hub sent that failed.

Every version, audit entry and account change is queued in the transaction that writes it. A store
made before this revision queues its whole history here, so enrolling it later pushes everything.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("oid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("item", sa.String(16), nullable=False),  # "version" | "audit" | "user"
        sa.Column("ref", sa.String(36), nullable=False),  # version id, audit seq, user id
        sa.Column("change_id", sa.String(36)),  # an account change's own id: re-sending it is harmless
        sa.Column("queued_at", sa.DateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("parked_at", sa.DateTime),  # refused by the hub for good: kept, reported, not retried
        sa.Column("problem", sa.Text),  # why, in words with no patient detail
    )
    op.create_index("ix_outbox_waiting", "outbox", ["parked_at", "oid"])
    op.create_table(
        "sync_rejects",
        sa.Column("stream", sa.String(16), primary_key=True),
        sa.Column("hub_seq", sa.BigInteger, primary_key=True),
        sa.Column("ref", sa.String(36), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("seen_at", sa.DateTime, nullable=False),
    )
    now = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    op.execute(
        "INSERT INTO outbox (item, ref, change_id, queued_at) "
        f"SELECT 'user', user_id, lower(hex(randomblob(16))), {now} FROM users ORDER BY created_at"
    )
    op.execute(
        f"INSERT INTO outbox (item, ref, queued_at) SELECT 'version', version_id, {now} FROM versions ORDER BY seq"
    )
    op.execute(
        f"INSERT INTO outbox (item, ref, queued_at) SELECT 'audit', CAST(seq AS TEXT), {now} FROM audit ORDER BY seq"
    )


def downgrade() -> None:
    op.drop_table("sync_rejects")
    op.drop_index("ix_outbox_waiting", "outbox")
    op.drop_table("outbox")

"""Autosaved plan and formulation drafts: one encrypted working copy per user, patient and kind.

Not clinical history: a draft being typed, kept so a crash or power cut loses seconds at most. It is
replaced on every autosave and cleared when the draft is saved as a version (which is append-only).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "autosaves",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("patient_id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("record_id", sa.String(36)),
        sa.Column("base_version_id", sa.String(36)),
        sa.Column("saved_at", sa.DateTime, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("autosaves")

"""An autosaved draft remembers the merge it belongs to.

A merge draft restored after a crash or a lock used to come back as a plain draft: saving it added a
version under one head and the conflict stayed. The versions it merges are kept beside the draft
(ids only, no patient detail) and bound into its seal.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("autosaves") as batch:
        batch.add_column(sa.Column("merge_of", sa.Text))  # version ids, space-separated; NULL: not a merge


def downgrade() -> None:
    with op.batch_alter_table("autosaves") as batch:
        batch.drop_column("merge_of")

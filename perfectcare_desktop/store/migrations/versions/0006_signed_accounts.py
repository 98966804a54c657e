"""Accounts signed by the organisation's admin key (issue 16 part 5).

Each account row carries the revision of its grant (who the user is, their role, whether they may sign
in) and an Ed25519 signature over it by the admin key; a PC trusts a role or an account's state only
through that signature. The admin key's public half is kept in `meta` (`admin_public_key`), its private
half in `key_wraps` (purpose `admin`, one per admin, and `admin-recovery`). A store made before this
gets its admin key when an admin next signs in; until then accounts are read as before.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: a batch copy of `users` would drop a table that records and versions refer to.
    op.add_column("users", sa.Column("grant_rev", sa.Integer, nullable=False, server_default="0"))
    op.add_column("users", sa.Column("grant_sig", sa.LargeBinary))


def downgrade() -> None:
    # Without the signatures the pinned key would refuse every account: it goes with them.
    op.execute("DELETE FROM meta WHERE key = 'admin_public_key'")
    op.execute("DELETE FROM key_wraps WHERE purpose IN ('admin', 'admin-recovery')")
    op.drop_column("users", "grant_sig")
    op.drop_column("users", "grant_rev")

"""Teams (issue 16 part 1): a person's teams travel with their signed account change.

Revision ID: h004
Revises: h003
"""

from alembic import op

revision = "h004"
down_revision = "h003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE users ADD COLUMN teams text")


def downgrade() -> None:
    op.execute("ALTER TABLE users DROP COLUMN teams")

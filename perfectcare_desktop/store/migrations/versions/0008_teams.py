"""Teams (issue 16 part 1): which teams each person belongs to, signed with their grant.

A team is a principal in `users` (role `team`: it never signs in; its display name is the team's name,
its user name `team:<id>`), signed by the admin key like a person's account. `users.teams` holds the
sorted ids of a person's teams as JSON; it is part of what their grant signs. A patient's responsible
team and the teams sharing their care are inside the patient's sealed details. A store from before
gets one team holding everyone at its first admin sign-in, so nothing is lost from anyone's caseload.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("teams", sa.Text))


def downgrade() -> None:
    op.execute("DELETE FROM users WHERE role = 'team'")
    op.drop_column("users", "teams")

"""What the hub sent that failed its checks can be tried again.

A refused row used to stay refused for ever: after a DBA repaired it on the hub, and for every later
version of its record (their parent was "not accepted"). A reject now says what would change the
answer: the hub row itself (`retry = 'changed'`, with the digest the hub gave it when refused), or
something it needs arriving first (`retry = 'dependency'`: its parents or its author). And whose
record it is (a random id, no patient detail), so the message can name the person to a user who may
see them.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_rejects") as batch:
        batch.add_column(sa.Column("patient_id", sa.String(36)))
        batch.add_column(sa.Column("retry", sa.String(16), nullable=False, server_default="changed"))
        batch.add_column(sa.Column("digest", sa.Text))  # the hub's md5 of the row when refused


def downgrade() -> None:
    with op.batch_alter_table("sync_rejects") as batch:
        batch.drop_column("digest")
        batch.drop_column("retry")
        batch.drop_column("patient_id")

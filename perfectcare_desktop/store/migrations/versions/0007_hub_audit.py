"""Other PCs' audit entries, pulled from the hub by admin PCs for the access report (issue 16 part 8).

- `hub_audit`: entries as the hub holds them (by PC, stream and number; details still sealed), each
  one's chain MAC checked under the audit key before it is kept. Apart from this PC's own chain
  (`audit`), and append-only like it.
- `hub_audit_cursors`: per PC and stream, the last entry pull has passed and its MAC, which the next
  entry's MAC must chain from.
- `hub_devices`: the hub's labels of enrolled PCs ("Ward 5 PC 2"), so the report names the PC.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_KEY = ("device_id", "stream", "seq")


def upgrade() -> None:
    op.create_table(
        "hub_audit",
        sa.Column("device_id", sa.String(36), primary_key=True),
        sa.Column("stream", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("user_id", sa.String(36)),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("patient_id", sa.String(36)),
        sa.Column("target_id", sa.String(36)),
        sa.Column("detail", sa.LargeBinary),
        sa.Column("mac", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_hub_audit_patient", "hub_audit", ["patient_id", "at"])
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER hub_audit_no_{event.lower()} BEFORE {event} ON hub_audit "
            "BEGIN SELECT RAISE(ABORT, 'hub_audit is append-only'); END"
        )
    clash = " AND ".join(f"{c} = NEW.{c}" for c in _KEY)
    op.execute(
        "CREATE TRIGGER hub_audit_no_replace BEFORE INSERT ON hub_audit "
        f"WHEN EXISTS (SELECT 1 FROM hub_audit WHERE {clash}) "
        "BEGIN SELECT RAISE(ABORT, 'hub_audit is append-only: that key exists'); END"
    )
    op.create_table(
        "hub_audit_cursors",
        sa.Column("device_id", sa.String(36), primary_key=True),
        sa.Column("stream", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("mac", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "hub_devices",
        sa.Column("device_id", sa.String(36), primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for event in ("update", "delete", "replace"):
        op.execute(f"DROP TRIGGER hub_audit_no_{event}")
    op.drop_table("hub_devices")
    op.drop_table("hub_audit_cursors")
    op.drop_index("ix_hub_audit_patient", "hub_audit")
    op.drop_table("hub_audit")

"""Key epochs (issue 16 part 3): revocation that takes data away.

- `epoch_keys`: a data key made when someone loses access (disabled, password reset), with a commitment
  to its secret and the admin key's signature over both; what is written afterwards is sealed under it.
- `epoch_seals`: that secret sealed to each person still allowed (their X25519 public key), to the
  admins' escrow key (which the recovery key reaches), and under newer epochs (so history stays readable).
- `users.public_key` (signed with the grant) and `users.pending_key` (made at a person's sign-in,
  waiting for an admin's signature); `key_wraps` purpose "keypair" holds their private key under their
  password, as the data key's wrap does (same salt).

Both tables are append-only: an epoch and its seals are history, like versions.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_KEYS = {"epoch_keys": ("key_id",), "epoch_seals": ("key_id", "recipient")}


def upgrade() -> None:
    op.add_column("users", sa.Column("public_key", sa.Text))
    op.add_column("users", sa.Column("pending_key", sa.Text))
    op.create_table(
        "epoch_keys",
        sa.Column("key_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("commitment", sa.LargeBinary, nullable=False),
        sa.Column("sig", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "epoch_seals",
        sa.Column("key_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("recipient", sa.String(160), primary_key=True),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    for table, key in _KEYS.items():
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
        clash = " AND ".join(f"{c} = NEW.{c}" for c in key)
        op.execute(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {clash}) "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: that key exists'); END"
        )


def downgrade() -> None:
    for table in _KEYS:
        for event in ("update", "delete", "replace"):
            op.execute(f"DROP TRIGGER {table}_no_{event}")
        op.drop_table(table)
    op.execute("DELETE FROM key_wraps WHERE purpose = 'keypair'")
    op.drop_column("users", "pending_key")
    op.drop_column("users", "public_key")

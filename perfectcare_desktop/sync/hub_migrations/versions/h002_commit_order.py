"""Pull by commit order, a cheap digest for anti-entropy, and audit streams that restores cannot reuse.

- `xid` (xid8): the inserting transaction's id. A `bigserial` number is taken at INSERT but seen at
  COMMIT, so a PC reading `seq > cursor` while another PC's push was open moved past rows it could
  not see yet and never fetched them. Pull now reads `(xid, seq) > cursor` and only below
  `pg_snapshot_xmin(pg_current_snapshot())`: every transaction below that horizon has ended, so
  nothing can appear behind the cursor later. Rows from before this revision get xid 0 (all
  committed long ago), so a PC's old `seq` cursor c carries on as (0, c) and nothing is lost.
- `id_hash`, `bucket`: a 64-bit hash of the version id (the first 8 bytes of its MD5) and its top
  byte, computed by the hub itself. Anti-entropy compares per-bucket counts and XORs of these with
  the PC's own, and lists ids only in the buckets that differ.
- `audit.stream`: a PC restored from a backup numbers its audit entries again from the backup's
  last one; under a new stream those entries are new rows, not conflicts silently dropped.

Revision ID: h002
Revises: h001
"""

from alembic import op

revision = "h002"
down_revision = "h001"
branch_labels = None
depends_on = None

_ID_HASH = "(('x' || substr(md5(version_id::text), 1, 16))::bit(64)::bigint)"


def upgrade() -> None:
    for table in ("versions", "users"):
        # Two steps: existing rows take 0, rows inserted from now on their transaction's id.
        op.execute(f"ALTER TABLE {table} ADD COLUMN xid xid8 NOT NULL DEFAULT '0'")
        op.execute(f"ALTER TABLE {table} ALTER COLUMN xid SET DEFAULT pg_current_xact_id()")
        op.execute(f"CREATE INDEX ix_{table}_xid_seq ON {table} (xid, seq)")
    op.execute(f"ALTER TABLE versions ADD COLUMN id_hash bigint GENERATED ALWAYS AS ({_ID_HASH}) STORED")
    op.execute(
        f"ALTER TABLE versions ADD COLUMN bucket smallint GENERATED ALWAYS AS ((({_ID_HASH}) >> 56) & 255) STORED"
    )
    # Covering: the per-bucket figures of every round come from an index-only scan, not the table.
    op.execute("CREATE INDEX ix_versions_bucket ON versions (bucket, id_hash)")
    op.execute("ALTER TABLE audit ADD COLUMN stream text NOT NULL DEFAULT ''")
    op.execute("ALTER TABLE audit DROP CONSTRAINT audit_pkey")
    op.execute("ALTER TABLE audit ADD PRIMARY KEY (device_id, stream, seq)")


def downgrade() -> None:
    op.execute("ALTER TABLE audit DROP CONSTRAINT audit_pkey")
    op.execute("DELETE FROM audit WHERE stream <> ''")
    op.execute("ALTER TABLE audit ADD PRIMARY KEY (device_id, seq)")
    op.execute("ALTER TABLE audit DROP COLUMN stream")
    op.execute("ALTER TABLE versions DROP COLUMN bucket")
    op.execute("ALTER TABLE versions DROP COLUMN id_hash")
    for table in ("versions", "users"):
        op.execute(f"DROP INDEX ix_{table}_xid_seq")
        op.execute(f"ALTER TABLE {table} DROP COLUMN xid")

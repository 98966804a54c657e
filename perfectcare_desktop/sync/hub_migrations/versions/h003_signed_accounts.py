"""Account changes carry the admin key's signature (issue 16 part 5).

`grant_rev` and `grant_sig`: the revision of the account's grant (name, role, enabled) and the admin
key's Ed25519 signature over it; every PC checks it before taking the change, and refuses a revision
older than the one it holds. `admin_wrapped`: an admin's copy of the admin signing key, wrapped under
their password as their data key wrap is (same salt), so they can sign on any PC. The admin key's
public half is in `hub_meta` (`admin_public_key`), written by `hub init` from an admin's PC.

Revision ID: h003
Revises: h002
"""

from alembic import op

revision = "h003"
down_revision = "h002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE users ADD COLUMN grant_rev integer NOT NULL DEFAULT 0")
    op.execute("ALTER TABLE users ADD COLUMN grant_sig bytea")
    op.execute("ALTER TABLE users ADD COLUMN admin_wrapped bytea")


def downgrade() -> None:
    op.execute("DELETE FROM hub_meta WHERE key = 'admin_public_key'")
    for column in ("admin_wrapped", "grant_sig", "grant_rev"):
        op.execute(f"ALTER TABLE users DROP COLUMN {column}")

"""What only the hub's owner can do: create or upgrade the hub schema, give the device roles their
insert-and-read rights, make a role for each enrolled PC, revoke one. Run with the owner's address,
which no PC keeps (a PC's own role can only insert and read)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotAllowed
from . import hub_address

_MIGRATIONS = Path(__file__).with_name("hub_migrations")

# What a device may insert: never seq, pushed_by or received_at, which the hub sets itself.
_INSERTABLE = {
    "versions": "version_id, record_id, record_kind, patient_id, record_created_at, record_created_by, record_mac, "
    "kind, author_id, created_at, signed, status, review_due, followup_due, parents, payload",
    "users": "change_id, user_id, username, display_name, role, active, created_at, disabled_at, "
    "wrap_key_id, wrap_kdf, wrap_salt, wrapped, mac",
    "audit": "device_id, stream, seq, at, user_id, action, patient_id, target_id, detail, mac",
    "device_claims": "device_id",
}


@dataclass(frozen=True)
class HubFacts:
    store_id: str
    organisation: str
    group_role: str


@dataclass(frozen=True)
class DeviceRole:
    device_id: str
    role: str
    password: str


def _sql():  # noqa: ANN202 - psycopg.sql, imported lazily
    from psycopg import sql

    return sql


def upgrade_schema(params: dict[str, Any]) -> None:
    """Bring the hub's tables to the newest revision (Alembic, in one transaction)."""
    import psycopg
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    secured = hub_address.secured(params)
    engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(**secured))
    try:
        with engine.begin() as conn:
            cfg = Config()
            cfg.set_main_option("script_location", str(_MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()


def read_facts(conn: Any) -> HubFacts | None:
    """The store this hub serves, or None for an empty database."""
    exists = conn.execute("SELECT to_regclass('hub_meta') IS NOT NULL").fetchone()[0]
    if not exists:
        return None
    meta = dict(conn.execute("SELECT key, value FROM hub_meta").fetchall())
    if "store_id" not in meta:
        return None
    return HubFacts(meta["store_id"], meta.get("organisation", ""), meta["device_group"])


def init_hub(params: dict[str, Any], store_id: str, organisation: str) -> HubFacts:
    """Create or upgrade the hub for this store; refuse a hub that belongs to another store."""
    with hub_address.connect(params) as conn:
        facts = read_facts(conn)
    if facts is not None and facts.store_id != store_id:
        raise NotAllowed(
            f"The hub at {hub_address.describe(params)} already holds the records of another store "
            f"({facts.organisation}). Join this PC to it with an enrolment file from one of its PCs; "
            "nothing was changed."
        )
    upgrade_schema(params)
    _sql()
    with hub_address.connect(params) as conn:
        facts = read_facts(conn)
        if facts is None:
            group = f"pc_{uuid.uuid4().hex[:10]}_devices"
            conn.execute(
                "INSERT INTO hub_meta (key, value) VALUES ('store_id', %s), ('organisation', %s), "
                "('device_group', %s), ('created_at', now()::text)",
                (store_id, organisation, group),
            )
            facts = HubFacts(store_id, organisation, group)
        _grant(conn, facts.group_role)
        conn.commit()
    return facts


def _grant(conn: Any, group: str) -> None:
    """The device group's rights: read and insert, never update or delete (rerun on each upgrade)."""
    sql = _sql()
    g = sql.Identifier(group)
    if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (group,)).fetchone():
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(g))
    db = sql.Identifier(conn.info.dbname)
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
    conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, g))
    conn.execute(sql.SQL("GRANT SELECT ON hub_meta, versions, users, device_claims TO {}").format(g))
    for table, columns in _INSERTABLE.items():
        conn.execute(sql.SQL(f"GRANT INSERT ({columns}) ON {table} TO {{}}").format(g))  # noqa: S608 - fixed names
    # ON CONFLICT on the key, and anti-entropy's count of a PC's own entries, read the key's columns;
    # the trail itself stays unreadable.
    conn.execute(sql.SQL("GRANT SELECT (device_id, stream, seq) ON audit TO {}").format(g))
    conn.execute(sql.SQL("GRANT USAGE ON SEQUENCE versions_seq_seq, users_seq_seq TO {}").format(g))


def create_device(params: dict[str, Any], facts: HubFacts, label: str, enrolled_by: str) -> DeviceRole:
    """A new login role for one PC, a member of the device group, with a random password."""
    sql = _sql()
    device_id = str(uuid.uuid4())
    role = f"{facts.group_role.removesuffix('_devices')}_dev_{device_id.replace('-', '')[:12]}"
    password = secrets.token_urlsafe(32)
    with hub_address.connect(params) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(role), sql.Literal(password), sql.Identifier(facts.group_role)
            )
        )
        conn.execute(
            "INSERT INTO devices (device_id, role_name, label, enrolled_by) VALUES (%s, %s, %s, %s)",
            (device_id, role, label, enrolled_by),
        )
        conn.commit()
    return DeviceRole(device_id, role, password)


def revoke_device(params: dict[str, Any], device_id: str) -> str:
    """Stop a PC syncing (lost laptop, retired PC): its role can no longer log in or read."""
    sql = _sql()
    with hub_address.connect(params) as conn:
        facts = read_facts(conn)
        row = conn.execute("SELECT role_name FROM devices WHERE device_id::text = %s", (device_id,)).fetchone()
        if facts is None or row is None:
            raise InvalidInput(f"The hub has no enrolled PC with id {device_id}.")
        role = sql.Identifier(row[0])
        conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(facts.group_role), role))
        conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(role))
        conn.execute("UPDATE devices SET revoked_at = now() WHERE device_id::text = %s", (device_id,))
        conn.commit()
    return row[0]


def list_devices(params: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    """(device id, label, enrolled at, revoked at) of every PC enrolled with the hub."""
    with hub_address.connect(params) as conn:
        rows = conn.execute(
            "SELECT d.device_id::text, d.label, d.enrolled_at::text, d.revoked_at::text, c.claimed_at IS NOT NULL "
            "FROM devices d LEFT JOIN device_claims c ON c.device_id = d.device_id ORDER BY d.enrolled_at"
        ).fetchall()
    return [(r[0], r[1] + ("" if r[4] else " (file not yet used)"), r[2], r[3]) for r in rows]


def claim(conn: Any, device_id: str) -> None:
    """As the new device: use up its enrolment (a second use of the same file is refused)."""
    import psycopg

    try:
        conn.execute("INSERT INTO device_claims (device_id) VALUES (%s)", (device_id,))
    except psycopg.errors.UniqueViolation:
        conn.rollback()
        raise NotAllowed(
            "This enrolment file has already been used to join a PC. Ask an administrator for a new one."
        ) from None

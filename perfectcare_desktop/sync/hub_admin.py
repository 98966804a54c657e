"""What only the hub's owner can do: create or upgrade the hub schema, give the device roles their
insert-and-read rights, make a role for each enrolled PC, revoke one. Run with the owner's address,
which no PC keeps (a PC's own role can only insert and read)."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import HubUnreachable, InvalidInput, NotAllowed
from . import hub_address

_MIGRATIONS = Path(__file__).with_name("hub_migrations")

# Server-side limits on every device role, set as the role's own settings so they hold however the PC
# connects (directly or through PgBouncer, which passes no per-session options): a PC never waits
# minutes behind a DBA's lock on `versions`, nor holds a hub transaction open if it stalls. A push
# batch of 500 versions takes well under a second; 60 s leaves room for a slow disk or a busy hub.
DEVICE_LOCK_TIMEOUT = "10s"
DEVICE_STATEMENT_TIMEOUT = "60s"
DEVICE_IDLE_IN_TRANSACTION_TIMEOUT = "120s"
DEVICE_SETTINGS = {
    "lock_timeout": DEVICE_LOCK_TIMEOUT,
    "statement_timeout": DEVICE_STATEMENT_TIMEOUT,
    "idle_in_transaction_session_timeout": DEVICE_IDLE_IN_TRANSACTION_TIMEOUT,
}

# What a device may insert: never seq, pushed_by or received_at, which the hub sets itself.
_INSERTABLE = {
    "versions": "version_id, record_id, record_kind, patient_id, record_created_at, record_created_by, record_mac, "
    "kind, author_id, created_at, signed, status, review_due, followup_due, parents, payload",
    "users": "change_id, user_id, username, display_name, role, active, created_at, disabled_at, "
    "wrap_key_id, wrap_kdf, wrap_salt, wrapped, grant_rev, grant_sig, admin_wrapped, teams, mac",
    "audit": "device_id, stream, seq, at, user_id, action, patient_id, target_id, detail, mac",
    "device_claims": "device_id",
}


@dataclass(frozen=True)
class HubFacts:
    store_id: str
    organisation: str
    group_role: str
    admin_public_key: str | None = None  # the admin signing key every PC checks account changes with


@dataclass(frozen=True)
class DeviceRole:
    device_id: str
    role: str
    password: str


def _sql() -> ModuleType:  # psycopg.sql, imported lazily
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


def _not_a_hub(params: dict[str, Any]) -> InvalidInput:
    return InvalidInput(
        f"The database at {hub_address.describe(params)} is not a PerfectCare hub: check the address, or create "
        "the hub with 'perfectcare-admin hub init' on the first PC."
    )


def _cannot_create_roles(params: dict[str, Any], role: str) -> NotAllowed:
    return NotAllowed(
        f"The hub owner {role} may not create roles, which the hub needs (one per PC): the DBA must give it "
        f"CREATEROLE (ALTER ROLE {role} CREATEROLE); nothing was changed."
    )


@contextlib.contextmanager
def owner_errors(params: dict[str, Any]) -> Iterator[None]:
    """The owner's commands say in a sentence what the server refused, never the driver's text
    (which can quote the address) nor a traceback."""
    import psycopg
    from sqlalchemy.exc import DBAPIError

    try:
        yield
    except (psycopg.Error, DBAPIError) as exc:
        driver = exc.orig if isinstance(exc, DBAPIError) else exc  # the migrations run through SQLAlchemy
        if isinstance(driver, psycopg.errors.InsufficientPrivilege):
            raise NotAllowed(
                f"The role in the address lacks rights the hub's owner needs at {hub_address.describe(params)}: "
                "it must own the database and the hub's tables and have CREATEROLE; nothing was changed."
            ) from None
        if isinstance(driver, psycopg.errors.UndefinedTable | psycopg.errors.UndefinedColumn):
            raise _not_a_hub(params) from None
        if isinstance(driver, psycopg.OperationalError):
            raise HubUnreachable(
                f"The connection to the hub at {hub_address.describe(params)} was lost; nothing further was changed."
            ) from None
        raise


def _may_create_roles(conn: Any) -> bool:
    row = conn.execute("SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    return bool(row[0])


def _other_tables(conn: Any) -> bool:
    """Whether the database holds tables of some other application (a wrong address)."""
    return (
        conn.execute(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
            "AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' LIMIT 1"
        ).fetchone()
        is not None
    )


def read_facts(conn: Any) -> HubFacts | None:
    """The store this hub serves, or None for an empty database."""
    exists = conn.execute("SELECT to_regclass('hub_meta') IS NOT NULL").fetchone()[0]
    if not exists:
        return None
    meta = dict(conn.execute("SELECT key, value FROM hub_meta").fetchall())
    if "store_id" not in meta:
        return None
    return HubFacts(meta["store_id"], meta.get("organisation", ""), meta["device_group"], meta.get(ADMIN_KEY_META))


ADMIN_KEY_META = "admin_public_key"


def init_hub(params: dict[str, Any], store_id: str, organisation: str, admin_public_key: str | None = None) -> HubFacts:
    """Create or upgrade the hub for this store; refuse a hub that belongs to another store, a
    database that holds another application's tables, and an owner that cannot make device roles,
    before changing anything."""
    with hub_address.connect(params) as conn, owner_errors(params):
        found = conn.execute("SELECT to_regclass('hub_meta') IS NOT NULL").fetchone()
        assert found is not None  # a SELECT without FROM returns one row
        hub_meta = found[0]
        if not hub_meta and _other_tables(conn):
            raise InvalidInput(
                f"The database at {hub_address.describe(params)} is not a PerfectCare hub (it holds other tables): "
                "give the address of an empty database made for the hub; nothing was changed."
            )
        facts = read_facts(conn)
        if not _may_create_roles(conn):
            raise _cannot_create_roles(params, conn.info.user)
    if facts is not None and facts.store_id != store_id:
        raise NotAllowed(
            f"The hub at {hub_address.describe(params)} already holds the records of another store "
            f"({facts.organisation}). Join this PC to it with an enrolment file from one of its PCs; "
            "nothing was changed."
        )
    if facts is not None and facts.admin_public_key and admin_public_key and facts.admin_public_key != admin_public_key:
        raise NotAllowed(
            f"The hub at {hub_address.describe(params)} trusts another admin key than this PC's store, so the PCs "
            "would refuse each other's account changes. Ask your PerfectCare support; nothing was changed."
        )
    with owner_errors(params):
        upgrade_schema(params)
    with hub_address.connect(params) as conn, owner_errors(params):
        facts = read_facts(conn)
        if facts is None:
            group = f"pc_{uuid.uuid4().hex[:10]}_devices"
            conn.execute(
                "INSERT INTO hub_meta (key, value) VALUES ('store_id', %s), ('organisation', %s), "
                "('device_group', %s), ('created_at', now()::text)",
                (store_id, organisation, group),
            )
            facts = HubFacts(store_id, organisation, group)
        if admin_public_key and not facts.admin_public_key:  # pinned once; every PC takes it from here
            conn.execute("INSERT INTO hub_meta (key, value) VALUES (%s, %s)", (ADMIN_KEY_META, admin_public_key))
            facts = HubFacts(facts.store_id, facts.organisation, facts.group_role, admin_public_key)
        _grant(conn, facts.group_role)
        # Device roles made before these limits existed get them on upgrade (a role a DBA dropped is skipped).
        for (role,) in conn.execute(
            "SELECT d.role_name FROM devices d JOIN pg_roles r ON r.rolname = d.role_name"
        ).fetchall():
            _limit(conn, role)
        conn.commit()
    return facts


def _limit(conn: Any, role: str) -> None:
    """The device role's server-side timeouts (see DEVICE_SETTINGS); they apply from its next login."""
    sql = _sql()
    for name, value in DEVICE_SETTINGS.items():
        conn.execute(
            sql.SQL("ALTER ROLE {} SET {} = {}").format(sql.Identifier(role), sql.Identifier(name), sql.Literal(value))
        )


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
    # The audit trail (details sealed) and the PCs' labels: admins' PCs pull them for the access report
    # (docs/sync.md). A PC holds the data key that opens everything the hub holds anyway.
    conn.execute(sql.SQL("GRANT SELECT (device_id, stream, seq, at, user_id, action, patient_id, target_id, detail, "
                         "mac) ON audit TO {}").format(g))  # fmt: skip
    conn.execute(sql.SQL("GRANT SELECT (device_id, label) ON devices TO {}").format(g))
    conn.execute(sql.SQL("GRANT USAGE ON SEQUENCE versions_seq_seq, users_seq_seq TO {}").format(g))


def create_device(params: dict[str, Any], facts: HubFacts, label: str, enrolled_by: str) -> DeviceRole:
    """A new login role for one PC, a member of the device group, with a random password."""
    sql = _sql()
    device_id = str(uuid.uuid4())
    role = f"{facts.group_role.removesuffix('_devices')}_dev_{device_id.replace('-', '')[:12]}"
    password = secrets.token_urlsafe(32)
    with hub_address.connect(params) as conn, owner_errors(params):
        if not _may_create_roles(conn):
            raise _cannot_create_roles(params, conn.info.user)
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(role), sql.Literal(password), sql.Identifier(facts.group_role)
            )
        )
        _limit(conn, role)
        conn.execute(
            "INSERT INTO devices (device_id, role_name, label, enrolled_by) VALUES (%s, %s, %s, %s)",
            (device_id, role, label, enrolled_by),
        )
        conn.commit()
    return DeviceRole(device_id, role, password)


def revoke_device(params: dict[str, Any], device_id: str) -> str:
    """Stop a PC syncing (lost laptop, retired PC): its role can no longer log in or read."""
    sql = _sql()
    with hub_address.connect(params) as conn, owner_errors(params):
        facts = read_facts(conn)
        if facts is None:
            raise _not_a_hub(params)
        row = conn.execute("SELECT role_name FROM devices WHERE device_id::text = %s", (device_id,)).fetchone()
        if row is None:
            raise InvalidInput(f"The hub has no enrolled PC with id {device_id}.")
        role = sql.Identifier(row[0])
        conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(facts.group_role), role))
        conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(role))
        conn.execute("UPDATE devices SET revoked_at = now() WHERE device_id::text = %s", (device_id,))
        conn.commit()
    role_name: str = row[0]  # devices.role_name is text
    return role_name


def list_devices(params: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    """(device id, label, enrolled at, revoked at) of every PC enrolled with the hub."""
    with hub_address.connect(params) as conn, owner_errors(params):
        if read_facts(conn) is None:
            raise _not_a_hub(params)
        rows = conn.execute(
            "SELECT d.device_id::text, d.label, d.enrolled_at::text, d.revoked_at::text, c.claimed_at IS NOT NULL "
            "FROM devices d LEFT JOIN device_claims c ON c.device_id = d.device_id ORDER BY d.enrolled_at"
        ).fetchall()
    return [(r[0], r[1] + ("" if r[4] else " (file not yet used)"), r[2], r[3]) for r in rows]


def claim(conn: Any, device_id: str) -> None:
    """As the new device: use up its enrolment file (a second use of the same file is refused).

    Enrolment claims first, before any store exists on the new PC, so a file is used up the moment
    it is tried against the hub: an import killed part-way leaves no store and no reusable file,
    never two PCs with one device id. The caller commits."""
    import psycopg

    try:
        conn.execute("INSERT INTO device_claims (device_id) VALUES (%s)", (device_id,))
    except psycopg.errors.UniqueViolation:
        conn.rollback()
        raise NotAllowed(
            f"This enrolment file (device {device_id}) has already been used, or its import was interrupted; "
            "a file works once. Ask an administrator for a new one (and to revoke that device if no PC uses it)."
        ) from None

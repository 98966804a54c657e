"""Single-file encrypted backups and their restore.

File layout: MAGIC | format (1 byte) | header length (4 bytes) | header JSON | sealed body.
The header carries the store id and the key wraps (already encrypted), so a backup can be restored
onto an empty PC with any user's password or the recovery key. The body is a consistent SQLite
snapshot (online backup API), compressed, then sealed with AES-256-GCM under a key derived from the
data key, with the header as associated data: any flipped byte anywhere is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sqlite3
import struct
import urllib.parse
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import Connection, func, select

from ... import __version__
from ...crypto import aead, vault
from ...crypto.kdf import KdfParamsRejected
from ...crypto.signing import AdminPublicKey
from ...errors import BackupRejected, InvalidInput, StoreDamaged, StoreNotWritable
from ...store import database
from ...store.models import AuditEntry, KeyWrap, User
from ..access import grants
from ..access.session import Session
from ..clock import Clock, SystemClock
from . import audit
from .files import atomic_write, check_target
from .verify import database_damage

MAGIC = b"PCBACKUP"
FORMAT = 1
_LEN = struct.Struct(">BI")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RestorePlan:
    """What a restore will roll back, said before anything changes."""

    taken_at: str  # when the backup was made (UTC, ISO)
    organisation: str
    replaces_store: bool  # False: an empty folder (or a damaged store, kept for investigation)
    newer_versions: int  # versions the store being replaced holds and the backup does not: set aside with it

    def in_words(self) -> str:
        if not self.replaces_store:
            return f"This restores the store of {self.organisation} as it was in the backup taken {self.taken_at}."
        return (
            f"This rolls the store of {self.organisation} back to the backup taken {self.taken_at}: "
            f"{self.newer_versions:,} version(s) held here (saved or received since) are not in it. Nothing is "
            "deleted: the current store "
            f"is kept, whole, in {database.BACKUP_DIR}/ (before-restore-*)."
        )


@dataclass(frozen=True)
class BackupInfo:
    store_id: str
    organisation: str
    created_at: str
    schema: str
    size_bytes: int


def create_backup(
    session: Session, destination: Path, progress: Progress | None = None, *, overwrite: bool = False
) -> BackupInfo:
    """Write an encrypted, consistent backup of the whole store to `destination` (atomically).

    An existing file is replaced only with overwrite; a damaged store is refused (a backup of it
    would carry the damage forward and look like a good one)."""
    session.require_admin()
    dek = session.require_unlocked()
    store = session.store
    destination = Path(destination)
    if destination.is_dir():
        raise InvalidInput(f"{destination} is a folder; give the backup a file name.")
    if not destination.parent.is_dir():
        raise StoreNotWritable(f"The folder {destination.parent} does not exist.")
    check_target(destination, overwrite=overwrite)
    path = database.db_path(store.data_dir)
    damage = database_damage(path)
    if damage:
        raise StoreDamaged(
            f"The store {path} is damaged, so no backup was taken (it would copy the damage): "
            + "; ".join(damage[:5])
            + ". Keep your last good backup; run 'perfectcare-admin verify' for the whole report."
        )
    # The audit entry goes in first, so the backup itself records that it was taken.
    session.record_event("backup", detail=destination.name)
    image = _snapshot(path, progress)
    with store.reading() as conn:
        wraps = [
            {
                "purpose": w.purpose,
                "username": (conn.execute(select(User.username).where(User.user_id == w.user_id)).scalar() or ""),
                "user_id": w.user_id,
                "key_id": w.key_id,
                "kdf": w.kdf,
                "salt": base64.b64encode(w.salt).decode(),
                "wrapped": base64.b64encode(w.wrapped).decode(),
            }
            for w in conn.execute(select(KeyWrap.__table__))
        ]
        schema = database.schema_revision(store.engine) or ""
    store_id, org, created_at = store.store_id, store.organisation, store.clock.now().isoformat()
    header = {
        "store_id": store_id,
        "organisation": org,
        "created_at": created_at,
        "program_version": __version__,
        "schema": schema,
        "key_id": dek.key_id,
        "wraps": wraps,
    }
    header_bytes = json.dumps(header, sort_keys=True).encode()
    body = aead.seal(dek.backup_key, dek.key_id, zlib.compress(image, 6), header_bytes)
    blob = MAGIC + _LEN.pack(FORMAT, len(header_bytes)) + header_bytes + body
    atomic_write(destination, blob, overwrite=overwrite)
    return BackupInfo(store_id, org, created_at, schema, len(blob))


def _snapshot(path: Path, progress: Progress | None) -> bytes:
    src = sqlite3.connect(str(path))
    mem = sqlite3.connect(":memory:")
    try:

        def step(_status: int, remaining: int, total: int) -> None:
            if progress:
                progress(total - remaining, total)

        src.backup(mem, pages=256, progress=step)
        return mem.serialize()
    finally:
        mem.close()
        src.close()


def read_header(source: Path) -> tuple[dict, bytes, bytes]:
    """(header, header bytes, sealed body); refuses anything that is not one of our backups."""
    try:
        blob = Path(source).read_bytes()
    except FileNotFoundError as exc:
        raise BackupRejected(f"There is no file {source}.") from exc
    except OSError as exc:
        raise BackupRejected(f"Cannot read {source}: {exc.strerror or exc}.") from exc
    if not blob.startswith(MAGIC):
        raise BackupRejected(f"{source} is not a PerfectCare backup file.")
    try:
        fmt, length = _LEN.unpack_from(blob, len(MAGIC))
        start = len(MAGIC) + _LEN.size
        header_bytes = blob[start : start + length]
        header = json.loads(header_bytes)
        body = blob[start + length :]
    except (struct.error, ValueError, RecursionError) as exc:  # RecursionError: a header nested thousands deep
        raise BackupRejected(f"The backup {source} is damaged (its header cannot be read).") from exc
    if fmt != FORMAT:
        raise BackupRejected(f"The backup {source} was made by a newer PerfectCare (backup format {fmt}).")
    complete = isinstance(header, dict) and isinstance(header.get("store_id"), str)
    if not complete or not isinstance(header.get("wraps"), list):
        raise BackupRejected(f"The backup {source} is damaged (its header is incomplete).")
    return header, header_bytes, body


def _unwrap(header: dict, username: str | None, password: str | None, recovery_key: str | None) -> vault.DataKey:
    try:
        return _unwrap_checked(header, username, password, recovery_key)
    except KdfParamsRejected as exc:
        raise BackupRejected(
            f"The backup was not made by PerfectCare or is damaged: {exc}. Nothing was changed."
        ) from exc
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise BackupRejected("The backup is damaged: its key section cannot be read. Nothing was changed.") from exc


def _unwrap_checked(
    header: dict, username: str | None, password: str | None, recovery_key: str | None
) -> vault.DataKey:
    for w in header["wraps"]:
        wrap = vault.WrappedKey(w["key_id"], w["kdf"], base64.b64decode(w["salt"]), base64.b64decode(w["wrapped"]))
        try:
            if recovery_key and w["purpose"] == "recovery":
                return vault.unwrap_with_recovery(wrap, vault.parse_recovery_key(recovery_key))
            if password is not None and w["purpose"] == "user" and w["username"] == username:
                return vault.unwrap_with_password(wrap, password, w["user_id"])
        except vault.MalformedRecoveryKey as exc:
            raise InvalidInput(str(exc)) from exc
        except vault.WrongSecret:
            break
    if recovery_key:
        raise BackupRejected("That recovery key does not open this backup (it belongs to another store?).")
    raise BackupRejected("The user name or password does not open this backup.")


def restore_backup(
    source: Path,
    data_dir: Path,
    *,
    username: str | None = None,
    password: str | None = None,
    recovery_key: str | None = None,
    clock: Clock | None = None,
    progress: Progress | None = None,
    before: Callable[[RestorePlan], bool] | None = None,
) -> BackupInfo:
    """Restore a backup into `data_dir`: into an empty folder, or over the same store (kept aside
    first). A damaged file, a wrong key or a different organisation's store changes nothing.

    Only an active administrator restores (or the holder of the recovery key, who can reset any
    password anyway): their account is checked in the backup AND in the store being replaced, so an
    old backup from when someone was an admin, or not yet disabled, gives them nothing. `before` is
    told what will be rolled back once everything is checked; returning False changes nothing."""
    clock = clock or SystemClock()
    header, header_bytes, body = read_header(source)
    dek = _unwrap(header, username, password, recovery_key)
    try:
        image = zlib.decompress(aead.open_sealed(dek.backup_key, body, header_bytes))
    except (aead.DecryptionError, zlib.error) as exc:
        raise BackupRejected(
            f"The backup {source} is damaged: its contents do not authenticate. Nothing was changed."
        ) from exc
    if progress:
        progress(1, 3)
    data_dir = Path(data_dir)
    target = database.db_path(data_dir)
    existing_id = _existing_store_id(data_dir) if target.exists() else None
    if existing_id not in (None, _DAMAGED, header["store_id"]):
        raise BackupRejected(
            f"This backup is of another store ({header.get('organisation', '?')}, id {header['store_id']}); the data "
            f"folder {data_dir} holds store {existing_id}. Restore into an empty folder. Nothing was changed."
        )
    live = target if existing_id not in (None, _DAMAGED) else None
    if username is not None and not recovery_key:
        _check_restorer(header, username, image, live)
    plan = RestorePlan(header.get("created_at", "?"), header.get("organisation", ""), live is not None,
                       _newer_versions(image, live) if live else 0)  # fmt: skip
    if before is not None and not before(plan):
        raise BackupRejected("The restore was not confirmed. Nothing was changed.")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreNotWritable(f"Cannot create {data_dir}: {exc.strerror or exc}.") from exc
    staged = data_dir / f".restoring-{uuid.uuid4().hex}.sqlite3"
    try:
        atomic_write(staged, image, overwrite=False, private=False)  # the store keeps its usual mode
        _check_staged(staged, header)
        if progress:
            progress(2, 3)
        if existing_id == _DAMAGED:
            _set_aside_damaged(target, clock)
        elif target.exists():
            database.keep_copy(target, "before-restore")
        from .store import remove_store_files

        remove_store_files(data_dir)
        os.replace(staged, target)
    finally:
        for leftover in data_dir.glob(staged.name + "*"):
            leftover.unlink(missing_ok=True)
    engine = database.open_database(data_dir)
    try:
        with engine.begin() as conn:
            _continue_audit_on_hub(conn)
            audit.append(conn, dek, clock.now(), "restore", detail=f"from backup taken {header.get('created_at', '?')}")
    finally:
        engine.dispose()
    if progress:
        progress(3, 3)
    return BackupInfo(
        header["store_id"],
        header.get("organisation", ""),
        header.get("created_at", ""),
        header.get("schema", ""),
        len(image),
    )


_DAMAGED = "(damaged)"


def _check_restorer(header: dict, username: str, image: bytes, live: Path | None) -> None:
    """The account that opened the backup must be an active administrator in it and in the live store."""
    user_id = next(
        w["user_id"] for w in header["wraps"] if w.get("purpose") == "user" and w.get("username") == username
    )
    places = [("in the backup", _account(_in_memory(image), user_id))]
    if live is not None:
        places.append(("in the store it would replace", _account(_read_only(live), user_id)))
    keys = {account[2] for _, account in places if account is not None and account[2]}
    for where, account in places:
        if account is None:
            raise BackupRejected(f"{username} has no account {where}; only an active administrator may restore. "
                                 "Nothing was changed.")  # fmt: skip
        role, active, key, genuine = account
        if len(keys) > 1 or (keys and not genuine):  # a role or state edited in, or another store's admin key
            raise BackupRejected(f"{username}'s account {where} is not as an administrator signed it; only an "
                                 "active administrator may restore. Nothing was changed.")  # fmt: skip
        if not active:
            raise BackupRejected(f"{username}'s account is disabled {where}; only an active administrator may "
                                 "restore. Nothing was changed.")  # fmt: skip
        if role != "admin":
            raise BackupRejected(f"{username} is a {role} {where}; only an active administrator may restore a "
                                 "backup. Nothing was changed.")  # fmt: skip


def _account(conn: sqlite3.Connection, user_id: str) -> tuple[str, bool, str | None, bool] | None:
    """(role, active, the pinned admin key, whether that key signed the account as it is)."""
    wanted = ("user_id", "username", "display_name", "role", "active", "grant_rev", "grant_sig", "teams")
    try:
        have = {r[1] for r in conn.execute("PRAGMA table_info(users)")}
        columns = [c for c in wanted if c in have]  # a backup from before signed accounts or teams has fewer
        found = conn.execute(f"SELECT {', '.join(columns)} FROM users WHERE user_id = ?", (user_id,)).fetchone()  # noqa: S608 - names from `wanted`
        meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('store_id', ?)",
                                 (grants.PUBLIC_KEY_META,)).fetchall())  # fmt: skip
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()
    if found is None:
        return None
    row = SimpleNamespace(**dict(zip(columns, found, strict=True)))
    key = meta.get(grants.PUBLIC_KEY_META)
    genuine = key is None or AdminPublicKey.from_hex(key).verify(
        getattr(row, "grant_sig", None), *grants.fields(meta.get("store_id", ""), row)
    )
    return str(row.role), bool(row.active), key, genuine


def _newer_versions(image: bytes, live: Path) -> int:
    """Versions in the live store that the backup lacks (ids compared: arrival numbers differ by PC)."""
    backup, here = _in_memory(image), _read_only(live)
    try:
        had = {r[0] for r in backup.execute("SELECT version_id FROM versions")}
        return sum(1 for (vid,) in here.execute("SELECT version_id FROM versions") if vid not in had)
    except sqlite3.DatabaseError:
        return 0  # the integrity checks below refuse a broken backup; a broken live store is set aside whole
    finally:
        backup.close()
        here.close()


def _in_memory(image: bytes) -> sqlite3.Connection:
    """The backup's database, read in memory. Header bytes 18-19 say WAL, which an in-memory database
    cannot open: they are set to the rollback journal in this copy only (the file written is untouched)."""
    conn = sqlite3.connect(":memory:")
    conn.deserialize(image[:18] + b"\x01\x01" + image[20:] if image[18:20] == b"\x02\x02" else image)
    return conn


def _read_only(path: Path) -> sqlite3.Connection:
    # immutable=1 creates no -wal/-shm files; only when a WAL is already there must SQLite read it.
    has_wal = Path(str(path) + "-wal").exists()
    uri = "file:" + urllib.parse.quote(str(path)) + ("?mode=ro" if has_wal else "?mode=ro&immutable=1")
    return sqlite3.connect(uri, uri=True)


def _continue_audit_on_hub(conn: Connection) -> None:
    """A restored store numbers its audit entries again from the backup's last one, numbers this PC
    may already have sent to the hub since the backup was taken: the hub would keep those and drop
    the new entries as re-sends. On an enrolled PC, entries from here on go under a new stream."""
    from ...sync import device

    if device.is_enrolled(conn):
        top = conn.execute(select(func.coalesce(func.max(AuditEntry.seq), 0))).scalar_one()
        device.new_audit_stream(conn, top + 1, uuid.uuid4().hex)


def _set_aside_damaged(target: Path, clock: Clock) -> None:
    """Keep a damaged store's files (renamed, never deleted) for investigation."""
    folder = target.parent / database.BACKUP_DIR
    folder.mkdir(exist_ok=True)
    stamp = clock.now().strftime("%Y%m%dT%H%M%S.%fZ")
    for suffix in ("", "-wal", "-shm"):
        part = Path(str(target) + suffix)
        if part.exists():
            os.replace(part, folder / f"damaged-{stamp}.sqlite3{suffix}")


def _existing_store_id(data_dir: Path) -> str:
    """The store id of the store already in the folder, or _DAMAGED; reads without changing a byte."""
    try:
        conn = _read_only(database.db_path(data_dir))
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='store_id'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return _DAMAGED
    return row[0] if row else _DAMAGED


def _check_staged(path: Path, header: dict) -> None:
    conn = sqlite3.connect(str(path))
    try:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupRejected("The backup's database fails its integrity check. Nothing was changed.")
        row = conn.execute("SELECT value FROM meta WHERE key='store_id'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupRejected(f"The backup's database cannot be read ({exc}). Nothing was changed.") from exc
    finally:
        conn.close()
    if not row or row[0] != header["store_id"]:
        raise BackupRejected("The backup's contents do not match its header. Nothing was changed.")
    engine = database.make_engine(path)
    try:
        revision = database.schema_revision(engine)
    finally:
        engine.dispose()
    if revision is None:
        raise BackupRejected("The backup holds no PerfectCare store. Nothing was changed.")
    if not database.is_known_revision(revision):
        raise BackupRejected(
            f"The backup was made by a newer PerfectCare Desktop (schema {revision}); install that version to "
            "restore it. Nothing was changed."
        )

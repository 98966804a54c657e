"""The SQLite file: append-only triggers, damage and version checks on open, creation, pragmas."""

from __future__ import annotations

import gc
import hashlib
import os
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from testsupport import ADMIN, ADMIN_PASSWORD, ORG, FakeClock

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.errors import (
    InvalidInput,
    StoreAlreadyExists,
    StoreDamaged,
    StoreNotFound,
    StoreNotWritable,
    StoreTooNew,
)
from perfectcare_desktop.paths import db_path
from perfectcare_desktop.store import database

APPEND_ONLY = ("records", "versions", "version_parents", "blind_index", "audit")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _populate(session: Session) -> str:
    pid = session.patients.add(PatientDetails("Ann", "Jones", date(1980, 5, 17), "9434765919"))
    session.patients.update(pid, PatientDetails("Ann", "Jones-Price", date(1980, 5, 17), "9434765919"))
    return pid


@pytest.fixture
def closed_store(store: Store, session: Session, data_dir: Path) -> Path:
    """A real store with a patient (two versions), checkpointed and closed: only the main file is left."""
    _populate(session)
    database.checkpoint(store.engine)
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(str(db_path(data_dir)) + suffix).unlink(missing_ok=True)
    return data_dir


# --- append-only ------------------------------------------------------------------------------------
@pytest.mark.parametrize("table", APPEND_ONLY)
def test_append_only_tables_refuse_update_and_delete(table: str, session: Session, data_dir: Path) -> None:
    _populate(session)
    con = sqlite3.connect(db_path(data_dir))
    try:
        before = con.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
        assert before, f"{table} should hold rows for this test to mean anything"
        column = con.execute(f"PRAGMA table_info({table})").fetchall()[0][1]
        with pytest.raises(sqlite3.IntegrityError, match=f"{table} is append-only"):
            con.execute(f"UPDATE {table} SET {column} = {column}")
        with pytest.raises(sqlite3.IntegrityError, match=f"{table} is append-only"):
            con.execute(f"DELETE FROM {table}")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute(f"DELETE FROM {table} WHERE rowid = (SELECT max(rowid) FROM {table})")
        con.rollback()
        assert con.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall() == before
    finally:
        con.close()


def test_append_only_also_through_the_programs_own_connection(store: Store, session: Session) -> None:
    _populate(session)
    with pytest.raises(SAIntegrityError, match="versions is append-only"), store.writing() as conn:
        conn.execute(text("UPDATE versions SET status = 'draft'"))
    with store.reading() as conn:
        assert set(conn.execute(text("SELECT status FROM versions")).scalars()) == {"current"}


def test_mutable_tables_are_not_locked(session: Session, data_dir: Path) -> None:
    # users and key_wraps must stay changeable (passwords, lockout); the triggers are targeted.
    con = sqlite3.connect(db_path(data_dir))
    try:
        con.execute("UPDATE users SET failed_attempts = failed_attempts")
        con.rollback()
    finally:
        con.close()


def test_insert_or_replace_cannot_overwrite_a_version(store: Store, session: Session) -> None:
    _populate(session)
    with store.reading() as conn:
        row = conn.execute(text("SELECT * FROM versions ORDER BY seq LIMIT 1")).mappings().one()
    forged = dict(row, payload=b"overwritten")
    with pytest.raises(SAIntegrityError, match="append-only"), store.writing() as conn:
        conn.execute(
            text(
                "INSERT OR REPLACE INTO versions (seq, version_id, record_id, kind, author_id, created_at, signed, "
                "status, review_due, followup_due, payload) VALUES (:seq, :version_id, :record_id, :kind, "
                ":author_id, :created_at, :signed, :status, :review_due, :followup_due, :payload)"
            ),
            forged,
        )
    with store.reading() as conn:
        assert (
            conn.execute(text("SELECT payload FROM versions WHERE seq = :s"), {"s": row["seq"]}).scalar()
            == (row["payload"])
        )


# --- damaged, foreign and newer files ----------------------------------------------------------------
def _assert_damaged(data_dir: Path) -> StoreDamaged:
    path = db_path(data_dir)
    digest = _sha(path)
    with pytest.raises(StoreDamaged) as info:
        Store.open(data_dir)
    message = str(info.value)
    assert "damaged" in message
    assert "restore" in message.lower() and "perfectcare-admin restore" in message
    assert "Nothing has been changed" in message
    assert str(path) in message
    assert _sha(path) == digest
    return info.value


def test_garbage_file_is_damaged(data_dir: Path) -> None:
    data_dir.mkdir()
    db_path(data_dir).write_bytes(b"This is a Word document, not a database. " * 50)
    err = _assert_damaged(data_dir)
    assert "not a database file" in str(err)


def test_empty_file_is_damaged(data_dir: Path) -> None:
    data_dir.mkdir()
    db_path(data_dir).write_bytes(b"")
    err = _assert_damaged(data_dir)
    assert "empty, truncated or overwritten" in str(err)
    assert db_path(data_dir).stat().st_size == 0


def test_header_only_file_is_damaged(data_dir: Path) -> None:
    data_dir.mkdir()
    db_path(data_dir).write_bytes(b"SQLite format 3\x00" + b"\x00" * 20)
    _assert_damaged(data_dir)


def test_truncated_store_is_damaged(closed_store: Path) -> None:
    path = db_path(closed_store)
    data = path.read_bytes()
    assert len(data) >= 8 * 4096
    path.write_bytes(data[: len(data) // 2])
    assert _files(closed_store) == [path.name]
    _assert_damaged(closed_store)


def test_store_with_a_corrupted_page_is_damaged_and_left_unchanged(closed_store: Path) -> None:
    path = db_path(closed_store)
    original = path.read_bytes()
    page = int.from_bytes(original[16:18], "big")
    bad = bytearray(original)
    bad[page : 5 * page] = b"\x0d" * 4 * page  # pages 2-5: b-tree pages of the schema's first tables
    path.write_bytes(bytes(bad))
    _assert_damaged(closed_store)


def _open_handles(path: Path) -> list[str]:
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(path)):
            out.append(target)
    return out


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to list open files")
def test_a_refused_store_is_not_left_open(closed_store: Path) -> None:
    """Whatever page is damaged, a refusal closes the file at once, even while the caller still holds the
    error (as a dialog showing it would): on Windows an open handle would block restoring over it."""
    path = db_path(closed_store)
    original = path.read_bytes()
    page = int.from_bytes(original[16:18], "big")
    refused = 0
    for n in [*range(1, len(original) // page), -1]:
        bad = bytearray(original[: len(original) // 2] if n == -1 else original)
        if n != -1:
            bad[n * page : (n + 1) * page] = b"\x0d" * page
        path.write_bytes(bytes(bad))
        try:
            opened = Store.open(closed_store)
        except StoreDamaged as err:
            refused += 1
            assert "damaged" in str(err)
            gc.collect()
            assert _open_handles(path) == [], f"page {n}"
            assert _files(closed_store) == [path.name], f"page {n}"
        else:
            opened.close()  # a damaged data page may only be found by a full verify
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    assert refused >= 2


def test_sqlite_file_without_our_schema_is_refused(data_dir: Path) -> None:
    data_dir.mkdir()
    con = sqlite3.connect(db_path(data_dir))
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE notes (x TEXT)")
    con.execute("INSERT INTO notes VALUES ('shopping')")
    con.commit()
    con.close()
    err = _assert_damaged(data_dir)
    assert "no PerfectCare schema" in str(err)


def test_foreign_rollback_journal_database_is_not_modified(data_dir: Path) -> None:
    data_dir.mkdir()
    con = sqlite3.connect(db_path(data_dir))
    con.execute("CREATE TABLE notes (x TEXT)")
    con.execute("INSERT INTO notes VALUES ('shopping')")
    con.commit()
    con.close()
    _assert_damaged(data_dir)


def test_newer_schema_is_refused_and_left_unchanged(closed_store: Path) -> None:
    path = db_path(closed_store)
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = 'ffff9999'")
    con.commit()
    con.close()
    digest = _sha(path)
    with pytest.raises(StoreTooNew) as info:
        Store.open(closed_store)
    assert "ffff9999" in str(info.value)
    assert "newer PerfectCare Desktop" in str(info.value)
    assert "has not changed the store" in str(info.value)
    assert _sha(path) == digest
    assert not (closed_store / database.BACKUP_DIR).exists()  # no migration backup was attempted


def test_store_reopens_cleanly_after_being_closed(closed_store: Path, clock: FakeClock) -> None:
    with Store.open(closed_store, clock) as reopened:
        assert database.schema_revision(reopened.engine) == database.head_revision()
        assert reopened.organisation == ORG
        session = Session.sign_in(reopened, ADMIN, ADMIN_PASSWORD)
        assert [p.details.family_name for p in session.patients.all()] == ["Jones-Price"]


# --- missing, read-only ------------------------------------------------------------------------------
def test_missing_folder_is_store_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(StoreNotFound, match="perfectcare-admin init") as info:
        Store.open(missing)
    assert str(missing) in str(info.value)
    assert not missing.exists()  # opening never creates anything


def test_empty_folder_is_store_not_found(data_dir: Path) -> None:
    data_dir.mkdir()
    with pytest.raises(StoreNotFound, match="perfectcare-admin init"):
        Store.open(data_dir)
    assert _files(data_dir) == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write read-only files")
def test_read_only_store_is_refused(closed_store: Path) -> None:
    path = db_path(closed_store)
    digest = _sha(path)
    os.chmod(path, 0o444)
    os.chmod(closed_store, 0o555)
    try:
        with pytest.raises(StoreNotWritable, match="cannot be written"):
            Store.open(closed_store)
        assert _sha(path) == digest
        assert _files(closed_store) == [path.name]
    finally:
        os.chmod(closed_store, 0o755)
        os.chmod(path, 0o644)


# --- creating -----------------------------------------------------------------------------------------
def test_create_on_an_existing_store_is_refused_and_changes_nothing(
    store: Store, session: Session, data_dir: Path, clock: FakeClock
) -> None:
    _populate(session)
    database.checkpoint(store.engine)
    path = db_path(data_dir)
    digest, files = _sha(path), _files(data_dir)
    with pytest.raises(StoreAlreadyExists, match="already a store") as info:
        Store.create(data_dir, "Another Trust", "intruder", "another long password", clock=clock)
    assert "has not been changed" in str(info.value)
    assert _sha(path) == digest
    assert _files(data_dir) == files
    assert store.organisation == ORG
    Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    with pytest.raises(Exception, match="not right"):
        Session.sign_in(store, "intruder", "another long password")


@pytest.mark.parametrize(
    ("org", "username", "password", "message"),
    [
        ("Trust", ADMIN, "short", "at least 12 characters"),
        ("   ", ADMIN, ADMIN_PASSWORD, "organisation's name"),
        ("", ADMIN, ADMIN_PASSWORD, "organisation's name"),
        ("Trust", "bad user!", ADMIN_PASSWORD, "user name is up to 64"),
        ("Trust", "", ADMIN_PASSWORD, "Enter a user name"),
        ("Trust", "x" * 65, ADMIN_PASSWORD, "user name is up to 64"),
        ("Trust", "administrator", "Administrator", "must not be the user name"),
    ],
)
@pytest.mark.parametrize("precreate", [False, True])
def test_create_with_invalid_input_leaves_no_files(
    tmp_path: Path, org: str, username: str, password: str, message: str, precreate: bool
) -> None:
    folder = tmp_path / "new-store"
    if precreate:
        folder.mkdir()
    with pytest.raises(InvalidInput, match=message):
        Store.create(folder, org, username, password, clock=FakeClock())
    assert folder.exists() == precreate
    assert _files(folder) == []


def test_create_where_the_folder_is_a_file_is_not_writable(tmp_path: Path) -> None:
    blocker = tmp_path / "store"
    blocker.write_bytes(b"not a folder")
    with pytest.raises(StoreNotWritable, match="Cannot create a store"):
        Store.create(blocker, ORG, ADMIN, ADMIN_PASSWORD, clock=FakeClock())
    assert blocker.read_bytes() == b"not a folder"


def test_create_leaves_only_the_store_file(store: Store, data_dir: Path) -> None:
    names = _files(data_dir)
    assert db_path(data_dir).name in names
    assert not [n for n in names if n.startswith(".creating-") or n.startswith(".write-test-")]
    assert set(names) <= {"perfectcare.sqlite3", "perfectcare.sqlite3-wal", "perfectcare.sqlite3-shm"}


# --- connection settings ------------------------------------------------------------------------------
def test_pragmas_are_in_effect_on_store_connections(store: Store) -> None:
    for _ in range(2):  # a fresh and a pooled connection
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_file_header_says_wal(closed_store: Path) -> None:
    header = db_path(closed_store).read_bytes()[:100]
    assert header.startswith(b"SQLite format 3\x00")
    assert header[18] == 2 and header[19] == 2  # WAL read/write versions


def test_foreign_keys_are_enforced(store: Store, session: Session) -> None:
    with pytest.raises(SAIntegrityError, match="FOREIGN KEY"), store.writing() as conn:
        conn.execute(
            text(
                "INSERT INTO records (record_id, kind, patient_id, created_at, created_by) "
                "VALUES ('r1', 'patient', 'r1', '2026-01-01 00:00:00', 'no-such-user')"
            )
        )
    with store.reading() as conn:
        assert conn.execute(text("SELECT count(*) FROM records")).scalar() == 0


def test_writing_takes_the_write_lock_up_front(store: Store, data_dir: Path) -> None:
    with store.writing():
        other = sqlite3.connect(db_path(data_dir), timeout=0)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_schema_is_at_head(store: Store) -> None:
    assert database.schema_revision(store.engine) == database.head_revision() == "0009"
    assert database.is_known_revision("0001")
    assert not database.is_known_revision("ffff9999")


def test_an_older_store_is_copied_to_backups_then_upgraded(data_dir: Path, clock: FakeClock) -> None:
    """A store written by the previous release (schema 0001, before autosaves) opens in this one:
    a copy goes to backups/ first, then the migration runs, and every record is still there."""
    store, _ = Store.create(data_dir, ORG, ADMIN, ADMIN_PASSWORD, clock=clock)
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    pid = session.patients.add(PatientDetails("Ffion", "Hughes", date(1990, 5, 1), "9434765919"))
    store.close()
    engine = database.make_engine(db_path(data_dir))
    with engine.begin() as conn:
        database.command.downgrade(database._alembic_config(conn), "0001")
    engine.dispose()

    seen: list[tuple[str, str]] = []
    engine = database.open_database(data_dir, on_migrate=lambda old, copy: seen.append((old, copy)))
    assert database.schema_revision(engine) == database.head_revision()
    engine.dispose()
    assert seen and seen[0][0] == "0001"
    kept = Path(seen[0][1])
    assert kept.parent == data_dir / "backups" and kept.exists()
    copy = sqlite3.connect(kept)
    try:
        assert copy.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
        assert copy.execute("SELECT count(*) FROM sqlite_master WHERE name = 'autosaves'").fetchone() == (0,)
    finally:
        copy.close()
    reopened = Store.open(data_dir, clock=clock)
    assert Session.sign_in(reopened, ADMIN, ADMIN_PASSWORD).patients.get(pid).details.given_name == "Ffion"
    reopened.close()


def test_a_store_from_before_sync_queues_its_whole_history_for_the_hub(data_dir: Path, clock: FakeClock) -> None:
    """Migration 0003 puts every existing account, version and audit entry in the outbox, oldest first,
    so enrolling a store that was used on its own for months sends all of it."""
    store, _ = Store.create(data_dir, ORG, ADMIN, ADMIN_PASSWORD, clock=clock)
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    session.users.add("nurse.jo", "clinician", "another good password")
    pid = session.patients.add(PatientDetails("Ffion", "Hughes", date(1990, 5, 1), "9434765919"))
    session.patients.update(pid, PatientDetails("Ffion", "Price", date(1990, 5, 1), "9434765919"))
    store.close()
    engine = database.make_engine(db_path(data_dir))
    with engine.begin() as conn:
        database.command.downgrade(database._alembic_config(conn), "0002")
    engine.dispose()

    store = Store.open(data_dir, clock=clock)
    with store.reading() as conn:
        queued = conn.exec_driver_sql("SELECT item, ref FROM outbox ORDER BY oid").all()
        versions = [r[0] for r in conn.exec_driver_sql("SELECT version_id FROM versions ORDER BY seq")]
        audits = [str(r[0]) for r in conn.exec_driver_sql("SELECT seq FROM audit ORDER BY seq")]
        users = {r[0] for r in conn.exec_driver_sql("SELECT user_id FROM users")}
    store.close()
    assert [ref for item, ref in queued if item == "version"] == versions
    assert [ref for item, ref in queued if item == "audit"] == audits
    assert {ref for item, ref in queued if item == "user"} == users
    assert [item for item, _ in queued][: len(users)] == ["user"] * len(users)  # accounts before what they wrote


def test_a_store_killed_mid_checkpoint_opens_and_finishes_from_its_wal(
    store: Store, session: Session, data_dir: Path, tmp_path: Path
) -> None:
    """SQLite's checkpoint writes page 1 (with the grown size) before the pages that grow the file; a
    process killed in between leaves a main file shorter than its header says, and the WAL that
    completes it. That store is whole: it must open, not be called truncated (the sync kill tests met
    this state)."""
    from perfectcare_desktop.core.demo.demo_data import add_demo_data
    from perfectcare_desktop.core.storage.verify import verify_store

    database.checkpoint(store.engine)
    add_demo_data(session, 150, seed=5)  # grows the database by many pages, all still in the WAL
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for suffix in ("", "-wal"):  # the files as a power cut or a kill leaves them, the store still open
        Path(str(db_path(crashed)) + suffix).write_bytes(Path(str(db_path(data_dir)) + suffix).read_bytes())
    wal = Path(str(db_path(crashed)) + "-wal").read_bytes()
    page_size = int.from_bytes(wal[8:12], "big")
    salts, offset, page_one = wal[16:24], 32, None
    while offset + 24 + page_size <= len(wal):
        if int.from_bytes(wal[offset : offset + 4], "big") == 1 and wal[offset + 8 : offset + 16] == salts:
            page_one = wal[offset + 24 : offset + 24 + page_size]
        offset += 24 + page_size
    assert page_one is not None
    main = db_path(crashed)
    with open(main, "r+b") as fh:  # the checkpoint got as far as page 1
        fh.write(page_one)
    header_pages = int.from_bytes(page_one[28:32], "big")
    assert main.stat().st_size < header_pages * page_size  # the state the open check used to refuse

    reopened = Store.open(crashed)
    again = Session.sign_in(reopened, ADMIN, ADMIN_PASSWORD)
    assert len(again.patients.all()) == len(session.patients.all()) == 150
    assert verify_store(again).problems == []
    reopened.close()

"""Opening the SQLite file: durable pragmas, schema migrations (after a backup), damage checks."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DatabaseError, OperationalError

from ..errors import StoreDamaged, StoreNotFound, StoreNotWritable, StoreTooNew
from ..paths import BACKUP_DIR, db_path

_MIGRATIONS = Path(__file__).with_name("migrations")


def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself, so writers can take the lock up front.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    # WAL with synchronous=FULL: a commit that returned survives a power cut, not only a crash.
    cur.execute("PRAGMA synchronous=FULL")
    # Sorts and temp tables stay in memory: no temp file can hold anything, even ciphertext.
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute("PRAGMA recursive_triggers=ON")  # REPLACE's implicit delete fires the delete guards too
    cur.close()


def _on_begin(conn: Connection) -> None:
    # Writers use BEGIN IMMEDIATE: two processes on one store queue for the write lock instead of
    # both reading the audit head and then failing (or worse) at commit.
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(path: Path) -> Engine:
    # URL.create, not an f-string: a folder name with '?' or '#' must not become URL syntax.
    engine = create_engine(URL.create("sqlite", database=str(path)))
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def _alembic_config(connection: object) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config(None)).get_current_head()
    assert head is not None
    return head


def is_known_revision(revision: str) -> bool:
    return revision in {s.revision for s in ScriptDirectory.from_config(_alembic_config(None)).walk_revisions()}


def create_schema(path: Path) -> Engine:
    """Create a new, empty store file at the newest schema."""
    engine = make_engine(path)
    set_wal(engine)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")
    return engine


def set_wal(engine: Engine) -> None:
    """Switch a checked store to WAL (persistent in the file). Never run on an unchecked file:
    it rewrites header bytes, and a refused file must be left exactly as it was."""
    raw = engine.raw_connection()  # outside any transaction: SQLite refuses the switch inside one
    try:
        driver = raw.driver_connection
        assert driver is not None  # None only once the connection is invalidated; this one is fresh
        driver.execute("PRAGMA journal_mode=WAL")
    finally:
        raw.close()


def backup_file(source: Path, destination: Path) -> None:
    """Consistent copy of a live store with SQLite's online backup API."""
    src = sqlite3.connect(str(source))
    try:
        dst = sqlite3.connect(str(destination))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def open_database(data_dir: Path, *, on_migrate: Callable[[str, str], None] | None = None) -> Engine:
    """Open an existing store, refusing damaged or newer ones, migrating older ones after a backup."""
    path = db_path(data_dir)
    if not path.exists():
        raise StoreNotFound(
            f"No PerfectCare store in {data_dir}. Create one with 'perfectcare-admin init' or the set-up wizard."
        )
    if not _is_writable(path):
        raise StoreNotWritable(f"The store {path} cannot be written (read-only file or folder). Ask IT to fix it.")
    _check_header(path)
    engine = make_engine(path)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA schema_version").scalar()  # reads the schema pages
            current = MigrationContext.configure(conn).get_current_revision()
    except (DatabaseError, OperationalError) as exc:
        engine.dispose()
        raise StoreDamaged(_damaged(path, str(exc.orig))) from exc
    head = head_revision()
    if current is None:
        engine.dispose()
        raise StoreDamaged(_damaged(path, "it has no PerfectCare schema"))
    if current == head or is_known_revision(current):
        set_wal(engine)
    if current != head:
        if not is_known_revision(current):
            engine.dispose()
            raise StoreTooNew(
                f"This store was last used by a newer PerfectCare Desktop (schema {current}). "
                "Install the newer version; this one has not changed the store."
            )
        backup = keep_copy(path, f"before-upgrade-from-{current}")
        if on_migrate:
            on_migrate(current, str(backup))
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
    return engine


def keep_copy(path: Path, label: str) -> Path:
    """A consistent copy of the store in backups/, before an upgrade or a restore replaces it."""
    folder = path.parent / BACKUP_DIR
    folder.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = folder / f"{label}-{stamp}.sqlite3"
    n = 1
    while target.exists():  # two in the same microsecond: each copy is kept
        target = folder / f"{label}-{stamp}-{n}.sqlite3"
        n += 1
    backup_file(path, target)
    return target


def _is_writable(path: Path) -> bool:
    import os

    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _check_header(path: Path) -> None:
    """Cheap checks that catch a truncated or overwritten file at open, without reading every page
    (a full integrity check is `verify`'s job: on a large store it costs more than opening should)."""
    with open(path, "rb") as fh:
        head = fh.read(100)
    if len(head) < 100 or not head.startswith(b"SQLite format 3\x00"):
        raise StoreDamaged(_damaged(path, "it is not a database file (empty, truncated or overwritten)"))
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    # A process killed mid-checkpoint leaves page 1 (with the new size) written and later pages not
    # yet: the WAL still holds them all and SQLite finishes the checkpoint from it. Only with no WAL
    # to finish from does a short file mean truncation.
    wal = Path(str(path) + "-wal")
    finishing = wal.exists() and wal.stat().st_size > 32  # more than the WAL header: frames to replay
    # The in-header size is valid only when its "version-valid-for" matches the change counter.
    if not finishing and head[92:96] == head[24:28] and pages and path.stat().st_size < pages * page_size:
        raise StoreDamaged(_damaged(path, "the file is shorter than the database it holds (truncated)"))


def _damaged(path: Path, why: str) -> str:
    return (
        f"The store {path} is damaged: {why}. Nothing has been changed. "
        "Restore the latest backup with 'perfectcare-admin restore'."
    )


def schema_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def checkpoint(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))

"""The encrypted patient snapshot is only a cache: it speeds unlock and never decides what is shown."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.paths import db_path

ADMIN, PASSWORD = "admin1", "correct horse battery"


def names(session: Session) -> list[str]:
    return sorted(p.details.display_name for p in session.patients.all())


def snapshot_row(data_dir: Path) -> tuple[int, bytes] | None:
    conn = sqlite3.connect(db_path(data_dir))
    try:
        return conn.execute("SELECT upto_seq, payload FROM snapshots WHERE name = 'patients'").fetchone()
    finally:
        conn.close()


def test_snapshot_is_written_at_unlock_and_sealed(store: Store, session: Session, data_dir: Path) -> None:
    session.patients.add(PatientDetails("Gwenllian", "Llywelyn", date(1979, 5, 4), "943 476 5919"))
    assert snapshot_row(data_dir) is None
    fresh = Session.sign_in(store, ADMIN, PASSWORD)
    assert names(fresh) == ["Gwenllian Llywelyn"]
    upto, payload = snapshot_row(data_dir)
    assert upto > 0 and b"Gwenllian" not in payload and b"9434765919" not in payload


def test_changes_after_the_snapshot_are_read_from_the_records(store: Store, session: Session) -> None:
    a = session.patients.add(PatientDetails("Ann", "Smith", date(1980, 1, 1), "943 476 5919"))
    b = session.patients.add(PatientDetails("Bob", "Jones", date(1981, 1, 1), "999 000 0018"))
    assert names(Session.sign_in(store, ADMIN, PASSWORD)) == ["Ann Smith", "Bob Jones"]  # snapshot written
    # Another PC (or sync) changes the store after the snapshot was taken.
    other = Session.sign_in(store, ADMIN, PASSWORD)
    other.patients.update(a, PatientDetails("Ann", "Smith-Evans", date(1980, 1, 1), "943 476 5919"))
    latest = other.records.history(b)[-1].version_id
    other.records.mark_entered_in_error(latest, "registered twice")
    other.patients.add(PatientDetails("Cai", "Owen", date(1990, 1, 1), "999 000 0026"))
    assert names(Session.sign_in(store, ADMIN, PASSWORD)) == ["Ann Smith-Evans", "Cai Owen"]
    assert names(Session.sign_in(store, ADMIN, PASSWORD)) == ["Ann Smith-Evans", "Cai Owen"]  # from the new snapshot


def test_a_damaged_snapshot_is_ignored_and_rebuilt(store: Store, session: Session, data_dir: Path) -> None:
    session.patients.add(PatientDetails("Ann", "Smith", date(1980, 1, 1), "943 476 5919"))
    Session.sign_in(store, ADMIN, PASSWORD).patients.all()
    upto, payload = snapshot_row(data_dir)
    conn = sqlite3.connect(db_path(data_dir))
    damaged = bytearray(payload)
    damaged[-5] ^= 0x01
    conn.execute("UPDATE snapshots SET payload = ? WHERE name = 'patients'", (bytes(damaged),))
    conn.commit()
    conn.close()
    assert names(Session.sign_in(store, ADMIN, PASSWORD)) == ["Ann Smith"]
    assert snapshot_row(data_dir)[1] != bytes(damaged)  # rewritten from the records

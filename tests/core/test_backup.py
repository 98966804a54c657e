"""Encrypted single-file backups: a faithful round trip, and a restore that refuses anything doubtful
without changing a byte of the data folder."""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from testsupport import ADMIN, ADMIN_PASSWORD, ORG, FakeClock

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.demo.demo_data import add_demo_data
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage import backup
from perfectcare_desktop.core.storage.backup import RestorePlan, create_backup, restore_backup
from perfectcare_desktop.core.storage.export_json import export_patients
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.core.storage.verify import verify_store
from perfectcare_desktop.errors import BackupRejected, InvalidInput, NotAllowed, StoreDamaged, StoreNotWritable
from perfectcare_desktop.paths import BACKUP_DIR, DB_NAME, db_path

HEADER_START = len(backup.MAGIC) + struct.calcsize(">BI")


# --- helpers -----------------------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under folder, by relative path, with its bytes."""
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def comparable(export: dict[str, Any]) -> dict[str, Any]:
    out = dict(export)
    out.pop("exported_at")
    return out


def body_start(blob: bytes) -> int:
    _, length = struct.unpack_from(">BI", blob, len(backup.MAGIC))
    return HEADER_START + length


def flipped(blob: bytes, index: int) -> bytes:
    out = bytearray(blob)
    out[index] ^= 0x01
    return bytes(out)


def open_and_login(data_dir: Path, clock: FakeClock) -> tuple[Store, Session]:
    store = Store.open(data_dir, clock)
    return store, Session.sign_in(store, ADMIN, ADMIN_PASSWORD)


@pytest.fixture(autouse=True)
def no_leftovers(tmp_path: Path) -> Iterator[None]:
    """Whatever happened, no half-written file is left behind anywhere."""
    yield
    leftovers = [
        p.relative_to(tmp_path).as_posix()
        for p in tmp_path.rglob("*")
        if p.name.endswith(".partial") or p.name.startswith((".restoring-", ".creating-"))
    ]
    assert not leftovers, leftovers


@pytest.fixture
def filled(session: Session, clock: FakeClock) -> Session:
    """Demo patients, a withdrawn version, a plan with two versions and a second user."""
    add_demo_data(session, 8, seed=11)
    pid = session.patients.add(PatientDetails("Siân", "Wójcik", date(1979, 2, 1), "9990000018", preferred_name="Si"))
    clock.advance(minutes=3)
    wrong = session.patients.update(pid, PatientDetails("Siân", "Wojcik", date(1979, 2, 1), "9990000018"))
    session.records.mark_entered_in_error(wrong, "Spelling was right the first time")
    rid, _ = session.records.create("safety_plan", pid, {"sections": {"coping_alone": ["Cerdded ar y traeth 🌊"]}})
    session.records.append(rid, {"sections": {"coping_alone": ["Cerdded ar y traeth 🌊", "ردیف"]}}, signed=True)
    session.users.add("clinician1", "clinician", "clinician password", "Dr Clinician")
    return session


@pytest.fixture
def backup_file(filled: Session, tmp_path: Path) -> Path:
    destination = tmp_path / "elsewhere" / "store.pcbackup"
    destination.parent.mkdir()
    info = create_backup(filled, destination)
    assert destination.read_bytes().startswith(backup.MAGIC)
    assert info.size_bytes == destination.stat().st_size
    assert info.store_id == filled.store.store_id
    assert info.organisation == ORG
    return destination


@pytest.fixture
def other_store(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[Store, str]]:
    store, recovery = Store.create(tmp_path / "other", "Other NHS Trust", ADMIN, "other admin password", clock=clock)
    s = Session.sign_in(store, ADMIN, "other admin password")
    s.patients.add(PatientDetails("Other", "Person", date(1970, 1, 1), "9990000026"))
    yield store, recovery
    store.close()


# --- round trip --------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["admin password", "recovery key"])
@pytest.mark.parametrize("target_exists", [False, True], ids=["new folder", "empty folder"])
def test_restore_into_empty_folder_is_identical(
    filled: Session, backup_file: Path, recovery_key: str, tmp_path: Path, clock: FakeClock, how: str, target_exists
) -> None:
    before = comparable(export_patients(filled))
    assert len(before["patients"]) == 9
    target = tmp_path / "restored"
    if target_exists:
        target.mkdir()
    secret = (
        {"recovery_key": recovery_key} if how == "recovery key" else {"username": ADMIN, "password": ADMIN_PASSWORD}
    )

    info = restore_backup(backup_file, target, clock=clock, **secret)

    assert info.store_id == filled.store.store_id
    store, session = open_and_login(target, clock)
    try:
        assert store.store_id == filled.store.store_id
        assert store.organisation == ORG
        assert comparable(export_patients(session)) == before
        report = verify_store(session)
        assert report.ok, report.problems
        with store.reading() as conn:
            rows = conn.exec_driver_sql("SELECT count(*) FROM versions").scalar_one()
        assert report.versions_checked == rows
        # Other users came along too.
        assert Session.sign_in(store, "clinician1", "clinician password").user.role == "clinician"
        # The restore is the newest entry in the restored trail (before this session's own events).
        restores = session.audit_trail(action="restore")
        assert len(restores) == 1 and "from backup taken" in restores[0].detail
        assert [r.action for r in session.audit_trail(action="backup")] == ["backup"]
    finally:
        store.close()
    assert sorted(p.name for p in target.iterdir() if not p.name.startswith(DB_NAME)) == []


def test_backup_of_an_open_store_includes_uncheckpointed_changes(
    filled: Session, tmp_path: Path, clock: FakeClock
) -> None:
    wal = Path(str(db_path(filled.store.data_dir)) + "-wal")
    assert wal.exists() and wal.stat().st_size > 0  # recent saves are still only in the WAL
    last = filled.patients.add(PatientDetails("Newest", "Patient", date(2001, 1, 1), "9990000026"))
    destination = tmp_path / "now.pcbackup"
    create_backup(filled, destination)

    restore_backup(destination, tmp_path / "restored", username=ADMIN, password=ADMIN_PASSWORD, clock=clock)

    store, session = open_and_login(tmp_path / "restored", clock)
    try:
        assert session.patients.get(last).details.family_name == "Patient"
    finally:
        store.close()


def test_restore_over_the_same_store_keeps_the_current_one_aside(
    filled: Session, backup_file: Path, data_dir: Path, clock: FakeClock, tmp_path: Path
) -> None:
    before = comparable(export_patients(filled))
    later = filled.patients.add(PatientDetails("Added", "After-Backup", date(1999, 9, 9), "9990000026"))
    filled.store.close()

    restore_backup(backup_file, data_dir, username=ADMIN, password=ADMIN_PASSWORD, clock=clock)

    store, session = open_and_login(data_dir, clock)
    try:
        assert comparable(export_patients(session)) == before
        assert later not in {p.record_id for p in session.patients.all()}
        assert verify_store(session).ok
    finally:
        store.close()
    aside = [p for p in (data_dir / BACKUP_DIR).iterdir() if "before-restore" in p.name]
    assert len(aside) == 1, list((data_dir / BACKUP_DIR).iterdir())
    # The set-aside copy is a complete store holding the work done after the backup.
    check = tmp_path / "aside-check"
    check.mkdir()
    (check / DB_NAME).write_bytes(aside[0].read_bytes())
    store, session = open_and_login(check, clock)
    try:
        assert session.patients.get(later).details.family_name == "After-Backup"
        assert verify_store(session).ok
    finally:
        store.close()


def test_two_quick_restores_keep_both_set_aside_copies(
    filled: Session, backup_file: Path, data_dir: Path, clock: FakeClock
) -> None:
    filled.store.close()
    started = time.monotonic()
    for _ in range(3):
        restore_backup(backup_file, data_dir, username=ADMIN, password=ADMIN_PASSWORD, clock=clock)
    if time.monotonic() - started >= 1.0:
        pytest.skip("restores too slow here to land in the same second")
    aside = [p for p in (data_dir / BACKUP_DIR).iterdir() if "before-restore" in p.name]
    assert len(aside) == 3, [p.name for p in aside]


def test_damaged_store_is_replaced_and_kept(
    filled: Session, backup_file: Path, data_dir: Path, clock: FakeClock
) -> None:
    before = comparable(export_patients(filled))
    filled.store.close()
    garbage = os.urandom(20_000)
    db_path(data_dir).write_bytes(garbage)
    with pytest.raises(StoreDamaged):
        Store.open(data_dir, clock)

    restore_backup(backup_file, data_dir, username=ADMIN, password=ADMIN_PASSWORD, clock=clock)

    damaged = [p for p in (data_dir / BACKUP_DIR).iterdir() if p.name.startswith("damaged-")]
    assert [p.read_bytes() for p in damaged] == [garbage]
    store, session = open_and_login(data_dir, clock)
    try:
        assert comparable(export_patients(session)) == before
        assert verify_store(session).ok
    finally:
        store.close()


# --- refusals that change nothing --------------------------------------------------------------------


def assert_refused(source: Path, data_dir: Path, clock: FakeClock, match: str, **secret: Any) -> BackupRejected:
    before = snapshot(data_dir)
    assert DB_NAME in before
    with pytest.raises(BackupRejected, match=match) as caught:
        restore_backup(source, data_dir, clock=clock, **secret)
    assert snapshot(data_dir) == before, "a refused restore changed the data folder"
    return caught.value


def assert_refused_everywhere(source: Path, data_dir: Path, tmp_path: Path, clock: FakeClock, match: str) -> None:
    """Refused over the existing store (left byte for byte as it was) and into a new folder (not created)."""
    assert_refused(source, data_dir, clock, match, username=ADMIN, password=ADMIN_PASSWORD)
    fresh = tmp_path / "fresh-target"
    with pytest.raises(BackupRejected, match=match):
        restore_backup(source, fresh, username=ADMIN, password=ADMIN_PASSWORD, clock=clock)
    assert not fresh.exists()


@pytest.mark.parametrize("where", ["first body byte", "nonce", "middle of body", "last byte (tag)"])
def test_flipped_byte_in_body_is_refused(
    filled: Session, backup_file: Path, data_dir: Path, tmp_path: Path, clock: FakeClock, where: str
) -> None:
    filled.store.close()
    blob = backup_file.read_bytes()
    start = body_start(blob)
    index = {
        "first body byte": start,
        "nonce": start + 10,
        "middle of body": (start + len(blob)) // 2,
        "last byte (tag)": len(blob) - 1,
    }[where]
    bad = tmp_path / "flipped.pcbackup"
    bad.write_bytes(flipped(blob, index))

    assert_refused_everywhere(bad, data_dir, tmp_path, clock, "damaged|does not open")


def test_flipped_byte_anywhere_in_header_is_refused(
    filled: Session, backup_file: Path, data_dir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    filled.store.close()
    blob = backup_file.read_bytes()
    before = snapshot(data_dir)
    bad = tmp_path / "flipped.pcbackup"
    escaped: dict[str, int] = {}
    for index in range(len(backup.MAGIC), body_start(blob)):
        bad.write_bytes(flipped(blob, index))
        try:
            restore_backup(bad, data_dir, username=ADMIN, password=ADMIN_PASSWORD, clock=clock)
        except BackupRejected:
            pass
        except Exception as exc:  # collecting what escapes, to report it
            escaped.setdefault(type(exc).__name__, index)
        else:
            raise AssertionError(f"restore accepted a backup with byte {index} of its header flipped")
    assert snapshot(data_dir) == before
    assert not escaped, f"not BackupRejected (first byte index for each): {escaped}"


@pytest.mark.parametrize(
    "keep", ["nothing", "magic only", "half the length field", "half the header", "header only", "all but one byte"]
)
def test_truncated_backup_is_refused(
    filled: Session, backup_file: Path, data_dir: Path, tmp_path: Path, clock: FakeClock, keep: str
) -> None:
    filled.store.close()
    blob = backup_file.read_bytes()
    length = {
        "nothing": 0,
        "magic only": len(backup.MAGIC),
        "half the length field": len(backup.MAGIC) + 2,
        "half the header": (HEADER_START + body_start(blob)) // 2,
        "header only": body_start(blob),
        "all but one byte": len(blob) - 1,
    }[keep]
    bad = tmp_path / "truncated.pcbackup"
    bad.write_bytes(blob[:length])

    assert_refused_everywhere(bad, data_dir, tmp_path, clock, "damaged|not a PerfectCare backup")


@pytest.mark.parametrize("kind", ["empty", "random bytes", "text", "the store's own database", "missing"])
def test_non_backup_file_is_refused(
    filled: Session, data_dir: Path, tmp_path: Path, clock: FakeClock, kind: str
) -> None:
    filled.store.close()
    source = tmp_path / "not-a-backup.pcbackup"
    if kind == "empty":
        source.write_bytes(b"")
    elif kind == "random bytes":
        source.write_bytes(os.urandom(5000))
    elif kind == "text":
        source.write_text("PCBACKU is not quite the magic; this is a shopping list\n")
    elif kind == "the store's own database":
        source.write_bytes(db_path(data_dir).read_bytes())
    match = "There is no file" if kind == "missing" else "not a PerfectCare backup file"

    assert_refused_everywhere(source, data_dir, tmp_path, clock, match)


def test_wrong_password_is_refused(
    filled: Session, backup_file: Path, data_dir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    filled.store.close()
    assert_refused(backup_file, data_dir, clock, "password does not open", username=ADMIN, password="wrong password!")
    assert_refused(backup_file, data_dir, clock, "password does not open", username="nobody", password=ADMIN_PASSWORD)
    with pytest.raises(BackupRejected):
        restore_backup(backup_file, tmp_path / "fresh", username=ADMIN, password="wrong password!", clock=clock)
    assert not (tmp_path / "fresh").exists()


def test_recovery_key_of_another_store_is_refused(
    filled: Session, backup_file: Path, data_dir: Path, other_store: tuple[Store, str], clock: FakeClock
) -> None:
    filled.store.close()
    assert_refused(backup_file, data_dir, clock, "recovery key does not open", recovery_key=other_store[1])


@pytest.fixture
def foreign_backup(other_store: tuple[Store, str], tmp_path: Path) -> Path:
    other, _ = other_store
    foreign = tmp_path / "other.pcbackup"
    create_backup(Session.sign_in(other, ADMIN, "other admin password"), foreign)
    other.close()
    return foreign


@pytest.mark.parametrize("how", ["admin password", "recovery key"])
def test_backup_of_another_store_is_refused_over_a_different_store(
    filled: Session,
    data_dir: Path,
    foreign_backup: Path,
    other_store: tuple[Store, str],
    tmp_path: Path,
    clock: FakeClock,
    how: str,
) -> None:
    filled.store.close()
    secret = {"recovery_key": other_store[1]} if how == "recovery key" else {"password": "other admin password"}
    store_bytes = db_path(data_dir).read_bytes()
    before = snapshot(data_dir)

    with pytest.raises(BackupRejected, match="another store") as caught:
        restore_backup(foreign_backup, data_dir, username=ADMIN, clock=clock, **secret)

    assert "Nothing was changed" in str(caught.value)
    assert db_path(data_dir).read_bytes() == store_bytes
    after = snapshot(data_dir)
    assert {k: v for k, v in after.items() if not k.endswith(("-wal", "-shm"))} == before
    store, session = open_and_login(data_dir, clock)
    try:
        assert session.patients.find_by_nhs_number("9990000018") is not None
        assert verify_store(session).ok
    finally:
        store.close()


def test_backup_of_another_store_refused_leaves_no_new_files(
    filled: Session, data_dir: Path, foreign_backup: Path, clock: FakeClock
) -> None:
    filled.store.close()
    assert_refused(foreign_backup, data_dir, clock, "another store", username=ADMIN, password="other admin password")


def test_backup_of_another_store_is_refused_when_the_folder_name_has_a_hash(
    foreign_backup: Path, tmp_path: Path, clock: FakeClock
) -> None:
    folder = tmp_path / "Ward #2"
    Store.create(folder, ORG, ADMIN, ADMIN_PASSWORD, clock=clock)[0].close()
    store_bytes = db_path(folder).read_bytes()

    try:
        with pytest.raises(BackupRejected, match="another store"):
            restore_backup(foreign_backup, folder, username=ADMIN, password="other admin password", clock=clock)
    finally:
        assert db_path(folder).read_bytes() == store_bytes, "the healthy store was replaced"


# --- who may take a backup, and where ----------------------------------------------------------------


def test_clinician_cannot_create_a_backup(filled: Session, tmp_path: Path) -> None:
    clinician = Session.sign_in(filled.store, "clinician1", "clinician password")
    destination = tmp_path / "clinician.pcbackup"
    with pytest.raises(NotAllowed):
        create_backup(clinician, destination)
    assert not destination.exists()
    assert list(tmp_path.glob("*.pcbackup*")) == []
    assert not filled.audit_trail(action="backup")


def test_backup_to_a_missing_folder_is_refused_clearly(filled: Session, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-usb-stick"
    destination = missing / "store.pcbackup"
    with pytest.raises(StoreNotWritable) as caught:
        create_backup(filled, destination)
    message = str(caught.value)
    assert str(missing) in message and "does not exist" in message
    assert not missing.exists()
    assert [p for p in tmp_path.rglob("*") if "pcbackup" in p.name] == []


def test_backup_replaces_an_older_file_atomically(filled: Session, tmp_path: Path, clock: FakeClock) -> None:
    destination = tmp_path / "nightly.pcbackup"
    destination.write_bytes(b"yesterday's backup")
    with pytest.raises(InvalidInput, match="already exists"):  # only when asked to (--force)
        create_backup(filled, destination)
    assert destination.read_bytes() == b"yesterday's backup"
    create_backup(filled, destination, overwrite=True)
    assert destination.read_bytes().startswith(backup.MAGIC)
    restore_backup(destination, tmp_path / "r", username=ADMIN, password=ADMIN_PASSWORD, clock=clock)
    store, session = open_and_login(tmp_path / "r", clock)
    try:
        assert verify_store(session).ok
    finally:
        store.close()


# --- who may restore, and what it says first (issue 16, part 5) ---------------------------------------------


def test_restore_says_first_what_it_rolls_back(
    filled: Session, backup_file: Path, data_dir: Path, clock: FakeClock
) -> None:
    pid = filled.patients.add(PatientDetails("Added", "After-Backup", date(1999, 9, 9), "9990000026"))
    filled.patients.update(pid, PatientDetails("Added", "After-Backup-Two", date(1999, 9, 9), "9990000026"))
    filled.store.close()
    told: list[RestorePlan] = []

    assert_refused(backup_file, data_dir, clock, "not confirmed", username=ADMIN, password=ADMIN_PASSWORD,
                   before=lambda plan: told.append(plan) is None and False)  # fmt: skip

    # Told, and declined: nothing was changed.
    (plan,) = told
    assert plan.replaces_store and plan.newer_versions == 2
    assert "rolls the store of" in plan.in_words() and "2 version(s)" in plan.in_words()
    assert "Nothing is deleted" in plan.in_words() and "Added" not in plan.in_words()
    store, session = open_and_login(data_dir, clock)
    try:
        assert pid in {p.record_id for p in session.patients.all()}
    finally:
        store.close()


@pytest.mark.parametrize("who", ["clinician", "disabled admin"])
def test_restore_by_anyone_but_an_active_admin_is_refused(
    filled: Session, data_dir: Path, clock: FakeClock, tmp_path: Path, who: str
) -> None:
    """A clinician, or an admin disabled since the backup (whose old password still opens it), restores nothing."""
    filled.users.add("admin2", "admin", "second admin password", "Second Admin")
    backup_file = tmp_path / "then.pcbackup"
    create_backup(filled, backup_file)  # admin2 is an active admin in it
    if who == "disabled admin":
        filled.users.disable("admin2")
        username, password, match = "admin2", "second admin password", "admin2's account is disabled in the store"
    else:
        username, password, match = "clinician1", "clinician password", "clinician1 is a clinician in the backup"
    filled.store.close()

    refused = assert_refused(backup_file, data_dir, clock, match, username=username, password=password)

    assert "only an active administrator may restore" in str(refused) and "Nothing was changed" in str(refused)

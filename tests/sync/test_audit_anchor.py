"""The audit head anchored on the hub (issue 16, part 6 d): a whole store put back from an older copy of
its file, saved head and all, verifies locally; compared with the entries this PC pushed to a real
PostgreSQL hub, `verify` names the rollback. A restore made through the app is no false alarm."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sync_support import Pc, first_pc, join, patient, plan
from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import sign_plan
from perfectcare_desktop.core.storage.backup import create_backup, restore_backup
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.paths import db_path
from perfectcare_desktop.sync.audit_anchor import verify_with_hub


@pytest.fixture
def pc(tmp_path: Path, hub_db: str) -> Iterator[Pc]:
    made = first_pc(tmp_path / "ward", hub_db)
    yield made
    made.close()


def reopen(pc: Pc) -> Pc:
    pc.close()
    store = Store.open(pc.store.data_dir)
    return Pc(store, Session.sign_in(store, ADMIN, ADMIN_PASSWORD))


def keep_file(pc: Pc, to: Path) -> Path:
    """The attacker's copy of the store file (taken while the app is closed)."""
    pc.close()
    shutil.copy(db_path(pc.store.data_dir), to)
    return to


def put_back(pc: Pc, copy: Path) -> None:
    pc.close()
    target = db_path(pc.store.data_dir)
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    shutil.copy(copy, target)


def work(pc: Pc, nhs: str) -> None:
    pid = pc.session.patients.add(patient("Siân", "Roberts", nhs))
    sign_plan(pc.session, pid, load_catalogue().latest(), plan("Not sleeping"), None, agreed_with_person=True,
              agreed_on=date(2026, 12, 1), review_due=date(2027, 3, 1))  # fmt: skip
    pc.sync()


def test_an_intact_synced_store_verifies_against_the_hub(pc: Pc) -> None:
    work(pc, "9434765919")
    report = verify_with_hub(pc.session)
    assert report.ok, report.problems
    assert report.notes == [], report.notes  # compared with the hub, MACs readable: nothing left unsaid


def test_whole_store_rolled_back_from_an_older_copy_is_named(pc: Pc, tmp_path: Path) -> None:
    work(pc, "9434765919")
    older = keep_file(pc, tmp_path / "older.sqlite3")
    pc = reopen(pc)
    work(pc, "9434765927")  # a second patient, synced: the hub now holds this PC's newer audit entries
    put_back(pc, older)
    pc = reopen(pc)

    report = verify_with_hub(pc.session)

    named = [p for p in report.problems if "the hub holds this PC's audit entries up to" in p]
    assert len(named) == 1, report.problems
    assert "put back from an older copy" in named[0]
    pc.close()


def test_rolled_back_store_used_since_is_named_as_forked(pc: Pc, tmp_path: Path) -> None:
    """Used after the rollback until its trail is longer than the hub's: the numbers pass, the MACs differ."""
    work(pc, "9434765919")
    older = keep_file(pc, tmp_path / "older.sqlite3")
    pc = reopen(pc)
    work(pc, "9434765927")
    put_back(pc, older)
    pc = reopen(pc)
    for _ in range(12):
        pc.session.record_event("view")  # entries numbered past the hub's head, with other MACs

    report = verify_with_hub(pc.session)

    assert [p for p in report.problems if "has forked from the hub's" in p], report.problems
    pc.close()


def test_a_restore_through_the_app_is_no_rollback(pc: Pc, tmp_path: Path) -> None:
    work(pc, "9434765919")
    backup = tmp_path / "ward.pcbackup"
    create_backup(pc.session, backup)
    work(pc, "9434765927")
    pc.close()
    restore_backup(backup, pc.store.data_dir, username=ADMIN, password=ADMIN_PASSWORD)
    pc = reopen(pc)

    before_sync = verify_with_hub(pc.session)
    pc.sync()
    after_sync = verify_with_hub(pc.session)

    assert before_sync.ok, before_sync.problems
    assert after_sync.ok, after_sync.problems
    pc.close()


def test_versions_pulled_from_another_pc_need_no_audit_entry_here(pc: Pc, hub_db: str, tmp_path: Path) -> None:
    """Pulled versions were audited on the PC that saved them: listed as they arrive, no false alarm here;
    each PC's own trail is compared with its own entries on the hub."""
    work(pc, "9434765919")
    second = join(pc.session, hub_db, tmp_path / "ward-2")
    try:
        work(second, "9434765927")
        pc.sync()
        for each in (pc, second):
            report = verify_with_hub(each.session)
            assert report.ok, report.problems
            assert report.versions_checked == 4
    finally:
        second.close()

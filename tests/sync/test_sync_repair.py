"""Holes heal by themselves: anti-entropy compares each PC with the hub every round.

Each test makes a hole the way the world does — a DBA deletes or repairs hub rows, a PC's place in
the stream is past rows it never applied, a store is restored from a backup — and checks that a round
or two later every PC and the hub hold the same, with nothing lost."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from sync_support import Pc, first_pc, hub_versions, join, patient, plan
from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import save_draft
from perfectcare_desktop.core.storage.backup import create_backup, restore_backup
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.sync import device, status

LAYOUT = load_catalogue().latest()
NHS = ["9434765919", "9434765870", "9434765862", "9434765854"]


@pytest.fixture
def two(tmp_path: Path, hub_db: str):
    a = first_pc(tmp_path / "pc1", hub_db)
    b = join(a.session, hub_db, tmp_path / "pc2")
    made = [a, b]
    yield made
    for pc in made:
        pc.close()


def _device_id(pc: Pc) -> str:
    with pc.store.reading() as conn:
        return device.load(conn, pc.session.require_unlocked()).device_id


def _hub_audit_macs(hub_db: str) -> set[bytes]:
    with psycopg.connect(hub_db) as conn:
        return {bytes(m) for (m,) in conn.execute("SELECT mac FROM audit")}


def _local_audit_macs(pc: Pc) -> set[bytes]:
    with pc.store.reading() as conn:
        return {bytes(m) for (m,) in conn.exec_driver_sql("SELECT mac FROM audit")}


def test_a_version_deleted_on_the_hub_is_sent_again(two, hub_db: str, tmp_path: Path) -> None:
    a, b = two
    pid = a.session.patients.add(patient("Siân", "Roberts", NHS[0]))
    v1 = save_draft(a.session, pid, LAYOUT, plan("Pacing at night"), None)
    a.sync()
    with psycopg.connect(hub_db) as conn:  # a DBA's mistake, or a hub restored from an older backup
        assert conn.execute("DELETE FROM versions WHERE version_id = %s", (v1,)).rowcount == 1
    a.sync()  # the writer notices the hub lacks it and sends it again
    assert v1 in {v for v, _ in hub_versions(hub_db)}
    b.sync()
    c = join(a.session, hub_db, tmp_path / "pc3")  # a PC that joins later does not inherit the hole
    try:
        assert c.versions() == a.versions() == b.versions() == set(hub_versions(hub_db))
    finally:
        c.close()


def test_rows_a_pc_passed_without_applying_are_fetched(two, hub_db: str) -> None:
    """Whatever put this PC's place past rows it never applied (a bug, a hub restored and replayed),
    the next round finds them missing and fetches them."""
    a, b = two
    b.sync()
    a.session.patients.add(patient("Siân", "Roberts", NHS[0]))
    a.session.users.add("nurse.jo", "clinician", "another good password", "Jo Bloggs")
    a.sync()
    with psycopg.connect(hub_db) as conn:
        top_v = conn.execute("SELECT xid::text, seq FROM versions ORDER BY xid DESC, seq DESC LIMIT 1").fetchone()
        top_u = conn.execute("SELECT xid::text, seq FROM users ORDER BY xid DESC, seq DESC LIMIT 1").fetchone()
    with b.store.writing() as conn:
        device.set_horizon(conn, device.HORIZON_VERSIONS, (int(top_v[0]), top_v[1]))
        device.set_horizon(conn, device.HORIZON_USERS, (int(top_u[0]), top_u[1]))
    report = b.sync()
    assert report.healed.fetched >= 1 and report.healed.accounts >= 1
    assert b.versions() == a.versions() == set(hub_versions(hub_db))
    assert Session.sign_in(b.store, "nurse.jo", "another good password").user.role == "clinician"
    assert b.sync().healed == type(report.healed)()  # healed: the next round finds nothing to mend


def test_a_refused_row_repaired_on_the_hub_is_accepted_with_what_follows_it(two, hub_db: str) -> None:
    a, b = two
    pid = a.session.patients.add(patient("Alys", "Evans", NHS[0]))
    v1 = save_draft(a.session, pid, LAYOUT, plan("one"), None)
    save_draft(a.session, pid, LAYOUT, plan("two"), v1)  # follows the damaged one
    a.sync()
    flip = "UPDATE versions SET payload = set_byte(payload, 40, get_byte(payload, 40) # 1) WHERE version_id = %s"
    with psycopg.connect(hub_db) as conn:
        conn.execute(flip, (v1,))
    report = b.sync()
    assert len(report.rejected) == 2 and status.read(b.store).rejected == 2
    b.sync()  # a quiet round changes nothing: still refused, nothing fetched again
    assert status.read(b.store).rejected == 2
    with psycopg.connect(hub_db) as conn:  # the DBA repairs the row (here: flips the byte back)
        conn.execute(flip, (v1,))
    b.sync()
    assert status.read(b.store).rejected == 0
    assert b.versions() == a.versions() == set(hub_versions(hub_db))


def test_audit_entries_missing_on_the_hub_are_sent_again(two, hub_db: str) -> None:
    a, _ = two
    a.session.patients.add(patient("Siân", "Roberts", NHS[0]))
    a.sync()
    with psycopg.connect(hub_db) as conn:
        deleted = conn.execute(
            "DELETE FROM audit WHERE device_id = %s AND seq IN (SELECT seq FROM audit WHERE device_id = %s "
            "ORDER BY seq LIMIT 3)",
            (_device_id(a), _device_id(a)),
        ).rowcount
    assert deleted == 3
    a.sync()
    assert _local_audit_macs(a) <= _hub_audit_macs(hub_db)


def test_a_store_restored_on_an_enrolled_pc_loses_no_audit_entry_on_the_hub(two, hub_db: str, tmp_path: Path) -> None:
    """Restoring numbers audit entries again from the backup's last one; those numbers were sent
    before. Under a new stream, the entries written after the restore reach the hub too."""
    a, b = two
    a.sync()
    backup = tmp_path / "a.pcbackup"
    create_backup(a.session, backup)
    a.session.patients.add(patient("Siân", "Roberts", NHS[0]))  # entries with numbers after the backup's
    a.sync()
    before_restore = _local_audit_macs(a)
    folder = a.store.data_dir
    a.close()
    restore_backup(backup, folder, username=ADMIN, password=ADMIN_PASSWORD)
    store = Store.open(folder)
    a2 = Pc(store, Session.sign_in(store, ADMIN, ADMIN_PASSWORD))
    try:
        a2.session.patients.add(patient("Aled", "Jones", NHS[1]))  # the same numbers again, new entries
        a2.sync()
        b.sync()
        a2.sync()
        on_hub = _hub_audit_macs(hub_db)
        assert _local_audit_macs(a2) <= on_hub, "entries written after the restore were dropped by the hub"
        assert before_restore <= on_hub
        # Nothing clinical lost either: the patient added after the backup comes back from the hub.
        a2.session.patients.reload()
        assert {p.details.display_name for p in a2.session.patients.all()} == {"Siân Roberts", "Aled Jones"}
        assert a2.versions() == b.versions() == set(hub_versions(hub_db))
    finally:
        a2.close()


def test_the_figures_kept_in_the_store_are_used_after_a_restart_and_mend_when_wrong(two, hub_db: str) -> None:
    """The PC keeps its per-bucket figures in the store, so a restarted app hashes only what arrived since.
    A wrong saved copy (edited, or left by a bug) costs a look at the ids, never a wrong repair, and is
    replaced by figures counted afresh."""
    a, b = two
    for n, nhs in enumerate(NHS[:3]):
        a.session.patients.add(patient("Person", f"Number{n}", nhs))
    a.sync()
    b.sync()
    with b.store.reading() as conn:
        saved = device.get(conn, device.HERE_FIGURES)
    total, _top, rows = json.loads(saved)
    assert total == len(b.versions()) and sum(n for _, n, _ in rows) == total
    folder = b.store.data_dir
    b.close()
    store = Store.open(folder)  # a new engine: the figures come from the store, not from memory
    b2 = Pc(store, Session.sign_in(store, ADMIN, ADMIN_PASSWORD))
    try:
        assert b2.sync().healed == type(b2.sync().healed)()
        wrong = json.dumps([total, _top, [[bucket, n + 1, x] for bucket, n, x in rows]])
        with b2.store.writing() as conn:
            device.set_value(conn, device.HERE_FIGURES, wrong)
        b2.client.close()
        b2.store.close()
        store = Store.open(folder)
        b2 = Pc(store, Session.sign_in(store, ADMIN, ADMIN_PASSWORD))
        report = b2.sync()
        assert report.healed == type(report.healed)()  # nothing fetched or queued again on wrong figures
        with b2.store.reading() as conn:
            assert json.loads(device.get(conn, device.HERE_FIGURES)) == json.loads(saved)
        assert b2.versions() == a.versions() == set(hub_versions(hub_db))
    finally:
        b2.close()

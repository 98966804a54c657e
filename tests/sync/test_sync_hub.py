"""Sync through a real PostgreSQL hub: PCs converge, conflicts are kept and merged, the hub holds
only ciphertext, and whatever the hub sends that fails its checks is refused while the rest syncs."""

from __future__ import annotations

import os
import subprocess
from datetime import date
from pathlib import Path

import psycopg
import pytest
from pg_cluster import find_bindir
from sync_support import PASSPHRASE, Pc, first_pc, hub_versions, join, patient, plan
from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import load_plan, save_draft, sign_plan
from perfectcare_desktop.core.patients.caseload import caseload
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.errors import HubAccessRefused, HubUnreachable, InvalidInput, NotAllowed, StoreAlreadyExists
from perfectcare_desktop.sync import enrolment, hub_address, hub_admin, status
from perfectcare_desktop.sync.client import SyncClient

LAYOUT = load_catalogue().latest()
NHS = ["9434765919", "9434765870", "9434765862", "9434765854"]


@pytest.fixture
def pcs(tmp_path: Path, hub_db: str):
    made: list[Pc] = []

    def make(n: int) -> list[Pc]:
        made.append(first_pc(tmp_path / "pc1", hub_db))
        for i in range(2, n + 1):
            made.append(join(made[0].session, hub_db, tmp_path / f"pc{i}"))
        return made

    yield make
    for pc in made:
        pc.close()


def sync_all(pcs: list[Pc], rounds: int = 2) -> None:
    for _ in range(rounds):
        for pc in pcs:
            pc.sync()


def test_three_pcs_converge_and_accounts_follow(pcs, hub_db: str) -> None:
    a, b, c = pcs(3)
    pa = a.session.patients.add(patient("Siân", "Roberts", NHS[0]))
    pb = b.session.patients.add(patient("Wojciech", "Nowak", NHS[1]))
    a.session.users.add("nurse.jo", "clinician", "another good password", "Jo Bloggs")
    sync_all([a, b, c])
    save_draft(c.session, pa, LAYOUT, plan("Pacing at night"), None)
    save_draft(b.session, pb, LAYOUT, plan("Not eating"), None)
    sync_all([a, b, c])

    assert a.versions() == b.versions() == c.versions()
    assert sorted(hub_versions(hub_db)) == sorted(a.versions())  # each once, nothing lost or doubled
    for pc in (a, b, c):
        pc.session.patients.reload()
        names = {p.details.display_name for p in pc.session.patients.all()}
        assert names == {"Siân Roberts", "Wojciech Nowak"}
        assert pc.session.patients.find_by_nhs_number(NHS[1]) is not None  # the NHS lookup works on every PC
        assert load_plan(pc.session, pa, audit_view=False).current.payload["sections"]["warning_signs"]["entries"] == [
            {"text": "Pacing at night"}
        ]
        assert status.read(pc.store).waiting == 0
    # An account made on one PC signs in on another, with its own password.
    jo = Session.sign_in(c.store, "nurse.jo", "another good password")
    assert jo.user.role == "clinician"
    # And a disabled account is disabled everywhere.
    a.session.users.disable("nurse.jo")
    sync_all([a, c], rounds=1)
    with pytest.raises(Exception, match="disabled"):
        Session.sign_in(c.store, "nurse.jo", "another good password")


def test_offline_edits_to_one_plan_conflict_then_merge_syncs_everywhere(pcs, hub_db: str) -> None:
    a, b, c = pcs(3)
    pid = a.session.patients.add(patient("Ffion", "Hughes", NHS[2]))
    base = save_draft(a.session, pid, LAYOUT, plan("Shouting"), None)
    sync_all([a, b, c])
    # Both PCs work offline from the same version.
    today = a.store.clock.now().date()
    va = sign_plan(a.session, pid, LAYOUT, plan("Shouting", "Drinking alone"), base, agreed_with_person=True,
                   agreed_on=today, review_due=today.replace(year=2099))  # fmt: skip
    vb = save_draft(b.session, pid, LAYOUT, plan("Shouting", "Giving things away"), base)
    sync_all([a, b, c])

    for pc in (a, b, c):
        state = load_plan(pc.session, pid, audit_view=False)
        assert set(state.heads) == {va, vb}  # both kept
        assert state.in_conflict
        assert status.read(pc.store).needs_attention == 1
        pc.session.patients.reload()
        row = next(r for r in caseload(pc.session) if r.record_id == pid)
        assert row.needs_attention

    # The clinician on C compares and saves a merge naming both versions as parents.
    state = load_plan(c.session, pid, audit_view=False)
    merged = c.session.records.append(
        state.record_id,
        plan("Shouting", "Drinking alone", "Giving things away").to_payload(),
        status="revision",
        parents=sorted(state.heads),
    )
    sync_all([a, b, c])
    for pc in (a, b, c):
        state = load_plan(pc.session, pid, audit_view=False)
        assert state.heads == (merged,)
        assert status.read(pc.store).needs_attention == 0
        # The signed agreement is not merged away: it is still the plan in use until the merge is signed.
        assert state.agreed.version_id == va
    assert a.versions() == b.versions() == c.versions()


def test_a_first_plan_written_offline_on_two_pcs_is_one_plan_in_conflict(pcs, hub_db: str) -> None:
    """Neither PC had a plan for the person, so each began one: they are the same plan (the record of
    a one-per-patient kind has the same id everywhere), both versions are heads, and a merge joins
    them. Before, each PC made a record of its own and the second was never shown on either."""
    a, b = pcs(2)
    pid = a.session.patients.add(patient("Gethin", "Morgan", NHS[3]))
    sync_all([a, b])
    va = save_draft(a.session, pid, LAYOUT, plan("Stops answering the phone"), None)
    vb = save_draft(b.session, pid, LAYOUT, plan("Sleeping in the car"), None)
    sync_all([a, b])

    for pc in (a, b):
        assert len(pc.session.records.of_patient(pid, "safety_plan")) == 1
        state = load_plan(pc.session, pid, audit_view=False)
        assert set(state.heads) == {va, vb} and state.in_conflict
        assert status.read(pc.store).needs_attention == 1
    state = load_plan(b.session, pid, audit_view=False)
    merged = save_draft(b.session, pid, LAYOUT, plan("Stops answering the phone", "Sleeping in the car"), vb,
                        merge_of=state.heads)  # fmt: skip
    sync_all([a, b])
    for pc in (a, b):
        state = load_plan(pc.session, pid, audit_view=False)
        assert state.heads == (merged,)
        assert {v.version_id for v in state.history} == {va, vb, merged}
    assert a.versions() == b.versions()


def test_one_person_registered_on_two_pcs_offline_is_one_patient_with_one_plan(pcs, hub_db: str) -> None:
    """The same person (NHS number and date of birth) added on two PCs while offline: one patient record
    whose two first versions need attention (saving the details joins them), and the plans each PC began
    are one plan with two heads, not two patients with the plan split between them."""
    a, b = pcs(2)
    pa = a.session.patients.add(patient("Alys", "Evans", NHS[0]))
    pb = b.session.patients.add(patient("Alice", "Evans", NHS[0]))  # spelt differently at the front desk
    assert pa == pb
    va = save_draft(a.session, pa, LAYOUT, plan("Stops answering the phone"), None)
    vb = save_draft(b.session, pb, LAYOUT, plan("Sleeping in the car"), None)
    sync_all([a, b])

    for pc in (a, b):
        pc.session.patients.reload()
        assert [p.record_id for p in pc.session.patients.all()] == [pa]
        assert pc.session.patients.get(pa).needs_attention  # two first versions of the details
        assert set(load_plan(pc.session, pa, audit_view=False).heads) == {va, vb}
        assert next(r for r in caseload(pc.session) if r.record_id == pa).needs_attention
    b.session.patients.update(pa, patient("Alys", "Evans", NHS[0]))  # the details form, saved: one head again
    sync_all([a, b])
    for pc in (a, b):
        pc.session.patients.reload()
        found = pc.session.patients.get(pa)
        assert not found.needs_attention and found.details.given_name == "Alys"
    # The same NHS number with another date of birth (a typing slip on one PC) stays two records, and
    # both PCs flag both for a clinician to check.
    one = a.session.patients.add(PatientDetails("Bryn", "Jones", date(1990, 1, 2), NHS[1]))
    two = b.session.patients.add(PatientDetails("Bryn", "Jones", date(1990, 2, 1), NHS[1]))
    assert one != two
    sync_all([a, b])
    for pc in (a, b):
        pc.session.patients.reload()
        assert pc.session.patients.sharing_nhs_number() == {one: (two,), two: (one,)}
        assert {r.record_id for r in caseload(pc.session) if r.shares_nhs_number} == {one, two}


def test_hub_dump_holds_no_plaintext(pcs, hub_db: str, tmp_path: Path) -> None:
    a, b = pcs(2)
    pid = a.session.patients.add(patient("Zebedee", "Quartermaine", NHS[3]))
    sync_all([a, b])
    save_draft(b.session, pid, LAYOUT, plan("Xylophone lessons calm me", "پریشانی"), None)
    b.session.record_event("print", patient_id=pid, detail="printed for Zebedee Quartermaine")
    sync_all([a, b])
    dump = tmp_path / "hub.sql"
    subprocess.run([str(find_bindir() / "pg_dump"), "--dbname", hub_db, "-f", str(dump)], check=True,
                   env={**os.environ, "PGCONNECT_TIMEOUT": "10"})  # fmt: skip
    data = dump.read_bytes()
    assert b"COPY public.versions" in data and len(data) > 10_000  # the dump has the rows
    for secret in ("Zebedee", "Quartermaine", NHS[3], "943 476 5854", "Xylophone", "پریشانی", "1984-05-17"):
        assert secret.encode() not in data, secret
        assert secret.encode("utf-16-le") not in data, secret


def test_corrupted_version_on_hub_is_refused_and_the_rest_syncs(pcs, hub_db: str) -> None:
    a, b = pcs(2)
    p1 = a.session.patients.add(patient("Alys", "Evans", NHS[0]))
    p2 = a.session.patients.add(patient("Bryn", "Jones", NHS[1]))
    v1 = save_draft(a.session, p1, LAYOUT, plan("one"), None)
    v2 = save_draft(a.session, p1, LAYOUT, plan("two"), v1)  # follows the damaged one
    v3 = save_draft(a.session, p2, LAYOUT, plan("three"), None)
    a.sync()
    with psycopg.connect(hub_db) as conn:  # the DBA's access: flip one byte of one ciphertext
        # set_byte, not a hex round trip: to_hex of a byte below 16 has one digit, which decode refuses
        before = conn.execute("SELECT payload FROM versions WHERE version_id = %s", (v1,)).fetchone()[0]
        conn.execute(
            "UPDATE versions SET payload = set_byte(payload, 40, get_byte(payload, 40) # 1) WHERE version_id = %s",
            (v1,),
        )
        after = conn.execute("SELECT payload FROM versions WHERE version_id = %s", (v1,)).fetchone()[0]
        assert sum(x != y for x, y in zip(before, after, strict=True)) == 1
    report = b.sync()
    assert len(report.rejected) == 2  # the damaged version, and the one built on it
    assert any("does not authenticate" in r for r in report.rejected)
    assert b.versions() >= {v for v in a.versions() if v[0] == v3}
    ids = {v for v, _ in b.versions()}
    assert v3 in ids and v1 not in ids and v2 not in ids
    st = status.read(b.store)
    assert st.rejected == 2
    assert any("not applied" in p for p in status.problems(b.store))
    b.sync()  # reported once, not retried forever; later work still flows
    p3 = a.session.patients.add(patient("Carys", "Price", NHS[2]))
    a.sync()
    assert b.sync().pulled >= 1
    b.session.patients.reload()
    assert p3 in {p.record_id for p in b.session.patients.all()}


def test_hub_cannot_move_a_record_to_another_patient_or_promote_an_account(pcs, hub_db: str) -> None:
    a, b = pcs(2)
    p1 = a.session.patients.add(patient("Alys", "Evans", NHS[0]))
    p2 = a.session.patients.add(patient("Bryn", "Jones", NHS[1]))
    v = save_draft(a.session, p1, LAYOUT, plan("private words"), None)
    a.session.users.add("nurse.al", "clinician", "another good password")
    with psycopg.connect(hub_db) as conn:
        conn.execute("ALTER TABLE versions DISABLE TRIGGER ALL")
    a.sync()
    with psycopg.connect(hub_db) as conn:
        conn.execute("UPDATE versions SET patient_id = %s WHERE version_id = %s", (p2, v))
        conn.execute("UPDATE users SET role = 'admin' WHERE username = 'nurse.al'")
    report = b.sync()
    assert any("record's details do not authenticate" in r for r in report.rejected)
    assert any("account change does not authenticate" in r for r in report.rejected)
    assert v not in {x for x, _ in b.versions()}
    with pytest.raises(Exception, match="not right"):
        Session.sign_in(b.store, "nurse.al", "another good password")  # the tampered account never arrived


def test_enrolment_file_wrong_passphrase_reuse_and_occupied_folder(pcs, hub_db: str, tmp_path: Path) -> None:
    (a,) = pcs(1)
    file = tmp_path / "new-pc.enrol"
    with pytest.raises(InvalidInput, match="at least 12"):
        enrolment.export_file(a.session, hub_db, file, "short")
    assert not file.exists()
    enrolment.export_file(a.session, hub_db, file, PASSPHRASE)
    assert b"Trust" not in file.read_bytes() and hub_db.encode() not in file.read_bytes()
    with pytest.raises(InvalidInput, match="passphrase does not open"):
        enrolment.import_file(file, "not the passphrase", tmp_path / "b")
    assert not (tmp_path / "b" / "perfectcare.sqlite3").exists()
    with pytest.raises(StoreAlreadyExists):
        enrolment.import_file(file, PASSPHRASE, a.store.data_dir)
    enrolment.import_file(file, PASSPHRASE, tmp_path / "b")
    with pytest.raises(NotAllowed, match="already been used"):
        enrolment.import_file(file, PASSPHRASE, tmp_path / "c")
    assert not (tmp_path / "c" / "perfectcare.sqlite3").exists()
    # A damaged file says so.
    bad = tmp_path / "bad.enrol"
    bad.write_bytes(file.read_bytes()[:-5])
    with pytest.raises(InvalidInput, match="passphrase does not open"):
        enrolment.import_file(bad, PASSPHRASE, tmp_path / "d")
    bad.write_bytes(b"hello")
    with pytest.raises(InvalidInput, match="not a PerfectCare enrolment file"):
        enrolment.import_file(bad, PASSPHRASE, tmp_path / "d")


def test_a_clinician_cannot_enrol_and_a_second_store_cannot_take_the_hub(pcs, hub_db: str, tmp_path: Path) -> None:
    (a,) = pcs(1)
    a.session.users.add("nurse.jo", "clinician", "another good password")
    jo = Session.sign_in(a.store, "nurse.jo", "another good password")
    with pytest.raises(NotAllowed):
        enrolment.export_file(jo, hub_db, tmp_path / "x.enrol", PASSPHRASE)
    other, _ = Store.create(tmp_path / "other", "Other Trust", ADMIN, ADMIN_PASSWORD)
    with pytest.raises(NotAllowed, match="another store"):
        enrolment.init_hub(Session.sign_in(other, ADMIN, ADMIN_PASSWORD), hub_db)
    other.close()
    # Running init again on the first PC upgrades in place and keeps its enrolment.
    _, again = enrolment.init_hub(a.session, hub_db)
    assert len(hub_admin.list_devices(hub_address.parse(hub_db))) == 1
    assert again.device_id == hub_admin.list_devices(hub_address.parse(hub_db))[0][0]


def test_a_revoked_pc_keeps_its_work_queued(pcs, hub_db: str) -> None:
    a, b = pcs(2)
    b_device = next(d for d, label, _, _ in hub_admin.list_devices(hub_address.parse(hub_db)) if "first" not in label)
    hub_admin.revoke_device(hub_address.parse(hub_db), b_device)
    b.client.close()  # a new connection, as after a restart
    pid = b.session.patients.add(patient("Dai", "Morgan", NHS[3]))
    with pytest.raises(HubAccessRefused, match="revoked"):
        b.sync()
    assert status.read(b.store).waiting > 0
    b.session.patients.reload()
    assert pid in {p.record_id for p in b.session.patients.all()}  # nothing lost here
    assert a.sync().pulled == 0


def test_an_item_the_hub_refuses_for_good_is_parked_and_the_rest_goes(pcs, hub_db: str) -> None:
    a, b = pcs(2)
    with psycopg.connect(hub_db) as conn:  # a DBA's limit on version size
        conn.execute("ALTER TABLE versions ADD CONSTRAINT dba_size CHECK (octet_length(payload) < 20000)")
    p1 = a.session.patients.add(patient("Alys", "Evans", NHS[0]))
    save_draft(a.session, p1, LAYOUT, plan("x" * 3000, "y" * 3000, "z" * 3000, "w" * 3000, "v" * 3000, "u" * 3000,
                                           "t" * 3000), None)  # fmt: skip
    p2 = a.session.patients.add(patient("Bryn", "Jones", NHS[1]))
    report = a.sync()
    st = report.status
    assert st.parked == 1 and st.waiting == 0
    assert any("refused by the hub" in p for p in status.problems(a.store))
    b.sync()
    b.session.patients.reload()
    assert {p1, p2} <= {p.record_id for p in b.session.patients.all()}
    assert a.sync().pushed == 0  # a parked item is not retried every round


def test_machine_policy_hub_address_overrides_the_enrolment(pcs, hub_db: str) -> None:
    """When the hub moves, IT pushes its new address as policy; the PC's own credentials still apply."""
    (a,) = pcs(1)
    moved = SyncClient(a.store, "postgresql://someone:else@127.0.0.1:9/perfectcare")
    with pytest.raises(HubUnreachable, match="127.0.0.1:9/perfectcare"):
        moved.round(a.session.require_unlocked())
    port, db = hub_db.rsplit(":", 1)[1].split("/")
    same = SyncClient(a.store, f"postgresql://127.0.0.1:{port}/{db}")  # no credentials in policy: the PC's own
    assert same.round(a.session.require_unlocked()).status.waiting == 0
    same.close()

"""The access report (issue 16 part 8): audit entries from every PC reach the admins' PCs through the
hub, each checked against its chain; the report for one person says who did what, on which PC, when."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest
from sync_support import PASSPHRASE, Pc, first_pc, patient, plan
from testsupport import ADMIN, admin_cli

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import save_draft
from perfectcare_desktop.core.storage.access_report import access_report, to_csv
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.errors import NotAllowed, NotFound
from perfectcare_desktop.sync import enrolment, status

NURSE, NURSE_PASSWORD = "nevans", "lantern harbour quietly"
NHS = "9434765919"
WARNING_SIGN = "Pacing the corridor at night"


def admin_sync(pc: Pc):
    """A round as the app and `perfectcare-admin sync` run it: an admin's PC pulls every PC's audit trail."""
    return pc.client.round(pc.session.require_unlocked(), admin=pc.session.is_admin)


def join_as(admin: Session, hub_url: str, folder: Path, label: str, user: str, password: str) -> Pc:
    file = folder.with_name(folder.name + ".enrol")
    enrolment.export_file(admin, hub_url, file, PASSPHRASE, label)
    enrolment.import_file(file, PASSPHRASE, folder)
    store = Store.open(folder)
    return Pc(store, Session.sign_in(store, user, password))


@pytest.fixture
def ward(tmp_path: Path, hub_db: str):
    """PC A (an admin's) and PC B ('Ward 5 PC 2', a clinician's): the clinician opens and prints a plan."""
    a = first_pc(tmp_path / "pc_a", hub_db)
    a.session.users.add(NURSE, "clinician", NURSE_PASSWORD, "Nia Evans")
    pid = a.session.patients.add(patient("Siân", "Roberts", NHS))
    save_draft(a.session, pid, load_catalogue().latest(), plan(WARNING_SIGN), None)
    a.sync()
    b = join_as(a.session, hub_db, tmp_path / "pc_b", "Ward 5 PC 2", NURSE, NURSE_PASSWORD)
    b.session.patients.get(pid)  # viewed
    b.session.record_event("print", patient_id=pid, detail="pdf a4")
    b.sync()
    yield a, b, pid
    a.close()
    b.close()


def test_the_admin_sees_what_a_clinician_did_on_another_pc(ward) -> None:
    a, b, pid = ward
    admin_sync(a)
    report = access_report(a.session, NHS)
    on_b = [e for e in report.events if e.pc == "Ward 5 PC 2"]
    assert {e.action for e in on_b} >= {"view", "print"}
    printed = next(e for e in on_b if e.action == "print")
    assert printed.who == f"Nia Evans ({NURSE})" and printed.what == "Printed" and printed.detail == "PDF, a4"
    assert str(printed.at.tzinfo) == "Europe/London"
    # This PC's own entries come back from the hub too: each is in the report once.
    mine = [e for e in report.events if e.pc.endswith("(this PC)")]
    assert [e.action for e in mine].count("create") == 2  # the patient and the plan
    assert len(report.events) == len({(e.at, e.pc, e.action, e.who) for e in report.events})
    assert list(report.events) == sorted(report.events, key=lambda e: e.at, reverse=True)
    assert report.nhs_number == "943 476 5919" and report.patient_name == "Siân Roberts"
    text = to_csv(report).decode("utf-8")
    assert "Ward 5 PC 2" in text and "Nia Evans" in text
    assert WARNING_SIGN not in text
    # Running it is audited, and shows in the next report.
    again = access_report(a.session, NHS)
    assert again.events[0].action == "access_report" and again.events[0].pc.endswith("(this PC)")


def test_a_clinicians_pc_keeps_only_its_own_trail(ward) -> None:
    a, b, pid = ward
    a.session.record_event("view", patient_id=pid)
    admin_sync(a)
    admin_sync(b)
    with b.store.reading() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM hub_audit").scalar() == 0
    with pytest.raises(NotAllowed):
        access_report(b.session, NHS)


def test_an_audit_entry_edited_on_the_hub_is_refused_and_named(ward, hub_db: str) -> None:
    a, b, pid = ward
    with psycopg.connect(hub_db) as conn:  # the hub's owner turns the print into a view
        n = conn.execute(
            "UPDATE audit SET action = 'view' WHERE action = 'print' AND device_id <> "
            "(SELECT device_id FROM devices ORDER BY enrolled_at LIMIT 1)"
        ).rowcount
    assert n == 1
    round_ = admin_sync(a)
    assert any("does not authenticate" in line and "Ward 5 PC 2" in line for line in round_.rejected)
    problems = status.problems(a.store)
    assert any("An audit entry from the hub was not kept" in p and "Ward 5 PC 2" in p for p in problems)
    report = access_report(a.session, NHS)
    on_b = [e.action for e in report.events if e.pc == "Ward 5 PC 2"]
    assert "view" in on_b and "print" not in on_b  # the altered entry is not shown as either
    assert on_b.count("view") == 1
    # The entries after it still verify: their chain runs through the altered entry's MAC.
    b.session.record_event("export", patient_id=pid, detail="json export")
    b.sync()
    admin_sync(a)
    assert "export" in [e.action for e in access_report(a.session, NHS).events if e.pc == "Ward 5 PC 2"]


def test_an_unknown_patient_is_one_sentence(ward) -> None:
    a, _b, _pid = ward
    with pytest.raises(NotFound, match="No patient on this PC has NHS number 943 476 5870"):
        access_report(a.session, "9434765870")
    assert ADMIN


def _cli(folder: Path, *args: str):
    return admin_cli(folder, *args, "--user", ADMIN, user=False)


def test_the_cli_report_after_a_cli_sync(ward, tmp_path: Path) -> None:
    a, _b, _pid = ward
    folder = a.store.data_dir
    a.close()  # the CLI opens the store itself
    synced = _cli(folder, "sync")  # as an administrator: every PC's audit entries come too
    assert synced.returncode == 0, synced.stderr

    shown = _cli(folder, "audit", "report", "--patient", "943 476 5919")
    assert shown.returncode == 0, shown.stderr
    lines = [line for line in shown.stdout.splitlines() if "Ward 5 PC 2" in line]
    assert any("Nia Evans (nevans)" in line and "Printed" in line for line in lines), shown.stdout
    assert any("Viewed" in line for line in lines)
    assert WARNING_SIGN not in shown.stdout

    out = tmp_path / "report.csv"
    wrote = _cli(folder, "audit", "report", "--patient", NHS, "--csv", str(out))
    assert wrote.returncode == 0, wrote.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    text = out.read_text(encoding="utf-8-sig")
    assert "Ward 5 PC 2" in text and "Printed" in text and WARNING_SIGN not in text
    again = _cli(folder, "audit", "report", "--patient", NHS, "--csv", str(out))
    assert again.returncode == 1 and "--force" in again.stderr
    assert _cli(folder, "audit", "report", "--patient", NHS, "--csv", str(out), "--force").returncode == 0

    pdf = tmp_path / "report.pdf"
    made = _cli(folder, "audit", "report", "--patient", NHS, "--pdf", str(pdf), "--from", "2020-01-01")
    assert made.returncode == 0, made.stderr
    assert pdf.stat().st_mode & 0o777 == 0o600
    words = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Ward 5 PC 2" in words and "943 476 5919" in words and "Page 1 of" in words
    assert WARNING_SIGN not in words

    nothing = _cli(folder, "audit", "report", "--patient", NHS, "--from", "2000-01-01", "--to", "2000-12-31")
    assert nothing.returncode == 0 and "No access to this person's record is recorded" in nothing.stdout


@pytest.mark.parametrize(
    ("number", "says"),
    [("943 476 5918", "NHS number"), ("12345", "NHS number"), ("9434765870", "No patient on this PC has NHS number")],
)
def test_the_cli_refuses_a_bad_or_unknown_number_in_one_sentence(ward, tmp_path: Path, number: str, says: str) -> None:
    a, _b, _pid = ward
    folder = a.store.data_dir
    a.close()
    out = tmp_path / "report.csv"
    refused = _cli(folder, "audit", "report", "--patient", number, "--csv", str(out))
    assert refused.returncode == 1
    assert says in refused.stderr and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "Traceback" not in refused.stderr and not out.exists()


def test_a_hub_not_yet_upgraded_costs_the_round_nothing(ward, hub_db: str) -> None:
    """Before `hub init` is run again, the device group may not read the trail: the round completes,
    says what to do, and the report holds this PC's own entries."""
    a, _b, _pid = ward
    with psycopg.connect(hub_db) as conn:
        (group,) = conn.execute("SELECT value FROM hub_meta WHERE key = 'device_group'").fetchone()
        conn.execute(f'REVOKE SELECT ON devices FROM "{group}"')
        conn.execute(f'REVOKE SELECT ON audit FROM "{group}"')
        conn.execute(f'GRANT SELECT (device_id, stream, seq) ON audit TO "{group}"')
    round_ = admin_sync(a)
    assert any("hub init" in line for line in round_.rejected)
    report = access_report(a.session, NHS)
    assert not report.hub_entries and all(e.pc.endswith("(this PC)") for e in report.events)

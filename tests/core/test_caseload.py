"""The caseload's plan states and dates, through the plan-heads snapshot and the changes after it."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.patients.caseload import caseload
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.paths import db_path

ADMIN, PASSWORD = "admin1", "correct horse battery"


def states(session: Session) -> dict[str, tuple]:
    return {
        r.patient.details.given_name: (r.plan_state, r.review_due, r.followup_due, r.needs_attention)
        for r in caseload(session)
    }


def test_plan_changes_after_the_snapshot_show_up(store: Store, session: Session, data_dir: Path) -> None:
    ann = session.patients.add(PatientDetails("Ann", "Smith", date(1980, 1, 1), "943 476 5919"))
    session.patients.add(PatientDetails("Bob", "Jones", date(1981, 1, 1), "999 000 0018"))
    plan, first = session.records.create("safety_plan", ann, {"schema": "x"}, status="draft")
    assert states(Session.sign_in(store, ADMIN, PASSWORD)) == {
        "Ann": ("draft", None, None, False),
        "Bob": ("none", None, None, False),
    }  # snapshot written
    other = Session.sign_in(store, ADMIN, PASSWORD)
    other.records.append(plan, {"schema": "x"}, status="agreed", signed=True, review_due=date(2027, 2, 27),
                         followup_due=date(2026, 11, 30))  # fmt: skip
    assert states(Session.sign_in(store, ADMIN, PASSWORD))["Ann"] == (
        "agreed",
        date(2027, 2, 27),
        date(2026, 11, 30),
        False,
    )
    # Two PCs edited the same draft offline: two heads, flagged, never merged silently.
    other.records.append(plan, {"schema": "y"}, status="draft", parents=[first])
    assert states(Session.sign_in(store, ADMIN, PASSWORD))["Ann"][3] is True
    # A damaged snapshot is rebuilt from the records, with the same answer.
    conn = sqlite3.connect(db_path(data_dir))
    conn.execute("UPDATE snapshots SET payload = x'00' WHERE name = 'plan_heads'")
    conn.commit()
    conn.close()
    assert states(Session.sign_in(store, ADMIN, PASSWORD))["Ann"][3] is True


def test_two_records_with_one_nhs_number_both_need_attention_until_one_is_withdrawn(session: Session) -> None:
    """The same person registered on two PCs with different birth dates (or before sync) are two records
    with one NHS number: both are flagged; withdrawing one (its details entered in error) clears it."""
    session.patients.import_batch([(PatientDetails("Ann", "Smith", date(1980, 1, 1), "943 476 5919"), []),
                          (PatientDetails("Anne", "Smith", date(1980, 1, 10), "943 476 5919"), []),
                          (PatientDetails("Bob", "Jones", date(1981, 1, 1), "999 000 0018"), [])])  # fmt: skip
    rows = {r.patient.details.given_name: r for r in caseload(session)}
    assert rows["Ann"].shares_nhs_number and rows["Anne"].shares_nhs_number and not rows["Bob"].shares_nhs_number
    assert rows["Ann"].needs_attention and rows["Anne"].needs_attention and not rows["Bob"].needs_attention
    assert session.patients.sharing_nhs_number() == {rows["Ann"].record_id: (rows["Anne"].record_id,),
                                            rows["Anne"].record_id: (rows["Ann"].record_id,)}  # fmt: skip
    assert session.patients.others_with_nhs_number(rows["Ann"].record_id) == (rows["Anne"].record_id,)
    assert session.patients.others_with_nhs_number(rows["Bob"].record_id) == ()
    session.records.mark_entered_in_error(
        rows["Anne"].patient.version_id, "Registered twice; Ann Smith's record is kept"
    )
    rows = {r.patient.details.given_name: r for r in caseload(session)}
    assert (
        set(rows) == {"Ann", "Bob"} and not rows["Ann"].needs_attention and session.patients.sharing_nhs_number() == {}
    )
    assert session.patients.others_with_nhs_number(rows["Ann"].record_id) == ()

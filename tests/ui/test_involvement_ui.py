"""Involvement cross-check through the real widgets (issue 15, hazard 7): when a plan contact may be
someone the safety formulation records as not to be involved, the plan's sign dialog says so before
signing and the print dialog says so before printing, naming the contact as the plan has it."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialog
from test_main_window import ADMIN, PASSWORD
from test_plan_tab import on_dialog, patient_window
from test_print_warnings import answer, audit, dialog_for

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical import formulations
from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.plan_content import PlanContent, SectionContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import load_plan, save_draft, sign_plan
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.ui.main_window import MainWindow

LAYOUT = load_catalogue().latest()
F_LAYOUT = load_catalogue(layout_type=formulations.FORMULATION_LAYOUTS).latest()
SHOTS = os.environ.get("PERFECTCARE_SCREENSHOTS")  # a folder: the dialogs are saved there to look at


def a_plan() -> PlanContent:
    c = PlanContent.blank(LAYOUT, load_directory().ref)
    for key in ("warning_signs", "coping_alone", "reasons_for_living"):
        c.sections[key] = SectionContent([{"text": "Walk Bryn along the prom"}])
    c.sections["people_to_ask"] = SectionContent([
        {"name": "Joanna  SMITH", "relationship": "sister", "phone": "07700 900123", "notes": ""},
        {"name": "Dafydd", "relationship": "brother", "phone": "07700 900456", "notes": ""},
    ])  # fmt: skip
    return c


def not_involved(session: Session, pid: str, name: str) -> None:
    c = PlanContent.blank(F_LAYOUT, {}, schema=formulations.SCHEMA)
    c.sections["presenting"] = SectionContent([{"text": "Low since the eviction notice."}])
    c.sections["not_involved"] = SectionContent([{"name": name, "relationship": "", "notes": "Do not tell her."}])
    today = session.store.clock.now().date()
    formulations.sign_formulation(session, pid, F_LAYOUT, c, None, review_due=today + timedelta(days=28))


@pytest.fixture
def patient_store(store: Store) -> tuple[Store, str]:
    session = Session.sign_in(store, ADMIN, PASSWORD)
    pid = session.patients.add(PatientDetails("Gwenllian", "Llywelyn", date(1979, 5, 4), "943 476 5919"))
    save_draft(session, pid, LAYOUT, a_plan(), None)
    session.lock()
    return store, pid


def test_the_sign_dialog_names_a_contact_the_person_does_not_want_involved(
    qtbot, patient_store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, pid = patient_store
    win: MainWindow = patient_window(qtbot, store, tmp_path, monkeypatch)
    qtbot.keyClick(win, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)  # Safety &plan tab
    tab = win.patient_page.plan_tab
    # Recorded in the formulation after the plan tab loaded: the sign dialog reads it when it opens.
    not_involved(win.session, pid, "joanna smith")
    seen: list[tuple[bool, str]] = []

    def act(dialog: QDialog) -> None:
        try:
            banner = dialog.involvement  # type: ignore[attr-defined]
            seen.append((banner.isVisible(), banner.text()))
            if SHOTS:
                dialog.grab().save(str(Path(SHOTS) / "sign-involvement.png"))
        finally:
            dialog.reject()

    on_dialog(act)
    tab.sign_button.click()
    ((visible, text),) = seen
    assert visible and "'Joanna  SMITH' under 'People I can ask for help'" in text
    assert "possible match" in text and "names can be shared" in text and "Dafydd" not in text
    assert load_plan(win.session, pid, audit_view=False).agreed is None  # not signed: it was cancelled

    # Still the clinician's decision: they may sign anyway.
    def sign_anyway(dialog: QDialog) -> None:
        dialog.agreed_box.setChecked(True)  # type: ignore[attr-defined]
        dialog.ok.click()  # type: ignore[attr-defined]

    on_dialog(sign_anyway)
    tab.sign_button.click()
    qtbot.waitUntil(lambda: "Signed" in tab.message.text())
    assert load_plan(win.session, pid, audit_view=False).agreed is not None


def test_no_warning_in_the_sign_dialog_when_no_contact_matches(
    qtbot, patient_store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, pid = patient_store
    win: MainWindow = patient_window(qtbot, store, tmp_path, monkeypatch)
    not_involved(win.session, pid, "Joanna Evans")  # another Joanna
    qtbot.keyClick(win, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    seen: list[bool] = []

    def act(dialog: QDialog) -> None:
        try:
            seen.append(dialog.involvement.isVisible())  # type: ignore[attr-defined]
        finally:
            dialog.reject()

    on_dialog(act)
    win.patient_page.plan_tab.sign_button.click()
    assert seen == [False]


def test_print_names_the_contact_and_prints_only_when_confirmed(qtbot, session: Session, tmp_path: Path) -> None:
    pid = session.patients.add(PatientDetails("Siân", "Roberts", date(1991, 2, 3), "9434765919"))
    today = session.store.clock.now().date()
    sign_plan(session, pid, LAYOUT, a_plan(), None, agreed_with_person=True, agreed_on=today,
              review_due=date(2027, 2, 27))  # fmt: skip
    not_involved(session, pid, "Joanna")  # the given name only
    d = dialog_for(qtbot, session, pid)
    assert d.checks.isVisible()
    assert "'Joanna  SMITH' in the plan may be someone the person does not want involved ('Joanna')" in d.checks.text()
    assert "possible match" in d.checks.text()
    if SHOTS:
        d.grab().save(str(Path(SHOTS) / "print-involvement.png"))

    QTimer.singleShot(0, lambda: answer("Do not print"))
    qtbot.mouseClick(d.print_button, Qt.MouseButton.LeftButton)
    assert "Not printed" in d.message.text() and audit(session, pid, "print") == []

    saved = tmp_path / "copy.pdf"
    QTimer.singleShot(0, lambda: answer("Save anyway"))
    d.save_as(saved)
    assert saved.exists()
    assert audit(session, pid, "export") == ["pdf standard, confirmed despite not-involved"]  # the kind, no name

    # The clinician record is not a copy for the person: no question.
    d.variant.setCurrentIndex(d.variant.findData("clinician-record"))
    assert not d.checks.isVisible()

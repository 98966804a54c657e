"""Discharge and 72-hour follow-up through the real widgets (issue 15): the discharge dialog asks for the
time, the kind and who owns the follow-up; the follow-up dialog records a contact made, an attempt that
did not reach the person (with the next attempt due) or the person declining; bad input is refused in
words and saves nothing; a missed follow-up stays on the caseload; a declined offer carries the date to
offer the plan again, and formulation reviews reach the caseload too."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDialog, QLineEdit
from test_main_window import ADMIN, PASSWORD
from test_plan_tab import on_dialog, patient_window, reactivate

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.discharge import DISCHARGE_KIND, load_discharge, uk_local
from perfectcare_desktop.core.clinical.plans import DECLINED, load_plan
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.ui.main_window import MainWindow
from perfectcare_desktop.ui.plan_dialogs import DeclineDialog, DischargeDialog, FollowupDialog

SHOTS = os.environ.get("FOLLOWUP_SHOTS")  # a folder: each screen changed is saved there to look at


@pytest.fixture
def patient_store(store: Store) -> tuple[Store, str]:
    session = Session.sign_in(store, ADMIN, PASSWORD)
    pid = session.patients.add(PatientDetails("Gwenllian", "Llywelyn", date(1979, 5, 4), "943 476 5919"))
    session.lock()
    return store, pid


@pytest.fixture
def win(qtbot, patient_store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    w = patient_window(qtbot, patient_store[0], tmp_path, monkeypatch)
    qtbot.keyClick(w, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)  # Safety &plan tab
    return w


def shot(widget, name: str) -> None:  # noqa: ANN001
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(SHOTS) / f"{name}.png"))


def retype(qtbot, line: QLineEdit, text: str) -> None:
    line.selectAll()
    qtbot.keyClick(line, Qt.Key.Key_Backspace)
    qtbot.keyClicks(line, text)


def choose(qtbot, box: QComboBox, label: str) -> None:
    """Down-arrow through the box as a keyboard user does, until `label` is chosen."""
    box.setFocus()
    for _ in range(box.count()):
        if box.currentText() == label:
            return
        qtbot.keyClick(box, Qt.Key.Key_Down)
    raise AssertionError(label)


def ok(qtbot, dialog) -> None:  # noqa: ANN001
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)


def answer(qtbot, steps: Callable[[QDialog], None]) -> list[str]:
    """Run `steps` in the next modal dialog; the messages it showed on the way are returned."""
    seen: list[str] = []

    def act(dialog: QDialog) -> None:
        try:
            steps(dialog)
        finally:
            seen.append(dialog.message.text())  # type: ignore[attr-defined]
            if dialog.isVisible():
                dialog.reject()

    on_dialog(act)
    return seen


def versions(win: MainWindow, pid: str) -> int:
    found = win.session.records.of_patient(pid, DISCHARGE_KIND)
    return len(win.session.records.history(found[0][0])) if found else 0


def test_discharge_attempts_missed_and_made_through_the_dialogs(qtbot, win: MainWindow, patient_store, clock) -> None:
    store, pid = patient_store
    tab = win.patient_page.plan_tab
    clock.current = datetime(2026, 11, 27, 15, 0)
    messages: list[str] = []

    def discharge(d: DischargeDialog) -> None:
        assert d.day_line.text() == "27/11/2026" and d.time_line.text() == "15:00"  # now, UK time
        retype(qtbot, d.time_line, "16:30")  # later today: not yet happened
        ok(qtbot, d)
        messages.append(d.message.text())
        retype(qtbot, d.time_line, "11:00")
        ok(qtbot, d)  # no kind chosen
        messages.append(d.message.text())
        choose(qtbot, d.type_box, "Self-discharge / left against advice")
        ok(qtbot, d)  # no owner
        messages.append(d.message.text())
        qtbot.keyClicks(d.owner_line, "Home treatment team, Bangor")
        qtbot.keyClicks(d.note_line, "Left the ward before the review")
        shot(d, "discharge_dialog")
        ok(qtbot, d)

    on_dialog(discharge)
    qtbot.mouseClick(tab.discharge_button, Qt.MouseButton.LeftButton)
    assert "16:30 on 27/11/2026 is in the future" in messages[0]
    assert "Choose the kind of discharge" in messages[1] and "who owns the follow-up" in messages[2]
    d = load_discharge(win.session, pid)
    assert d is not None and d.discharged_at == datetime(2026, 11, 27, 11, 0) and d.owner.startswith("Home treat")
    text = tab.discharge_label.text()
    assert "Self-discharge" in text and "72-hour follow-up due by 11:00 on Mon 30 Nov 2026" in text
    reactivate(qtbot, win)

    # An attempt that did not reach the person: a time before the discharge is refused first.
    clock.current = datetime(2026, 11, 28, 10, 0)

    def attempt(f: FollowupDialog) -> None:
        choose(qtbot, f.outcome_box, "Attempted — not reached")
        retype(qtbot, f.day_line, "26/11/2026")
        ok(qtbot, f)
        messages.append(f.message.text())
        retype(qtbot, f.day_line, "28/11/2026")
        retype(qtbot, f.time_line, "09:15")
        ok(qtbot, f)  # no next attempt
        messages.append(f.message.text())
        qtbot.keyClicks(f.next_day_line, "28/11/2026")
        qtbot.keyClicks(f.next_time_line, "15:00")
        qtbot.keyClicks(f.note_line, "No answer; voicemail left")
        shot(f, "followup_dialog")
        ok(qtbot, f)

    on_dialog(attempt)
    qtbot.mouseClick(tab.followup_button, Qt.MouseButton.LeftButton)
    assert "cannot be before the discharge (11:00 on 27/11/2026)" in messages[3]
    assert "next attempt is due" in messages[4]
    assert versions(win, pid) == 2
    assert "1 attempt — not reached" in tab.discharge_label.text()
    assert "Next attempt due 15:00 on Sat 28 Nov 2026" in tab.discharge_label.text()
    shot(tab, "plan_tab_attempted")
    reactivate(qtbot, win)

    # A future time is refused and nothing is saved.
    seen = answer(qtbot, lambda f: (choose(qtbot, f.outcome_box, "Made"), retype(qtbot, f.time_line, "23:00"),
                                    ok(qtbot, f)))  # fmt: skip
    qtbot.mouseClick(tab.followup_button, Qt.MouseButton.LeftButton)
    assert "is in the future" in seen[0] and versions(win, pid) == 2
    reactivate(qtbot, win)

    # Days later, nothing more recorded: missed, in words, and still on the caseload.
    clock.current = datetime(2026, 12, 9, 9, 0)
    qtbot.keyClick(win, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)  # Go > Caseload
    page = win.caseload_page
    assert win.stack.currentWidget() is page
    labels = [page.filter_box.itemText(i) for i in range(page.filter_box.count())]
    page.filter_box.setCurrentIndex(labels.index("72-hour follow-up missed"))
    assert page.model.rowCount() == 1
    cell = page.model.index(0, 6).data()
    assert "MISSED — was due 11:00 30 Nov 2026" in cell and "1 attempt, not reached" in cell
    shot(page, "caseload_missed")


def test_the_missed_follow_up_is_recorded_as_made_late(qtbot, win: MainWindow, patient_store, clock) -> None:
    store, pid = patient_store
    tab = win.patient_page.plan_tab
    clock.current = datetime(2026, 11, 27, 15, 0)
    staff = win.session.users.staff_names()

    def discharge(d: DischargeDialog) -> None:
        choose(qtbot, d.type_box, "Planned discharge")
        choose(qtbot, d.owner_box, staff[win.session.user.user_id])
        assert not d.owner_line.isEnabled()
        ok(qtbot, d)

    on_dialog(discharge)
    qtbot.mouseClick(tab.discharge_button, Qt.MouseButton.LeftButton)
    assert load_discharge(win.session, pid).owner_user_id == win.session.user.user_id
    reactivate(qtbot, win)
    clock.current = datetime(2026, 12, 3, 12, 0)

    def made(f: FollowupDialog) -> None:
        choose(qtbot, f.outcome_box, "Made")
        assert not f.next_day_line.isEnabled()
        retype(qtbot, f.day_line, "03/12/2026")
        retype(qtbot, f.time_line, "11:45")
        ok(qtbot, f)

    on_dialog(made)
    qtbot.mouseClick(tab.followup_button, Qt.MouseButton.LeftButton)
    d = load_discharge(win.session, pid)
    assert d.made is not None and uk_local(d.made.at) == datetime(2026, 12, 3, 11, 45) and not d.open
    assert "(after the 72 hours)" in tab.discharge_label.text()
    shot(tab, "plan_tab_made_late")


def test_a_declined_offer_carries_the_date_to_offer_again(qtbot, win: MainWindow, patient_store, clock) -> None:
    store, pid = patient_store
    tab = win.patient_page.plan_tab
    today = clock.now().date()
    messages: list[str] = []

    def decline(d: DeclineDialog) -> None:
        assert d.reoffer_line.text() == "27/12/2026"  # a month on, to be changed as agreed
        retype(qtbot, d.reoffer_line, today.strftime("%d/%m/%Y"))
        ok(qtbot, d)
        messages.append(d.message.text())
        retype(qtbot, d.reoffer_line, (today + timedelta(days=14)).strftime("%d/%m/%Y"))
        qtbot.keyClicks(d.reason_edit, "Not today; happy to talk again in two weeks")
        shot(d, "decline_dialog")
        ok(qtbot, d)

    on_dialog(decline)
    qtbot.mouseClick(tab.decline_button, Qt.MouseButton.LeftButton)
    assert "after the date it was offered" in messages[0]
    current = load_plan(win.session, pid).current
    assert current.status == DECLINED and current.review_due == today + timedelta(days=14)
    assert "Offer again by 11 Dec 2026" in tab.status.text()
    # The formulation's review reaches the caseload beside the re-offer date; past ones say "overdue".
    reactivate(qtbot, win)
    qtbot.keyClick(win, Qt.Key.Key_M, Qt.KeyboardModifier.AltModifier)  # Safety for&mulation
    ftab = win.patient_page.formulation_tab
    ftab.editor.first_field().setFocus()
    qtbot.keyClicks(ftab.editor.first_field(), "Thoughts most evenings")

    def sign(d: QDialog) -> None:
        retype(qtbot, d.date_line, (today + timedelta(days=7)).strftime("%d/%m/%Y"))  # type: ignore[attr-defined]
        ok(qtbot, d)

    on_dialog(sign)
    qtbot.mouseClick(ftab.sign_button, Qt.MouseButton.LeftButton)
    reactivate(qtbot, win)
    clock.current += timedelta(days=10)
    qtbot.keyClick(win, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)  # Go > Caseload
    page = win.caseload_page
    assert win.stack.currentWidget() is page
    labels = [page.filter_box.itemText(i) for i in range(page.filter_box.count())]
    page.filter_box.setCurrentIndex(labels.index("Review overdue"))
    assert page.model.rowCount() == 1
    cell = page.model.index(0, 5).data()
    assert cell == "Formulation review overdue since 04 Dec 2026; Re-offer plan by 11 Dec 2026"
    shot(page, "caseload_reviews")

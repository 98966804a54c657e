"""Every button of every dialog, pressed as a person presses it: a real mouse click on the real widget
(or its real key), never a call to the slot behind it, and the effect checked (issue 14).

A defect shipped because tests called slots directly: the print dialog's Print and Save buttons passed
clicked(bool)'s False into print_(printer) and did nothing for users while every test passed. Here each
dialog is opened as the app opens it (its button, its menu action, its key), the button is clicked, and
what the button is for is checked: the dialog closed with the right result, a version saved, a file
written, a user added. A modal dialog is answered from a timer; if the button does nothing, a safety net
closes the dialog after a few seconds and says so, so the test fails instead of hanging.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QInputDialog,
    QLineEdit,
    QMenu,
    QMessageBox,
    QWidget,
    QWizard,
)
from test_main_window import ADMIN, PASSWORD, IdleClock
from test_plan_tab import reactivate
from test_setup_wizard import as_key, make_wizard, themed, walk_to_recovery  # noqa: F401 - fixtures used by name

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical import formulations
from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.discharge import DISCHARGE_KIND, MADE, PLANNED, load_discharge
from perfectcare_desktop.core.clinical.plan_content import PlanContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import (
    AGREED,
    DECLINED,
    ENDED,
    add_months,
    load_plan,
    save_draft,
    sign_plan,
)
from perfectcare_desktop.core.clinical.statuses import ENTERED_IN_ERROR
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.errors import LoginFailed
from perfectcare_desktop.export import batch
from perfectcare_desktop.ui.about import AboutDialog
from perfectcare_desktop.ui.admin_page import AddUserDialog, AdminPage, EnableUserDialog, ResetPasswordDialog
from perfectcare_desktop.ui.batch_print import BatchPrintDialog
from perfectcare_desktop.ui.main_window import MainWindow
from perfectcare_desktop.ui.operation import Operations
from perfectcare_desktop.ui.plan_dialogs import (
    DeclineDialog,
    DischargeDialog,
    FollowupDialog,
    ReasonDialog,
    SignDialog,
    SignFormulationDialog,
)
from perfectcare_desktop.ui.plan_history import CompareDialog, VersionDialog
from perfectcare_desktop.ui.print_dialog import PrintDialog
from perfectcare_desktop.ui.setup_wizard import SetupWizard

LAYOUT = load_catalogue().latest()
NHS = "943 476 5919"
LEFT = Qt.MouseButton.LeftButton
SAFETY_NET_MS = 5000


# --- clicking ------------------------------------------------------------------------------------------
def click(qtbot: Any, button: QAbstractButton) -> None:
    """A left click on a button a person can see and press (a hidden or disabled one is a failure here)."""
    assert button.isVisible(), f"{button.text()!r} is not on screen"
    assert button.isEnabled(), f"{button.text()!r} is disabled"
    qtbot.mouseClick(button, LEFT)


def tick(qtbot: Any, box: QAbstractButton) -> None:
    """Click a check box on its tick box, where a person clicks (the widget may be wider than its text)."""
    qtbot.mouseClick(box, LEFT, pos=QPoint(8, box.height() // 2))


class Answer:
    """Acts on the next modal dialog of `kind` once it is up (exec() blocks the test until it closes).

    If the dialog is still open `SAFETY_NET_MS` after `act` ran (its button did nothing), it is closed
    and `hung` says so: the test fails on `check()` instead of hanging."""

    def __init__(self, kind: type[QWidget], act: Callable[[Any], None]) -> None:
        self.kind, self.act = kind, act
        self.dialog: Any = None
        self.hung = False
        self.error: BaseException | None = None
        self._stopped = False
        self._deadline = time.monotonic() + SAFETY_NET_MS / 1000
        QTimer.singleShot(0, self._run)

    def _run(self) -> None:
        if self._stopped:
            return
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, self.kind) or not dialog.isVisible():
            if time.monotonic() < self._deadline:
                QTimer.singleShot(10, self._run)
            elif isinstance(dialog, QDialog):  # some other dialog came up instead: close it, never hang
                self.hung = True
                dialog.done(QDialog.DialogCode.Rejected)
            return
        self.dialog = dialog
        QTimer.singleShot(SAFETY_NET_MS, dialog, lambda: self._net(dialog))
        try:
            self.act(dialog)
        except BaseException as exc:  # noqa: BLE001 - reported by check(), after the dialog is closed
            self.error = exc
            self._net(dialog)

    def _net(self, dialog: QDialog) -> None:
        if dialog.isVisible():
            self.hung = True
            dialog.done(QDialog.DialogCode.Rejected)

    def check(self) -> Any:
        """The dialog came up, and the button closed it (no safety net needed)."""
        self._stopped = True  # never left waiting to answer a later test's dialog
        if self.error is not None:
            raise self.error
        assert self.dialog is not None, f"no {self.kind.__name__} came up (hung: {self.hung})"
        assert not self.hung, f"the {self.kind.__name__} stayed open after its button was clicked"
        return self.dialog


def box_button(dialog: QDialog, which: QDialogButtonBox.StandardButton) -> QAbstractButton:
    box = dialog.findChild(QDialogButtonBox)
    assert box is not None
    button = box.button(which)
    assert button is not None
    return button


def message_button(box: QMessageBox, text: str) -> QAbstractButton:
    return next(b for b in box.buttons() if b.text().replace("&", "") == text)


# --- the clinicians' window ----------------------------------------------------------------------------
def plan_with(*warning_signs: str) -> PlanContent:
    content = PlanContent.blank(LAYOUT, load_directory().ref)
    content.section("warning_signs").entries = [{"text": t} for t in warning_signs]
    return content


def add_patient(store: Store) -> tuple[Session, str]:
    session = Session.sign_in(store, ADMIN, PASSWORD)
    return session, session.patients.add(PatientDetails("Gwenllian", "Llywelyn", date(1979, 5, 4), NHS))


def window(qtbot: Any, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    """The clinicians' window on the sign-in page. QMessageBox.question is NOT answered for the test: a
    question that comes up is answered by clicking its real button."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    w = MainWindow(store, Operations(synchronous=True), {"idle_lock_minutes": 5}, idle_clock=IdleClock())
    qtbot.addWidget(w)
    w.show()
    reactivate(qtbot, w)
    return w


def sign_in_by_button(qtbot: Any, w: MainWindow) -> None:
    page = w.login_page
    qtbot.waitUntil(page.sign_in.isEnabled)
    page.username.clear()
    qtbot.keyClicks(page.username, ADMIN)
    qtbot.keyClicks(page.password, PASSWORD)
    click(qtbot, page.sign_in)


def open_patient(qtbot: Any, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    w = window(qtbot, store, tmp_path, monkeypatch)
    sign_in_by_button(qtbot, w)
    assert w.session is not None
    qtbot.keyClick(w.caseload_page.search_box, Qt.Key.Key_Return)  # the only patient opens at once
    assert w.stack.currentWidget() is w.patient_page
    return w


def versions(w: MainWindow, pid: str) -> list[Any]:
    return load_plan(w.session, pid, audit_view=False).history


# --- sign-in, Help ---------------------------------------------------------------------------------------
def test_sign_in_about_close_and_the_shortcuts_box(qtbot, store: Store, tmp_path: Path, monkeypatch) -> None:
    w = window(qtbot, store, tmp_path, monkeypatch)
    sign_in_by_button(qtbot, w)
    assert w.session is not None and w.stack.currentWidget() is w.caseload_page  # Sign in signed in

    about = Answer(AboutDialog, lambda d: click(qtbot, box_button(d, QDialogButtonBox.StandardButton.Close)))
    next(a for a in w.actions() if a.text() == "&About / managed settings").trigger()  # Help > About
    dialog = about.check()
    assert dialog.result() == QDialog.DialogCode.Rejected and not dialog.isVisible()

    seen: list[str] = []

    def ok(box: QMessageBox) -> None:
        seen.append(box.text())
        click(qtbot, box.button(QMessageBox.StandardButton.Ok))

    reactivate(qtbot, w)  # offscreen, no window is active after a modal dialog closes
    shortcuts = Answer(QMessageBox, ok)
    qtbot.keyClick(w, Qt.Key.Key_F1)  # Help > Keyboard shortcuts
    shortcuts.check()
    assert "Print or save" in seen[0] or "Ctrl+P" in seen[0]


def test_quit_with_an_unsaved_patient_form_asks_no_then_yes(qtbot, store: Store, tmp_path: Path,
                                                            monkeypatch) -> None:  # fmt: skip
    w = window(qtbot, store, tmp_path, monkeypatch)
    sign_in_by_button(qtbot, w)
    qtbot.keyClick(w, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)  # File > New patient
    assert w.stack.currentWidget() is w.form_page
    qtbot.keyClicks(w.form_page.given, "Nia")
    asked: list[str] = []

    def answer(which: QMessageBox.StandardButton) -> Callable[[QMessageBox], None]:
        def act(box: QMessageBox) -> None:
            asked.append(box.text())
            click(qtbot, box.button(which))

        return act

    try:
        stay = Answer(QMessageBox, answer(QMessageBox.StandardButton.No))
        qtbot.keyClick(w, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)  # File > Quit
        stay.check()
        assert "has not been saved" in asked[0]
        assert w.isVisible() and w.session is not None and not w.session.locked  # No: nothing closed
        reactivate(qtbot, w)
        leave = Answer(QMessageBox, answer(QMessageBox.StandardButton.Yes))
        qtbot.keyClick(w, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        leave.check()
        assert not w.isVisible() and w.session is not None and w.session.locked  # Yes: quit, locked
    finally:
        w.form_page.given.setText("")  # never a question at teardown


@pytest.mark.qt_log_ignore("This plugin does not support raise", "This plugin does not support grabbing the keyboard")
def test_view_menu_theme_items_by_mouse(qtbot, themed, store: Store, tmp_path: Path, monkeypatch) -> None:  # noqa: F811
    """View > Light theme / High-contrast theme, clicked in the open menu. triggered(bool) used to hand
    `checked` to the slot's default parameter (the theme's name): KeyError True, the theme never changed."""
    w = window(qtbot, store, tmp_path, monkeypatch)
    view = next(m for m in w.menuBar().findChildren(QMenu) if m.title() == "&View")

    def choose(text: str) -> None:
        action = next(a for a in view.actions() if a.text() == text)
        view.popup(w.mapToGlobal(QPoint(10, 10)))
        qtbot.waitUntil(view.isVisible)
        qtbot.mouseClick(view, LEFT, pos=view.actionGeometry(action).center())
        qtbot.waitUntil(lambda: not view.isVisible())

    choose("&High-contrast theme")
    assert w.settings.get("theme") == "high-contrast" and w.theme_actions["high-contrast"].isChecked()
    choose("&Light theme")
    assert w.settings.get("theme") == "light" and w.theme_actions["light"].isChecked()


# --- the plan tab's dialogs ------------------------------------------------------------------------------
def test_sign_and_end_plan_dialogs_cancel_and_confirm(qtbot, store: Store, tmp_path: Path, monkeypatch) -> None:
    _session, pid = add_patient(store)
    w = open_patient(qtbot, store, tmp_path, monkeypatch)
    qtbot.keyClick(w, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)  # Safety &plan
    tab = w.patient_page.plan_tab
    qtbot.keyClicks(tab.editor.first_field(), "I stop answering my phone")
    qtbot.keyClick(tab.editor.first_field(), Qt.Key.Key_Return)

    # Sign as agreed… then Cancel: nothing is signed or saved.
    cancel = Answer(SignDialog, lambda d: click(qtbot, box_button(d, QDialogButtonBox.StandardButton.Cancel)))
    click(qtbot, tab.sign_button)
    assert cancel.check().result() == QDialog.DialogCode.Rejected
    assert not versions(w, pid)

    # Sign as agreed, unticked: refused in words, the dialog stays; ticked: signed as a new version.
    refused: list[str] = []

    def sign(d: SignDialog) -> None:
        click(qtbot, d.ok)
        refused.append(d.message.text())
        assert d.isVisible()
        tick(qtbot, d.agreed_box)
        assert d.agreed_box.isChecked()
        click(qtbot, d.ok)

    signed = Answer(SignDialog, sign)
    click(qtbot, tab.sign_button)
    assert signed.check().result() == QDialog.DialogCode.Accepted
    assert "agreed with the person" in refused[0]
    history = versions(w, pid)
    assert [v.status for v in history] == [AGREED] and history[0].signed
    assert "Signed" in tab.message.text()
    reactivate(qtbot, w)

    # End plan… Cancel: still agreed. End plan with a reason: ended, kept in history.
    cancel = Answer(ReasonDialog, lambda d: click(qtbot, box_button(d, QDialogButtonBox.StandardButton.Cancel)))
    click(qtbot, tab.end_button)
    cancel.check()
    assert [v.status for v in versions(w, pid)] == [AGREED]

    def end(d: ReasonDialog) -> None:
        click(qtbot, d.ok)  # no reason: refused
        assert d.isVisible() and "Say why" in d.message.text()
        qtbot.keyClicks(d.reason_line, "Moved out of area")
        click(qtbot, d.ok)

    ended = Answer(ReasonDialog, end)
    click(qtbot, tab.end_button)
    assert ended.check().result() == QDialog.DialogCode.Accepted
    history = versions(w, pid)
    assert [v.status for v in history] == [AGREED, ENDED]
    assert "Moved out of area" in str(history[-1].payload)


def test_decline_discharge_and_follow_up_dialogs(qtbot, store: Store, tmp_path: Path, monkeypatch) -> None:
    session, pid = add_patient(store)
    w = open_patient(qtbot, store, tmp_path, monkeypatch)
    qtbot.keyClick(w, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    tab = w.patient_page.plan_tab

    cancel = Answer(DeclineDialog, lambda d: click(qtbot, box_button(d, QDialogButtonBox.StandardButton.Cancel)))
    click(qtbot, tab.decline_button)
    cancel.check()
    assert not versions(w, pid)

    def record(d: DeclineDialog) -> None:
        qtbot.keyClicks(d.reason_edit, "Wants to think about it")
        click(qtbot, d.ok)

    declined = Answer(DeclineDialog, record)
    click(qtbot, tab.decline_button)
    assert declined.check().result() == QDialog.DialogCode.Accepted
    history = versions(w, pid)
    assert [v.status for v in history] == [DECLINED]
    assert history[0].payload["declined"]["reason"] == "Wants to think about it"
    reactivate(qtbot, w)

    cancel = Answer(DischargeDialog, lambda d: click(qtbot, box_button(d, QDialogButtonBox.StandardButton.Cancel)))
    click(qtbot, tab.discharge_button)
    cancel.check()
    assert load_discharge(w.session, pid) is None

    def discharge(d: DischargeDialog) -> None:
        d.type_box.setCurrentIndex(d.type_box.findData(PLANNED))
        qtbot.keyClicks(d.owner_line, "Home treatment team, Bangor")
        qtbot.keyClicks(d.note_line, "Home with her sister")
        click(qtbot, d.ok)

    discharged = Answer(DischargeDialog, discharge)
    click(qtbot, tab.discharge_button)
    assert discharged.check().result() == QDialog.DialogCode.Accepted
    recorded = load_discharge(w.session, pid)
    assert recorded is not None and recorded.note == "Home with her sister" and recorded.made is None
    assert "Recorded." in tab.message.text()
    reactivate(qtbot, w)

    cancel = Answer(FollowupDialog, lambda d: click(qtbot, box_button(d, QDialogButtonBox.StandardButton.Cancel)))
    click(qtbot, tab.followup_button)
    cancel.check()
    recorded = load_discharge(w.session, pid)
    assert recorded is not None and recorded.contacts == ()

    def made(d: FollowupDialog) -> None:
        d.outcome_box.setCurrentIndex(d.outcome_box.findData(MADE))
        click(qtbot, d.ok)

    followed = Answer(FollowupDialog, made)
    click(qtbot, tab.followup_button)
    followed.check()
    recorded = load_discharge(w.session, pid)
    assert recorded is not None and recorded.made is not None
    assert recorded.followup_done_on == session.store.clock.now().date()

    # History > View version on a discharge line: said in a box whose OK closes it.
    reactivate(qtbot, w)
    page = w.patient_page
    qtbot.keyClick(w, Qt.Key.Key_Y, Qt.KeyboardModifier.AltModifier)  # Histor&y
    page.history.selectRow(next(i for i, v in enumerate(page.history_versions) if v.kind == DISCHARGE_KIND))
    told: list[str] = []

    def ok(box: QMessageBox) -> None:
        told.append(box.text())
        click(qtbot, box.button(QMessageBox.StandardButton.Ok))

    listed = Answer(QMessageBox, ok)
    click(qtbot, page.view_button)
    listed.check()
    assert "listed in the history itself" in told[0]


# --- the formulation tab's dialogs --------------------------------------------------------------------------
def test_formulation_sign_addendum_and_persons_view(qtbot, store: Store, tmp_path: Path, monkeypatch) -> None:
    _session, pid = add_patient(store)
    w = open_patient(qtbot, store, tmp_path, monkeypatch)
    qtbot.keyClick(w, Qt.Key.Key_M, Qt.KeyboardModifier.AltModifier)  # Safety for&mulation
    tab = w.patient_page.formulation_tab
    assert w.patient_page.tabs.currentWidget() is tab
    tab.editor.first_field().setFocus()
    qtbot.keyClicks(tab.editor.first_field(), "Thinks about ending her life most evenings")

    def state() -> formulations.FormulationState:
        return formulations.load_formulation(w.session, pid, audit_view=False)

    cancel = Answer(SignFormulationDialog,
                    lambda d: click(qtbot, box_button(d, QDialogButtonBox.StandardButton.Cancel)))  # fmt: skip
    click(qtbot, tab.sign_button)
    cancel.check()
    assert not state().history

    signed = Answer(SignFormulationDialog, lambda d: click(qtbot, d.ok))
    click(qtbot, tab.sign_button)
    assert signed.check().result() == QDialog.DialogCode.Accepted
    current = state().current
    assert current is not None and current.status == formulations.SIGNED
    reactivate(qtbot, w)

    cancel = Answer(ReasonDialog, lambda d: click(qtbot, box_button(d, QDialogButtonBox.StandardButton.Cancel)))
    click(qtbot, tab.addendum_button)
    cancel.check()
    assert state().notes_about(current.version_id) == []

    def write(text: str) -> Callable[[ReasonDialog], None]:
        def act(d: ReasonDialog) -> None:
            qtbot.keyClicks(d.reason_line, text)
            click(qtbot, d.ok)

        return act

    added = Answer(ReasonDialog, write("Housing appeal granted."))
    click(qtbot, tab.addendum_button)
    added.check()
    reactivate(qtbot, w)
    view = Answer(ReasonDialog, write("I don't drink to cope."))
    click(qtbot, tab.view_button)
    view.check()
    notes = state().notes_about(current.version_id)
    assert [(n.kind, n.text) for n in notes] == [
        (formulations.ADDENDUM, "Housing appeal granted."),
        (formulations.DISAGREEMENT, "I don't drink to cope."),
    ]

    # History > Compare versions with no two versions of the plan: said in a box whose OK closes it.
    reactivate(qtbot, w)
    page = w.patient_page
    qtbot.keyClick(w, Qt.Key.Key_Y, Qt.KeyboardModifier.AltModifier)  # Histor&y
    told: list[str] = []

    def ok(box: QMessageBox) -> None:
        told.append(box.text())
        click(qtbot, box.button(QMessageBox.StandardButton.Ok))

    page.history.clearSelection()
    only_one = Answer(QMessageBox, ok)
    click(qtbot, page.compare_button)
    only_one.check()
    assert "only one version of the plan" in told[0]

    # History > View version on the addendum's line: the note in a box whose OK closes it.
    row = next(i for i, v in enumerate(page.history_versions) if v.kind == formulations.NOTE_KIND)
    page.history.selectRow(row)
    note = Answer(QMessageBox, ok)
    click(qtbot, page.view_button)
    note.check()
    assert any(t in told[1] for t in ("Housing appeal granted.", "I don't drink to cope."))


# --- the history tab: view, compare, entered in error ---------------------------------------------------------
def test_history_view_compare_and_entered_in_error(qtbot, store: Store, tmp_path: Path, monkeypatch) -> None:
    session, pid = add_patient(store)
    first = save_draft(session, pid, LAYOUT, plan_with("I stop answering my phone"), None)
    second = save_draft(session, pid, LAYOUT, plan_with("I stop answering my phone", "Pacing at night"), first)
    session.lock()
    w = open_patient(qtbot, store, tmp_path, monkeypatch)
    page = w.patient_page
    qtbot.keyClick(w, Qt.Key.Key_Y, Qt.KeyboardModifier.AltModifier)  # Histor&y
    assert page.tabs.currentIndex() == 2
    row = next(i for i, v in enumerate(page.history_versions) if v.version_id == second)
    page.history.selectRow(row)

    closed = Answer(VersionDialog, lambda d: click(qtbot, box_button(d, QDialogButtonBox.StandardButton.Close)))
    click(qtbot, page.view_button)
    dialog = closed.check()
    assert "Pacing at night" in dialog.plan.toPlainText() and dialog.result() == QDialog.DialogCode.Rejected

    seen: list[list[str]] = []

    def compare_then_close(d: CompareDialog) -> None:
        seen.append([str(d.table.model().index(r, 2).data()) for r in range(d.table.model().rowCount())])
        click(qtbot, box_button(d, QDialogButtonBox.StandardButton.Close))

    compared = Answer(CompareDialog, compare_then_close)
    click(qtbot, page.compare_button)
    assert compared.check().result() == QDialog.DialogCode.Rejected
    assert any("Pacing at night" in t for t in seen[0])

    # Mark entered in error: Cancel marks nothing; OK with a reason marks the line.
    def input_cancel(d: QInputDialog) -> None:
        d.findChild(QLineEdit).setText("typed then thought better of it")
        click(qtbot, box_button(d, QDialogButtonBox.StandardButton.Cancel))

    cancelled = Answer(QInputDialog, input_cancel)
    click(qtbot, page.error_button)
    cancelled.check()
    assert ENTERED_IN_ERROR not in [v.status for v in versions(w, pid)]

    def input_ok(d: QInputDialog) -> None:
        qtbot.keyClicks(d.findChild(QLineEdit), "Saved against the wrong patient")
        click(qtbot, box_button(d, QDialogButtonBox.StandardButton.Ok))

    marked = Answer(QInputDialog, input_ok)
    page.history.selectRow(next(i for i, v in enumerate(page.history_versions) if v.version_id == second))
    click(qtbot, page.error_button)
    marked.check()
    qtbot.waitUntil(lambda: any(v.status == ENTERED_IN_ERROR for v in versions(w, pid)))
    assert "Saved against the wrong patient" in str([v.payload for v in versions(w, pid)])

    # The "entered in error" line itself cannot be marked again: said in a box whose OK closes it.
    told: list[str] = []

    def ok(box: QMessageBox) -> None:
        told.append(box.text())
        click(qtbot, box.button(QMessageBox.StandardButton.Ok))

    page.history.selectRow(next(i for i, v in enumerate(page.history_versions) if v.status == ENTERED_IN_ERROR))
    again = Answer(QMessageBox, ok)
    click(qtbot, page.error_button)
    again.check()
    assert "itself an 'entered in error' note" in told[0]


# --- compare and merge, cancel merge (record_tab) ---------------------------------------------------------------
def test_compare_and_merge_start_buttons_and_cancel_merge(qtbot, store: Store, tmp_path: Path, monkeypatch) -> None:
    session, pid = add_patient(store)
    base = save_draft(session, pid, LAYOUT, plan_with("Shouting"), None)
    one = save_draft(session, pid, LAYOUT, plan_with("Shouting", "One"), base)
    store.clock.advance(minutes=1)
    two = save_draft(session, pid, LAYOUT, plan_with("Shouting", "Two"), base)
    session.lock()
    w = open_patient(qtbot, store, tmp_path, monkeypatch)
    qtbot.keyClick(w, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    tab = w.patient_page.plan_tab
    assert tab.conflict_bar.isVisible()

    start_b = Answer(CompareDialog, lambda d: click(qtbot, d.start_b))
    click(qtbot, tab.merge_button)
    assert start_b.check().result() == QDialog.DialogCode.Accepted
    assert tab.merge_of == (one, two) and tab.merge_from.version_id == two
    reactivate(qtbot, w)

    # Typed in the merge, then Compare and merge again: "Start from version A" asks first; Yes restarts from A.
    field = tab.editor.first_field()
    field.setFocus()
    qtbot.keyClicks(field, "One")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert tab.dirty
    start_a = Answer(CompareDialog, lambda d: click(qtbot, d.start_a))
    titles: list[str] = []

    def yes(box: QMessageBox) -> None:
        titles.append(box.windowTitle())
        click(qtbot, box.button(QMessageBox.StandardButton.Yes))

    again = Answer(QMessageBox, yes)
    click(qtbot, tab.merge_button)
    start_a.check()
    again.check()
    assert titles == ["Start the merge again"]
    assert tab.merge_from.version_id == one
    reactivate(qtbot, w)

    # Cancel merge with typing: No keeps the merge; Yes gives it up, both versions still there to merge.
    field = tab.editor.first_field()  # the editor was loaded afresh
    field.setFocus()
    qtbot.keyClicks(field, "Typed in the merge")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert tab.dirty
    keep = Answer(QMessageBox, lambda box: click(qtbot, box.button(QMessageBox.StandardButton.No)))
    click(qtbot, tab.cancel_merge_button)
    keep.check()
    assert tab.merge_of == (one, two)
    reactivate(qtbot, w)
    give_up = Answer(QMessageBox, lambda box: click(qtbot, box.button(QMessageBox.StandardButton.Yes)))
    click(qtbot, tab.cancel_merge_button)
    give_up.check()
    assert tab.merge_of is None and tab.conflict_bar.isVisible()
    assert sorted(load_plan(w.session, pid, audit_view=False).heads) == sorted([one, two])


# --- plan history dialogs on their own -----------------------------------------------------------------------------
def test_compare_dialog_start_from_a_by_mouse(qtbot) -> None:
    choices = [("Version on PC 1", plan_with("Same", "One")), ("Version on PC 2", plan_with("Same", "Two"))]
    d = CompareDialog(choices, lambda _c: LAYOUT, merge=True)
    qtbot.addWidget(d)
    d.show()
    changes = d.model.rowCount()
    tick(qtbot, d.only_changes)  # Only show changes, unticked: the unchanged rows too
    assert not d.only_changes.isChecked() and d.model.rowCount() > changes
    with qtbot.waitSignal(d.accepted, timeout=2000):
        click(qtbot, d.start_a)
    assert d.chosen == 0 and not d.isVisible()


# --- administrators: users ---------------------------------------------------------------------------------
CLIN, CLIN_NAME, CLIN_PASSWORD = "nurse.jones", "Sam Jones", "clinician password 1"


@pytest.fixture
def admin(qtbot, session: Session) -> AdminPage:
    page = AdminPage(session, Operations(synchronous=True))
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    qtbot.waitExposed(page)
    page.refresh()
    return page


def usernames(page: AdminPage) -> dict[str, bool]:
    return {u.username: u.active for u in page.session.users.all()}


def test_add_user_dialog_cancel_and_add(qtbot, admin: AdminPage, store: Store) -> None:
    click(qtbot, admin.add_button)
    dialog = admin.dialog
    assert isinstance(dialog, AddUserDialog) and dialog.isVisible()
    dialog.username.setText(CLIN)
    click(qtbot, box_button(dialog, QDialogButtonBox.StandardButton.Cancel))
    assert admin.dialog is None and not dialog.isVisible() and CLIN not in usernames(admin)

    click(qtbot, admin.add_button)
    dialog = admin.dialog
    assert isinstance(dialog, AddUserDialog)
    for field, text in ((dialog.username, CLIN), (dialog.full_name, CLIN_NAME), (dialog.password, CLIN_PASSWORD),
                        (dialog.confirm, CLIN_PASSWORD)):  # fmt: skip
        qtbot.keyClicks(field, text)
    click(qtbot, dialog.ok)
    assert admin.dialog is None and usernames(admin)[CLIN] is True
    assert Session.sign_in(store, CLIN, CLIN_PASSWORD).user.role == "clinician"
    assert CLIN in admin.users_message.text()


def test_disable_question_no_and_yes_then_enable_dialog(qtbot, admin: AdminPage, session: Session, store) -> None:
    session.users.add(CLIN, "clinician", CLIN_PASSWORD, CLIN_NAME)
    click(qtbot, admin.refresh_button)  # Refresh shows the user added elsewhere
    assert CLIN in [r[0] for r in admin.users_model.rows]
    assert admin.select_user(CLIN)

    asked: list[str] = []

    def answer_no(box: QMessageBox) -> None:
        asked.append(box.text())
        click(qtbot, box.button(QMessageBox.StandardButton.No))

    no = Answer(QMessageBox, answer_no)
    click(qtbot, admin.disable_button)
    no.check()
    assert CLIN in asked[0] and CLIN_NAME in asked[0]
    assert usernames(admin)[CLIN] is True

    yes = Answer(QMessageBox, lambda box: click(qtbot, box.button(QMessageBox.StandardButton.Yes)))
    click(qtbot, admin.disable_button)
    yes.check()
    assert usernames(admin)[CLIN] is False
    with pytest.raises(LoginFailed):
        Session.sign_in(store, CLIN, CLIN_PASSWORD)

    admin.select_user(CLIN)
    click(qtbot, admin.enable_button)
    dialog = admin.dialog
    assert isinstance(dialog, EnableUserDialog)
    click(qtbot, box_button(dialog, QDialogButtonBox.StandardButton.Cancel))
    assert admin.dialog is None and usernames(admin)[CLIN] is False

    admin.select_user(CLIN)
    click(qtbot, admin.enable_button)
    dialog = admin.dialog
    assert isinstance(dialog, EnableUserDialog)
    qtbot.keyClicks(dialog.password, "a brand new password")
    qtbot.keyClicks(dialog.confirm, "a brand new password")
    click(qtbot, dialog.ok)
    assert admin.dialog is None and usernames(admin)[CLIN] is True
    assert Session.sign_in(store, CLIN, "a brand new password").user.username == CLIN


def test_reset_password_dialog_cancel_and_reset(qtbot, admin: AdminPage, session: Session, store: Store,
                                                recovery_key: str) -> None:  # fmt: skip
    session.users.add(CLIN, "clinician", CLIN_PASSWORD, CLIN_NAME)
    click(qtbot, admin.refresh_button)
    admin.select_user(CLIN)
    click(qtbot, admin.reset_button)
    dialog = admin.dialog
    assert isinstance(dialog, ResetPasswordDialog) and dialog.username.text() == CLIN
    click(qtbot, box_button(dialog, QDialogButtonBox.StandardButton.Cancel))
    assert admin.dialog is None
    assert Session.sign_in(store, CLIN, CLIN_PASSWORD).user.username == CLIN  # unchanged

    click(qtbot, admin.reset_button)
    dialog = admin.dialog
    assert isinstance(dialog, ResetPasswordDialog)
    qtbot.keyClicks(dialog.password, "reset password 123")
    qtbot.keyClicks(dialog.confirm, "reset password 123")
    dialog.recovery_key.setText(recovery_key)
    click(qtbot, dialog.ok)
    assert admin.dialog is None and "new password" in admin.users_message.text()
    assert Session.sign_in(store, CLIN, "reset password 123").user.username == CLIN


def test_audit_apply_filters_and_verify_by_mouse(qtbot, admin: AdminPage) -> None:
    admin.tabs.setCurrentIndex(1)
    admin.action_filter.setCurrentIndex(admin.action_filter.findData("store_created"))
    click(qtbot, admin.apply_button)
    assert [r[2] for r in admin.audit_model.rows] == ["store_created"]
    assert admin.verify_state.text() == "Not checked yet"
    click(qtbot, admin.verify_button)
    assert admin.verify_state.text().startswith("Intact: ")


# --- print dialogs -----------------------------------------------------------------------------------------------
def signed_patients(session: Session, count: int) -> list[str]:
    today = session.store.clock.now().date()
    people = (("Siân", "Roberts", "9434765919"), ("Jan", "Kowalski", "9434765870"), ("Aisha", "Rahman", "9990000018"))
    ids = []
    for given, family, nhs in people[:count]:
        pid = session.patients.add(PatientDetails(given, family, date(1980, 1, 1), nhs))
        c = plan_with(f"{given} goes quiet")
        c.section("coping_alone").entries = [{"text": "A walk by the sea"}]
        c.section("people_to_ask").entries = [{"name": "Mam", "phone": "07700 900123"}]
        sign_plan(session, pid, LAYOUT, c, None, agreed_with_person=True, agreed_on=today,
                  review_due=add_months(today, 3))  # fmt: skip
        ids.append(pid)
    return ids


def test_print_dialog_close_and_a_password_protected_save(qtbot, session: Session, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    (pid,) = signed_patients(session, 1)
    d = PrintDialog(Operations(synchronous=True), lambda: session, pid)
    qtbot.addWidget(d)
    d.show()
    qtbot.waitUntil(d.save_button.isEnabled)

    saved = tmp_path / "sent.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(saved), "PDF (*.pdf)"))
    tick(qtbot, d.protect)
    assert d.protect.isChecked() and d.password.isEnabled()
    qtbot.keyClicks(d.password, "a long enough password")
    click(qtbot, d.save_button)
    assert d.message.text().endswith("Saved as sent.pdf.")
    reader = PdfReader(saved)
    assert reader.is_encrypted and reader.decrypt("a long enough password")
    assert "Siân goes quiet" in reader.pages[0].extract_text()

    with qtbot.waitSignal(d.rejected, timeout=2000):
        click(qtbot, d.close_button)
    assert not d.isVisible() and d.result() == QDialog.DialogCode.Rejected


def test_batch_print_browse_and_close(qtbot, session: Session, tmp_path: Path, monkeypatch) -> None:
    signed_patients(session, 1)
    d = BatchPrintDialog(Operations(synchronous=True), lambda: session, [])
    qtbot.addWidget(d)
    d.show()
    combined, folder = tmp_path / "morning.pdf", tmp_path / "run"
    folder.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(combined), "PDF (*.pdf)"))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    click(qtbot, d.browse)
    assert d.target.text() == str(combined)
    tick(qtbot, d.per_person)
    assert d.per_person.isChecked()
    click(qtbot, d.browse)
    assert d.target.text() == str(folder)
    click(qtbot, d.start_button)
    assert [p.name for p in folder.iterdir()] == ["safety-plan-001.pdf"]
    assert d.cancel_button.text() == "Close"

    with qtbot.waitSignal(d.rejected, timeout=2000):
        click(qtbot, d.cancel_button)
    assert not d.isVisible()


def test_batch_print_cancel_button_stops_a_running_batch(qtbot, session: Session, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    ids = signed_patients(session, 3)
    ops = Operations()  # the real background worker
    d = BatchPrintDialog(ops, lambda: session, ids)
    qtbot.addWidget(d)
    d.show()
    out = tmp_path / "run"
    out.mkdir()
    d.target.setText(str(out / "combined.pdf"))
    pressed: list[str] = []
    # The second person's copy waits until the clinician has pressed Cancel: on a loaded machine the
    # whole batch could otherwise finish before the GUI handles the first progress signal.
    clicked = threading.Event()
    laid_out = batch._render_plain
    calls: list[int] = []

    def render(*args: object) -> bytes:
        calls.append(1)
        if len(calls) == 2:
            clicked.wait(20)
        return laid_out(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "_render_plain", render)

    def press_cancel(_done: int, _total: int) -> None:  # the clinician presses Cancel once the first is done
        if not pressed and d.running:
            pressed.append(d.cancel_button.text())
            qtbot.mouseClick(d.cancel_button, LEFT)
            clicked.set()

    d._progress.moved.connect(press_cancel)
    click(qtbot, d.start_button)
    qtbot.waitUntil(lambda: not d.running, timeout=20000)
    ops.wait()
    assert pressed == ["Cancel the batch"]
    assert "cancelled; no file was written" in d.message.text()
    assert list(out.iterdir()) == [] and d.isVisible()  # the dialog stays, saying what happened


# --- the first-run wizard ------------------------------------------------------------------------------------------
def test_wizard_finish_by_mouse(qtbot, make_wizard, data_dir: Path) -> None:  # noqa: F811
    wizard: SetupWizard = make_wizard(data_dir)
    key = as_key(walk_to_recovery(qtbot, wizard))
    page = wizard.recovery_page
    qtbot.keyClicks(page.last_group, key.rsplit("-", 1)[1])
    qtbot.keyClick(page.kept, Qt.Key.Key_Space)
    click(qtbot, wizard.button(QWizard.WizardButton.FinishButton))
    assert not wizard.isVisible() and wizard.result() == QDialog.DialogCode.Accepted
    assert wizard.key_confirmed and wizard.store is not None


def test_wizard_close_question_go_back_and_close_anyway(qtbot, make_wizard, data_dir: Path) -> None:  # noqa: F811
    wizard: SetupWizard = make_wizard(data_dir)
    walk_to_recovery(qtbot, wizard)
    close = wizard.button(QWizard.WizardButton.CancelButton)
    assert close.text().replace("&", "") == "Close"

    said: list[str] = []

    def go_back(box: QMessageBox) -> None:
        said.append(box.text())
        click(qtbot, message_button(box, "Go back to the key"))

    stay = Answer(QMessageBox, go_back)
    click(qtbot, close)
    stay.check()
    assert "will not be shown again" in said[0]
    assert wizard.isVisible() and wizard.recovery_page.recovery_key

    leave = Answer(QMessageBox, lambda box: click(qtbot, message_button(box, "Close anyway")))
    click(qtbot, close)
    leave.check()
    assert not wizard.isVisible() and wizard.result() == QDialog.DialogCode.Rejected
    assert wizard.store is not None and not wizard.key_confirmed and wizard.recovery_page.recovery_key == ""


def test_wizard_print_through_the_real_print_dialog(qtbot, make_wizard, data_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    """Print… opens the system print dialog (not a stand-in): cancelled, nothing is said printed; printed
    to a PDF file, the page holds the key."""
    wizard: SetupWizard = make_wizard(data_dir)
    key = as_key(walk_to_recovery(qtbot, wizard))
    page = wizard.recovery_page

    cancelled = Answer(QPrintDialog, lambda d: d.done(QDialog.DialogCode.Rejected))  # the user's Cancel
    click(qtbot, page.print_button)
    cancelled.check()
    assert not page.message.isVisible()

    out = tmp_path / "printed.pdf"

    def print_to_file(d: QPrintDialog) -> None:
        """As a user who picks 'Print to file (PDF)' and presses Print (done(), not accept(): accept()
        would apply the dialog's widgets, naming a printer this machine does not have)."""
        d.printer().setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        d.printer().setOutputFileName(str(out))
        d.done(QDialog.DialogCode.Accepted)

    printed = Answer(QPrintDialog, print_to_file)
    click(qtbot, page.print_button)
    printed.check()
    text = "".join(p.extract_text() or "" for p in PdfReader(out).pages).replace(" ", "").replace("\n", "")
    assert all(group in text for group in key.split("-"))
    assert "Sent to the printer" in page.message.text()

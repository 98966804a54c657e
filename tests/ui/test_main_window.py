"""The clinicians' window, driven by keyboard and mouse with pytest-qt, on a real encrypted store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import QAbstractListModel, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QWidget,
)

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.ui.caseload import FILTERS
from perfectcare_desktop.ui.main_window import MainWindow
from perfectcare_desktop.ui.operation import Operations

ADMIN, PASSWORD = "admin1", "correct horse battery"
PATIENT_NAMES = ("Gwenllian", "Llywelyn", "Żaneta", "Wójcik-Łęcka")


class IdleClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def seeded(store: Store) -> Store:
    session = Session.sign_in(store, ADMIN, PASSWORD)
    session.patients.add(PatientDetails("Gwenllian", "Llywelyn", date(1979, 5, 4), "943 476 5919", local_id="MC1"))
    session.patients.add(PatientDetails("Żaneta", "Wójcik-Łęcka", date(1990, 1, 2), "999 000 0018"))
    session.lock()
    return store


@pytest.fixture
def window(qtbot, seeded: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[MainWindow, IdleClock]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # settings never touch the real profile
    # Closing with an unsaved form asks first; a modal box would hang an offscreen test at teardown.
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    clock = IdleClock()
    win = MainWindow(seeded, Operations(synchronous=True), {"idle_lock_minutes": 5}, idle_clock=clock)
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()  # shortcuts only reach the active window
    qtbot.waitActive(win)
    return win, clock


def sign_in(qtbot, win: MainWindow, username: str = ADMIN, password: str = PASSWORD) -> None:
    page = win.login_page
    if not page.username.isReadOnly():
        page.username.clear()
        qtbot.keyClicks(page.username, username)
    qtbot.keyClicks(page.password, password)
    qtbot.keyClick(page.password, Qt.Key.Key_Return)


def visible_texts(root: QWidget) -> list[str]:
    """Every string a person could see or a screen reader could read in the window right now."""
    texts = [root.windowTitle()]
    for w in root.findChildren(QWidget):
        if not w.isVisible():
            continue
        texts += [w.toolTip(), w.accessibleName(), w.accessibleDescription(), w.windowTitle()]
        if isinstance(w, QLabel | QLineEdit):
            texts.append(w.text())
        if isinstance(w, QAbstractItemView) and w.model() is not None:
            m = w.model()
            columns = 1 if isinstance(m, QAbstractListModel) else m.columnCount()
            texts += [str(m.index(r, c).data()) for r in range(m.rowCount()) for c in range(columns)]
    return texts


def assert_no_patient_visible(win: MainWindow) -> None:
    shown = "\n".join(visible_texts(win))
    for name in PATIENT_NAMES + ("943 476 5919", "999 000 0018"):
        assert name not in shown, f"{name!r} visible while locked"


def test_sign_in_wrong_then_right_password(qtbot, window) -> None:
    win, _ = window
    assert win.stack.currentWidget() is win.login_page
    sign_in(qtbot, win, password="not the password")
    assert "not right" in win.login_page.message.text()
    assert win.session is None
    sign_in(qtbot, win)
    assert win.stack.currentWidget() is win.caseload_page
    assert win.caseload_page.model.rowCount() == 2
    assert "Signed in: admin1" in win.user_label.text()
    assert win.lock_label.text() == "Unlocked"


def test_empty_fields_and_lockout_delay_are_explained(qtbot, window, clock) -> None:
    win, _ = window
    qtbot.keyClick(win.login_page.password, Qt.Key.Key_Return)
    assert win.login_page.message.text() == "⚠ Enter your user name."
    for _ in range(3):
        sign_in(qtbot, win, password="wrong password")
    assert "try again in 15 seconds" in win.login_page.message.text()
    assert not win.login_page.sign_in.isEnabled()
    win.login_page._tick()  # one second of the visible countdown
    assert "14 seconds" in win.login_page.message.text()


def test_create_patient_with_live_nhs_check_then_search(qtbot, window) -> None:
    win, _ = window
    sign_in(qtbot, win)
    qtbot.keyClick(win, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    form = win.form_page
    assert win.stack.currentWidget() is form
    form.given.insert("Siân")  # QTest cannot type non-ASCII keys; insert() is what an input method does
    qtbot.keyClicks(form.family, "ap Dafydd")
    qtbot.keyClicks(form.dob, "07/03/1984")
    qtbot.keyClicks(form.nhs, "999 123 4560")
    assert "can never be a valid NHS number" in form.nhs_status.text()
    form.nhs.clear()
    qtbot.keyClicks(form.nhs, "9990001")
    assert form.nhs_status.text() == "7 of 10 digits"
    qtbot.keyClicks(form.nhs, "026")  # 999 000 1026 fails its check digit: a typo
    assert "not a valid NHS number" in form.nhs_status.text()
    form.nhs.clear()
    qtbot.keyClicks(form.nhs, "0101000006")  # valid, but in the Scottish CHI range: said, not refused
    assert form.nhs_status.text().startswith("✓ Valid: 010 100 0006\n⚠ 010 100 0006 looks like a Scottish CHI")
    form.nhs.clear()
    qtbot.keyClicks(form.nhs, "9990000026")
    assert form.nhs_status.text() == "✓ Valid: 999 000 0026"
    form.needs["large print"].setChecked(True)
    qtbot.keyClick(form.given, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    # A button's shortcut "animates" the click, which lands a moment later.
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.patient_page)
    assert win.patient_page.name.text() == "Siân ap Dafydd"
    assert win.patient_page.details["nhs"].text() == "999 000 0026"
    assert win.patient_page.details["needs"].text() == "large print"
    # Back on the caseload, search by fragment, accent-free, and by NHS digits with or without spaces.
    qtbot.keyClick(win.patient_page, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.caseload_page)
    page = win.caseload_page
    assert page.model.rowCount() == 3
    for query, expected in (("sian", 1), ("dafy", 1), ("999 000 0026", 1), ("9990000026", 1), ("zzz", 0)):
        page.search_box.setText(query)
        assert page.model.rowCount() == expected, query
    page.search_box.setText("ap dafydd")
    qtbot.keyClick(page.search_box, Qt.Key.Key_Return)  # a single hit opens at once
    assert win.stack.currentWidget() is win.patient_page


def test_invalid_input_in_the_form_changes_nothing(qtbot, window, seeded: Store) -> None:
    win, _ = window
    sign_in(qtbot, win)
    win.new_patient()
    form = win.form_page
    qtbot.keyClicks(form.given, "Nobody")
    qtbot.keyClicks(form.dob, "31/02/1980")
    qtbot.keyClicks(form.nhs, "999 000 0026")
    form.save_button.click()
    assert "is not a date" in form.message.text()
    form.dob.setText("01/01/2099")
    form.save_button.click()
    assert "in the future" in form.message.text()
    form.dob.setText("01/01/1980")
    form.nhs.setText("943 476 5919")  # already registered
    form.save_button.click()
    assert "already registered" in form.message.text()
    assert win.stack.currentWidget() is form
    assert len(win.session.patients.all()) == 2


def test_edit_makes_a_new_version_shown_in_history(qtbot, window) -> None:
    win, _ = window
    sign_in(qtbot, win)
    row = next(r for r in win.caseload_page.model.rows if r.patient.details.given_name == "Gwenllian")
    win.open_patient(row.record_id)
    qtbot.keyClick(win.patient_page, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.form_page)
    win.form_page.preferred.setText("Gwen")
    win.form_page.save_button.click()
    assert win.patient_page.name.text().startswith("Gwen Llywelyn")
    history = win.patient_page.history_model.rows
    assert [r[4] for r in history] == ["Changed preferred name", "Created"]
    assert len(win.session.records.history(row.record_id)) == 2


def test_ctrl_l_locks_hides_everything_and_unlock_returns(qtbot, window) -> None:
    win, _ = window
    sign_in(qtbot, win)
    row = next(r for r in win.caseload_page.model.rows if r.patient.details.given_name == "Żaneta")
    win.open_patient(row.record_id)
    win.copy_nhs_number()
    assert QGuiApplication.clipboard().text() == "999 000 0018"
    qtbot.keyClick(win, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert win.session.locked
    assert win.stack.currentWidget() is win.login_page
    assert win.login_page.title.text() == "Locked"
    assert_no_patient_visible(win)
    assert QGuiApplication.clipboard().text() == ""  # copied NHS number gone at once
    assert win.caseload_page.model.rowCount() == 0 and win.patient_page.history_model.rowCount() == 0
    assert not win.new_action.isEnabled()
    sign_in(qtbot, win, password="wrong password")
    assert win.session.locked and "not right" in win.login_page.message.text()
    sign_in(qtbot, win)
    assert win.stack.currentWidget() is win.patient_page
    assert win.patient_page.details["nhs"].text() == "999 000 0018"


def test_idle_timer_locks_and_unsaved_form_survives(qtbot, window) -> None:
    win, idle_clock = window
    sign_in(qtbot, win)
    win.new_patient()
    qtbot.keyClicks(win.form_page.given, "Gwenllian")  # typing is activity: resets the idle clock
    idle_clock.t += 4 * 60
    win.idle.check()
    assert not win.session.locked
    idle_clock.t += 61
    win.idle.check()
    assert win.session.locked
    assert_no_patient_visible(win)
    sign_in(qtbot, win)
    assert win.stack.currentWidget() is win.form_page
    assert win.form_page.given.text() == "Gwenllian"  # nothing unsaved lost


def test_copied_text_leaves_the_clipboard(qtbot, window) -> None:
    win, _ = window
    sign_in(qtbot, win)
    win.open_patient(win.caseload_page.model.rows[0].record_id)
    win.copy_nhs_number()
    assert QGuiApplication.clipboard().text()
    win.clipboard.expire()  # what the 30-second timer does
    assert QGuiApplication.clipboard().text() == ""
    QGuiApplication.clipboard().setText("someone else's text")
    win.clipboard.expire()
    assert QGuiApplication.clipboard().text() == "someone else's text"  # never clears what is not ours


def test_caseload_filters_by_plan_state_and_dates_never_risk(qtbot, window, seeded: Store) -> None:
    win, _ = window
    session = Session.sign_in(seeded, ADMIN, PASSWORD)
    gwen = next(p for p in session.patients.all() if p.details.given_name == "Gwenllian")
    today = seeded.clock.now().date()
    session.records.create("safety_plan", gwen.record_id, {"schema": "x"}, status="agreed", signed=True,
                          review_due=date.fromordinal(today.toordinal() - 1))  # fmt: skip
    sign_in(qtbot, win)
    page = win.caseload_page
    labels = [label for label, _ in FILTERS]
    assert not any("risk" in label.lower() for label in labels)
    for label, expected in (("Plan agreed", 1), ("No plan yet", 1), ("Review overdue", 1), ("All patients", 2)):
        page.filter_box.setCurrentIndex(labels.index(label))
        assert page.model.rowCount() == expected, label
    assert "overdue" in page.model.index(0, 5).data() or "overdue" in page.model.index(1, 5).data()
    page.table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    assert page.model.index(0, 1).data() == "999 000 0018"


def test_admin_page_is_only_for_admins(qtbot, window, seeded: Store) -> None:
    win, _ = window
    admin = Session.sign_in(seeded, ADMIN, PASSWORD)
    admin.users.add("nurse1", "clinician", "clinician pass 1")
    sign_in(qtbot, win, "nurse1", "clinician pass 1")
    assert not win.admin_action.isEnabled()
    win.show_admin()
    assert win.stack.currentWidget() is win.caseload_page


def test_second_instance_on_the_same_store_is_refused(data_dir: Path, store: Store) -> None:
    from perfectcare_desktop.core.storage.instance_lock import InstanceLock, StoreInUse

    with InstanceLock(data_dir), pytest.raises(StoreInUse, match="already open on this store"):
        InstanceLock(data_dir).acquire()
    with InstanceLock(data_dir):  # released when the first closes
        pass


def test_double_text_size_clips_nothing(qtbot, seeded: Store, tmp_path: Path, monkeypatch) -> None:
    """200% text: every visible label and button gets at least the room its text needs."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    app = QApplication.instance()
    normal = app.font()
    big = app.font()
    big.setPointSizeF(normal.pointSizeF() * 2)
    app.setFont(big)
    try:
        win = MainWindow(seeded, Operations(synchronous=True), {}, idle_clock=IdleClock())
        qtbot.addWidget(win)
        win.resize(1600, 1000)
        win.show()
        qtbot.waitExposed(win)
        sign_in(qtbot, win)
        shots = Path("/tmp/shots")
        shots.mkdir(exist_ok=True)
        for name, show in (
            ("caseload", win.show_caseload),
            ("patient", lambda: win.open_patient(win.caseload_page.model.rows[0].record_id)),
            ("form", win.new_patient),
            ("admin", win.show_admin),
        ):
            show()
            qtbot.wait(10)
            win.grab().save(str(shots / f"{name}_200pc.png"))
            for w in win.findChildren(QLabel) + win.findChildren(QPushButton):
                if w.isVisible() and w.text() and not (isinstance(w, QLabel) and w.wordWrap()):
                    assert w.width() >= w.sizeHint().width() - 1, f"{name}: {w.text()!r} is clipped"
    finally:
        app.setFont(normal)


def test_window_shows_before_the_store_opens(qtbot, seeded: Store, tmp_path: Path, monkeypatch) -> None:
    """The sign-in window is up at once; Sign in waits until the store has opened in the background."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    win = MainWindow(None, Operations(synchronous=True), {}, idle_clock=IdleClock(), open_store=lambda: seeded)
    qtbot.addWidget(win)
    win.show()
    assert not win.login_page.sign_in.isEnabled()
    assert "Opening the store" in win.login_page.message.text()
    qtbot.waitUntil(lambda: win.store is seeded)
    assert win.login_page.sign_in.isEnabled()
    assert win.login_page.org.text() == seeded.organisation
    assert win.windowTitle() == f"PerfectCare Desktop — {seeded.organisation}"
    sign_in(qtbot, win)
    assert win.stack.currentWidget() is win.caseload_page


def test_search_starts_at_two_letters_or_three_digits(qtbot, window) -> None:
    win, _ = window
    sign_in(qtbot, win)
    page = win.caseload_page
    for query, shown in (("g", 2), ("gw", 1), ("94", 2), ("943", 1)):
        page.search_box.setText(query)
        assert page.model.rowCount() == shown, query
    page.search_box.setText("g")
    assert "type at least 2 letters or 3 digits" in page.count.text()

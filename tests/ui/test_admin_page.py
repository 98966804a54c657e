"""The administrators' page on a real encrypted store: users, the audit trail, the integrity check, clear()."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QAbstractItemModel, QEvent, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QWidget,
)

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.patients.nhs_number import (
    InvalidNhsNumber,
    normalise_nhs_number,
    test_range_numbers,
)
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.errors import LoginFailed
from perfectcare_desktop.ui import admin_page
from perfectcare_desktop.ui.admin_page import AdminPage
from perfectcare_desktop.ui.operation import Operations
from perfectcare_desktop.ui.theme import apply_theme

ADMIN = "admin1"  # as in tests/conftest.py
ADMIN_PASSWORD = "correct horse battery"
CLIN = "nurse.jones"
CLIN_NAME = "Sam Jones"
CLIN_PASSWORD = "clinician password 1"
NHS = list(itertools.islice(test_range_numbers(random.Random(7)), 3))
SHOTS = Path("/tmp/shots")
ROLES = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole)


# --- helpers -----------------------------------------------------------------------------------------
@pytest.fixture
def ops() -> Operations:
    return Operations(synchronous=True)


@pytest.fixture
def page(qtbot: Any, session: Session, ops: Operations) -> AdminPage:
    p = AdminPage(session, ops)
    qtbot.addWidget(p)
    p.refresh()
    return p


def rows(model: QAbstractItemModel) -> list[list[str]]:
    return [[model.data(model.index(r, c)) for c in range(model.columnCount())] for r in range(model.rowCount())]


def users_shown(page: AdminPage) -> dict[str, list[str]]:
    return {row[0]: row for row in rows(page.users_model)}


def audit_actions(page: AdminPage) -> list[str]:
    return [row[2] for row in rows(page.audit_model)]


def add_user(
    page: AdminPage,
    username: str = CLIN,
    full_name: str = CLIN_NAME,
    role: str = "clinician",
    password: str = CLIN_PASSWORD,
    confirm: str | None = None,
) -> Any:
    page.add_button.click()
    dialog = page.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.username.setText(username)
    dialog.full_name.setText(full_name)
    dialog.role.setCurrentIndex(dialog.role.findData(role))
    dialog.password.setText(password)
    dialog.confirm.setText(password if confirm is None else confirm)
    dialog.ok.click()
    return dialog


def answer_yes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []

    def question(_parent: QWidget, _title: str, text: str, *_a: object, **_k: object) -> QMessageBox.StandardButton:
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    return asked


def add_patients(session: Session) -> None:
    for i, (nhs, (given, family)) in enumerate(
        zip(NHS, [("Ann", "Jones"), ("Bilal", "Khan"), ("Chloe", "Ng")], strict=True)
    ):
        session.patients.add(PatientDetails(given, family, date(1970 + i, 3, 7), nhs))


def all_text(root: QWidget) -> list[str]:
    """Everything a widget tree shows or tells assistive technology, and every cell of every model."""
    out: list[str] = []
    for w in [root, *root.findChildren(QWidget)]:
        out += [w.toolTip(), w.accessibleName(), w.accessibleDescription(), w.windowTitle(), w.statusTip()]
        if isinstance(w, QLabel | QAbstractButton):
            out.append(w.text())
        if isinstance(w, QLineEdit):
            out += [w.text(), w.placeholderText()]
            if w.isUndoAvailable():
                out.append("<undo history left in a line edit>")
        if isinstance(w, QComboBox):
            out += [w.itemText(i) for i in range(w.count())]
            out += [str(w.itemData(i)) for i in range(w.count())]
    for model in root.findChildren(QAbstractItemModel):
        for r in range(model.rowCount()):
            for c in range(model.columnCount()):
                out += [str(model.data(model.index(r, c), role)) for role in ROLES]
    return out


def flush_deletes() -> None:
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


# --- users -------------------------------------------------------------------------------------------
def test_lists_users_with_role_status_and_last_sign_in(page: AdminPage) -> None:
    shown = users_shown(page)
    assert list(shown) == [ADMIN]
    assert shown[ADMIN][2:4] == ["administrator", "active"]
    assert shown[ADMIN][4] != "never"  # the session's own login


def test_add_clinician_through_the_form(page: AdminPage, store: Store) -> None:
    add_user(page)
    assert page.dialog is None
    row = users_shown(page)[CLIN]
    assert row[1:] == [CLIN_NAME, "clinician", "active", "never"]
    assert page.users_message.isVisibleTo(page) and CLIN in page.users_message.text()
    assert page._selected_username() == CLIN
    assert Session.sign_in(store, CLIN, CLIN_PASSWORD).user.role == "clinician"


def test_short_password_shows_the_core_message_and_adds_nobody(page: AdminPage, session: Session) -> None:
    dialog = add_user(page, password="short")
    assert page.dialog is dialog and dialog.isVisible()
    assert dialog.message.text().startswith("⚠ Choose a password of at least 12 characters.")
    assert dialog.ok.isEnabled()
    assert [u.username for u in session.users.all()] == [ADMIN]
    assert list(users_shown(page)) == [ADMIN]


def test_mismatched_confirmation_and_bad_user_name_are_explained(page: AdminPage, session: Session) -> None:
    dialog = add_user(page, confirm="something else entirely")
    assert "not the same" in dialog.message.text()
    dialog.username.setText("bad name!")
    dialog.password.setText(CLIN_PASSWORD)
    dialog.confirm.setText(CLIN_PASSWORD)
    dialog.ok.click()
    assert "A user name is up to 64 letters" in dialog.message.text()
    dialog.username.setText(ADMIN)
    dialog.ok.click()
    assert dialog.message.text() == f"⚠ There is already a user called {ADMIN!r}."
    assert len(session.users.all()) == 1
    dialog.reject()
    assert page.dialog is None


def test_disable_asks_naming_the_user_then_login_is_refused(
    page: AdminPage, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(page)
    asked = answer_yes(monkeypatch)
    assert page.select_user(CLIN)
    assert page.disable_button.isEnabled() and not page.enable_button.isEnabled()
    page.disable_button.click()
    assert len(asked) == 1 and CLIN in asked[0] and CLIN_NAME in asked[0]
    assert "Everything they wrote is kept" in asked[0]
    assert users_shown(page)[CLIN][3] == "disabled"
    assert page.enable_button.isEnabled() and not page.disable_button.isEnabled()
    with pytest.raises(LoginFailed, match="disabled"):
        Session.sign_in(store, CLIN, CLIN_PASSWORD)


def test_disable_answered_no_changes_nothing(page: AdminPage, monkeypatch: pytest.MonkeyPatch) -> None:
    add_user(page)
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.No))
    page.select_user(CLIN)
    page.disable_button.click()
    assert users_shown(page)[CLIN][3] == "active"


def test_disabling_yourself_is_refused_inline(page: AdminPage, monkeypatch: pytest.MonkeyPatch) -> None:
    answer_yes(monkeypatch)
    page.select_user(ADMIN)
    page.disable_button.click()
    assert page.users_message.text() == "⚠ You cannot disable your own account."
    assert users_shown(page)[ADMIN][3] == "active"


def test_enable_with_a_new_password(page: AdminPage, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    add_user(page)
    answer_yes(monkeypatch)
    page.select_user(CLIN)
    page.disable_button.click()
    page.enable_button.click()
    dialog = page.dialog
    assert dialog is not None and CLIN in dialog.intro.text()
    dialog.password.setText("too short")
    dialog.confirm.setText("too short")
    dialog.ok.click()
    assert dialog.message.text().startswith("⚠ Choose a password of at least 12 characters.")
    dialog.password.setText("a brand new password")
    dialog.confirm.setText("a brand new password")
    dialog.ok.click()
    assert page.dialog is None
    assert users_shown(page)[CLIN][3] == "active"
    with pytest.raises(LoginFailed):
        Session.sign_in(store, CLIN, CLIN_PASSWORD)
    assert Session.sign_in(store, CLIN, "a brand new password").user.username == CLIN


def open_reset(page: AdminPage, key: str, password: str = "reset password 123") -> Any:
    page.reset_button.click()
    dialog = page.dialog
    assert dialog is not None
    dialog.password.setText(password)
    dialog.confirm.setText(password)
    dialog.recovery_key.setText(key)
    dialog.ok.click()
    return dialog


def test_reset_password_with_the_recovery_key(page: AdminPage, store: Store, recovery_key: str) -> None:
    add_user(page)
    page.select_user(CLIN)
    open_reset(page, recovery_key.lower())  # typed from paper, in lower case
    assert page.dialog is None
    assert "new password" in page.users_message.text()
    assert Session.sign_in(store, CLIN, "reset password 123").user.username == CLIN
    page.apply_filters()
    assert "password_reset" in audit_actions(page)


def test_recovery_key_typo_and_wrong_key_give_specific_messages(
    page: AdminPage, store: Store, recovery_key: str
) -> None:
    add_user(page)
    page.select_user(CLIN)
    groups = recovery_key.split("-")
    groups[3] = groups[3][::-1] if groups[3][::-1] != groups[3] else "ZZZZ"
    dialog = open_reset(page, "-".join(groups))
    assert dialog.message.text() == "⚠ That recovery key has a typo: check each group against the printed copy."
    assert dialog.focusWidget() is dialog.recovery_key
    dialog.recovery_key.setText(recovery_key[:-5])
    dialog.ok.click()
    assert "A recovery key has" in dialog.message.text() and "14 groups of 4" in dialog.message.text()
    _other, other_key = Store.create(
        page.session.store.data_dir.parent / "other", "Other Trust", "adminx", "another long password"
    )
    _other.close()
    dialog.recovery_key.setText(other_key)
    dialog.ok.click()
    assert dialog.message.text() == "⚠ That recovery key does not belong to this store."
    dialog.username.setText("nobody")
    dialog.recovery_key.setText(recovery_key)
    dialog.ok.click()
    assert dialog.message.text() == "⚠ There is no user called 'nobody'."
    assert Session.sign_in(store, CLIN, CLIN_PASSWORD).user.username == CLIN  # unchanged


# --- audit trail -------------------------------------------------------------------------------------
def test_audit_trail_shows_user_changes_newest_first(page: AdminPage, monkeypatch: pytest.MonkeyPatch) -> None:
    add_user(page)
    answer_yes(monkeypatch)
    page.select_user(CLIN)
    page.disable_button.click()
    shown = rows(page.audit_model)
    actions = [r[2] for r in shown]
    assert actions.index("user_disable") < actions.index("user_add") < actions.index("store_created")
    add_row = shown[actions.index("user_add")]
    assert add_row[1] == ADMIN and add_row[4] == f"{CLIN} as clinician"
    assert shown[actions.index("user_disable")][4] == CLIN
    assert page.audit_count.text() == f"{len(shown)} entries, newest first."


def test_filters_by_action_and_by_user_narrow_the_rows(page: AdminPage, store: Store, clock: Any) -> None:
    add_user(page)
    Session.sign_in(store, CLIN, CLIN_PASSWORD)  # a 'login' by the clinician
    page.refresh()
    everything = rows(page.audit_model)
    page.action_filter.setCurrentIndex(page.action_filter.findData("user_add"))
    page.apply_button.click()
    assert audit_actions(page) == ["user_add"]
    page.action_filter.setCurrentIndex(0)
    page.user_filter.setCurrentIndex(page.user_filter.findData(CLIN))
    page.apply_button.click()
    narrowed = rows(page.audit_model)
    assert narrowed and {r[1] for r in narrowed} == {CLIN} and len(narrowed) < len(everything)
    page.action_filter.setCurrentIndex(page.action_filter.findData("user_disable"))
    page.apply_filters()
    assert page.audit_model.rowCount() == 0
    assert page.audit_count.text() == "No audit entries match these filters."


def test_action_filter_lists_every_known_action_sorted(page: AdminPage) -> None:
    items = [page.action_filter.itemData(i) for i in range(page.action_filter.count())]
    assert items[0] is None and items[1:] == sorted(admin_page.ACTIONS)


def test_date_filters(page: AdminPage, clock: Any, session: Session) -> None:
    clock.advance(days=3)
    session.record_event("print", detail="later")
    page.from_check.setChecked(True)
    page.from_date.setDate(page.to_date.date())  # the 'to' date defaults to the clock's today
    page.from_date.setDate(page.from_date.date().addDays(3))
    page.apply_filters()
    assert audit_actions(page) == ["print"]
    page.to_check.setChecked(True)
    page.apply_filters()
    assert "after the ‘to’ date" in page.audit_message.text() and page.audit_model.rowCount() == 0
    page.from_check.setChecked(False)
    page.apply_filters()
    assert "print" not in audit_actions(page) and "login" in audit_actions(page)


def test_nhs_filter(page: AdminPage, session: Session) -> None:
    add_patients(session)
    page.nhs_filter.setText("943 476 5918")
    page.apply_button.click()
    with pytest.raises(InvalidNhsNumber) as expected:
        normalise_nhs_number("943 476 5918")
    assert page.audit_message.text() == f"⚠ {expected.value}"
    assert page.audit_model.rowCount() == 0
    page.nhs_filter.setText("943 476 5919")  # valid, but nobody here has it
    page.nhs_filter.returnPressed.emit()
    assert page.audit_message.text() == "⚠ No patient with NHS number 943 476 5919 is registered in this store."
    formatted = f"{NHS[1][:3]} {NHS[1][3:6]} {NHS[1][6:]}"
    page.nhs_filter.setText(NHS[1])
    page.apply_filters()
    assert not page.audit_message.isVisibleTo(page)
    assert [(r[2], r[3]) for r in rows(page.audit_model)] == [("create", formatted)]


def test_patient_column_shows_the_nhs_number(page: AdminPage, session: Session) -> None:
    add_patients(session)
    page.apply_filters()
    shown = {r[3] for r in rows(page.audit_model) if r[2] == "create"}
    assert shown == {f"{n[:3]} {n[3:6]} {n[6:]}" for n in NHS}


def test_says_when_only_the_newest_are_shown(
    page: AdminPage, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        session.record_event("print")
    monkeypatch.setattr(admin_page, "AUDIT_LIMIT", 2)
    page.apply_filters()
    assert audit_actions(page) == ["print", "print"]
    assert page.audit_count.text().startswith("Showing newest 2 entries")


def test_verify_now_reports_intact_and_is_audited(page: AdminPage) -> None:
    assert page.verify_state.text() == "Not checked yet"
    page.verify_button.click()
    text = page.verify_state.text()
    assert text.startswith("Intact: ") and "versions authenticate; audit chain of" in text and "unbroken" in text
    assert page.verify_button.isEnabled()
    assert audit_actions(page)[0] == "verify"


def test_verify_reports_problems(page: AdminPage, monkeypatch: pytest.MonkeyPatch) -> None:
    report = admin_page.VerifyReport(3, 9, [f"problem {i}" for i in range(25)])
    monkeypatch.setattr(admin_page, "verify_with_hub", lambda session, progress=None: report)
    page.verify_button.click()
    text = page.verify_state.text()
    assert text.startswith("PROBLEMS FOUND: 25") and "• problem 0" in text and "• problem 19" in text
    assert "• problem 20" not in text and "5 more" in text
    assert page.verify_state.property("role") == "error"


# --- clear, non-admin, background work ----------------------------------------------------------------
def test_clear_leaves_no_user_or_patient_data(
    page: AdminPage, session: Session, monkeypatch: pytest.MonkeyPatch, recovery_key: str
) -> None:
    add_patients(session)
    add_user(page)
    answer_yes(monkeypatch)
    page.select_user(CLIN)
    page.disable_button.click()  # "Disabled nurse.jones" message
    page.nhs_filter.setText(NHS[0])
    page.apply_filters()
    page.verify_button.click()
    page.user_filter.setCurrentIndex(page.user_filter.findData(CLIN))
    page.reset_button.click()  # a dialog prefilled with the user name, a typed recovery key
    page.dialog.recovery_key.setText(recovery_key)
    page.nhs_filter.setText("")
    page.nhs_filter.setText(NHS[1])
    page.nhs_filter.setText(NHS[1] + "x")
    page.nhs_filter.undo()  # an undo history holding NHS numbers
    secrets = [CLIN, CLIN_NAME, recovery_key, *NHS, *(f"{n[:3]} {n[3:6]} {n[6:]}" for n in NHS)]
    before = "\n".join(all_text(page))
    assert all(s in before for s in (CLIN, NHS[1], f"{NHS[0][:3]} {NHS[0][3:6]} {NHS[0][6:]}", recovery_key))

    page.clear()
    flush_deletes()
    after = all_text(page)
    leaks = [(s, t) for t in after for s in secrets if s in t]
    assert leaks == []
    assert "<undo history left in a line edit>" not in after
    assert page.dialog is None
    assert page.users_model.rowCount() == page.audit_model.rowCount() == 0
    assert page.verify_state.text() == "Not checked yet"
    page.refresh()  # unlocked again: everything comes back
    assert CLIN in users_shown(page)


class DeferredOps:
    """Holds work until `finish()`, like a slow worker thread."""

    def __init__(self) -> None:
        self.pending: list[tuple[Callable[[], Any], Any, Any]] = []

    def run(self, fn: Callable[[], Any], on_done: Any = None, on_error: Any = None) -> None:
        self.pending.append((fn, on_done, on_error))

    def finish(self) -> None:
        inline = Operations(synchronous=True)  # run as jobs are (the GUI-thread guard sees a job)
        while self.pending:
            inline.run(*self.pending.pop(0))


def test_answers_arriving_after_clear_are_dropped(qtbot: Any, session: Session) -> None:
    ops = DeferredOps()
    p = AdminPage(session, ops)  # type: ignore[arg-type]
    qtbot.addWidget(p)
    p.refresh()
    p.clear()
    ops.finish()
    assert p.users_model.rowCount() == 0 and p.audit_model.rowCount() == 0
    assert p.user_filter.count() == 1


def test_real_background_thread(qtbot: Any, session: Session) -> None:
    ops = Operations()
    p = AdminPage(session, ops)
    qtbot.addWidget(p)
    p.refresh()
    p.verify_now()
    assert p.verify_state.text().startswith("Checking")
    qtbot.waitUntil(lambda: p.verify_state.text().startswith("Intact"), timeout=10000)
    qtbot.waitUntil(lambda: p.audit_model.rowCount() > 0 and not ops.busy, timeout=10000)
    assert ADMIN in users_shown(p)
    assert ops.wait()


def test_non_admin_sees_only_the_explanation(qtbot: Any, page: AdminPage, store: Store) -> None:
    add_user(page)
    clinician = Session.sign_in(store, CLIN, CLIN_PASSWORD)
    p = AdminPage(clinician, Operations(synchronous=True))
    qtbot.addWidget(p)
    p.refresh()
    p.clear()
    texts = [w.text() for w in p.findChildren(QLabel)]
    assert texts == [admin_page.NON_ADMIN_TEXT] and "for administrators" in texts[0]
    assert not p.findChildren(QAbstractButton) and not p.findChildren(QAbstractItemView)
    assert not p.findChildren(QLineEdit) and not p.findChildren(QComboBox)


def test_every_control_is_named_and_labels_have_buddies(page: AdminPage) -> None:
    controls = [page.tabs, page.users_table, page.audit_table, page.user_filter, page.nhs_filter]
    controls += [page.action_filter, page.from_check, page.from_date, page.to_check, page.to_date]
    controls += [page.add_button, page.disable_button, page.enable_button, page.reset_button]
    controls += [page.refresh_button, page.apply_button, page.verify_button, page.verify_state, page.audit_count]
    assert all(w.accessibleName() for w in controls)
    assert len({w.accessibleName() for w in controls}) == len(controls)
    for label in page.findChildren(QLabel):
        if "&" in label.text():
            assert label.buddy() is not None, label.text()
    assert page.tabs.tabText(0).startswith("&Users") and "Alt+U" in page.tabs.tabText(0)
    assert page.tabs.tabText(1).startswith("&Audit trail") and "Alt+A" in page.tabs.tabText(1)
    assert "Ctrl+Shift+N" in page.add_button.text()  # Ctrl+N is the window's "New patient"
    page.add_button.click()
    dialog = page.dialog
    fields = [dialog.username, dialog.full_name, dialog.role, dialog.password, dialog.confirm, dialog.ok]
    assert all(w.accessibleName() for w in fields)
    assert all(label.buddy() is not None for label in dialog.findChildren(QLabel) if "&" in label.text())


# --- on screen -------------------------------------------------------------------------------------
@pytest.fixture
def themed() -> Iterator[None]:
    app = QApplication.instance()
    style, palette, sheet, font = app.style().name(), app.palette(), app.styleSheet(), app.font()
    apply_theme(app, "light")
    yield
    app.setStyleSheet(sheet)
    app.setPalette(palette)
    app.setStyle(style)
    app.setFont(font)


def populate(page: AdminPage, session: Session, store: Store, monkeypatch: pytest.MonkeyPatch, clock: Any) -> None:
    add_patients(session)
    add_user(page)
    add_user(page, "dr.patel", "Dr Priya Patel", "clinician", "patel password 99")
    add_user(page, "it.admin", "Chris Lee (IT)", "admin", "chris admin password")
    add_user(page, "locum.smith", "Alex Smith", "clinician", "locum password 1")
    clock.advance(hours=2)
    Session.sign_in(store, CLIN, CLIN_PASSWORD)
    clock.advance(minutes=5)
    Session.sign_in(store, "dr.patel", "patel password 99")
    answer_yes(monkeypatch)
    page.select_user("locum.smith")
    page.disable_button.click()
    session.patients.get(session.patients.all()[0].record_id)
    page.refresh()


def test_shown_on_screen(
    qtbot: Any,
    themed: None,
    page: AdminPage,
    session: Session,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    clock: Any,
    tmp_path: Path,
) -> None:
    populate(page, session, store, monkeypatch, clock)
    page.resize(1100, 700)
    page.show()
    qtbot.waitExposed(page)
    page.select_user(CLIN)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = page.grab()
    assert not shot.isNull() and shot.width() >= 1000
    assert shot.save(str(tmp_path / "admin_users.png"))
    assert shot.save(str(SHOTS / "admin_users.png"))
    page.tabs.setCurrentIndex(1)
    page.verify_now()
    qtbot.wait(10)
    shot = page.grab()
    assert shot.save(str(tmp_path / "admin_audit.png"))
    assert shot.save(str(SHOTS / "admin_audit.png"))
    # everything fits without clipping: the page asks for no more room than it was given
    hint = page.minimumSizeHint()
    assert hint.width() <= 1100 and hint.height() <= 700


def test_doubled_font_still_fits_a_large_screen(
    qtbot: Any, themed: None, session: Session, store: Store, monkeypatch: pytest.MonkeyPatch, clock: Any
) -> None:
    app = QApplication.instance()
    big = QFont(app.font())
    big.setPointSizeF(app.font().pointSizeF() * 2)
    app.setFont(big)
    page = AdminPage(session, Operations(synchronous=True))
    qtbot.addWidget(page)
    page.refresh()
    populate(page, session, store, monkeypatch, clock)
    page.resize(1900, 1000)
    page.show()
    qtbot.waitExposed(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.grab().save(str(SHOTS / "admin_users_2x.png"))
    page.tabs.setCurrentIndex(1)
    page.grab().save(str(SHOTS / "admin_audit_2x.png"))
    hint = page.minimumSizeHint()
    assert hint.width() <= 1900 and hint.height() <= 1000


def test_enter_in_the_filters_applies_them(qtbot: Any, page: AdminPage) -> None:
    with qtbot.waitActive(page):
        page.show()
        page.activateWindow()
    page.tabs.setCurrentIndex(1)
    page.action_filter.setCurrentIndex(page.action_filter.findData("store_created"))
    page.action_filter.setFocus()
    qtbot.keyClick(page.action_filter, Qt.Key.Key_Return)
    assert audit_actions(page) == ["store_created"]
    page.action_filter.setCurrentIndex(page.action_filter.findData("login"))
    page.nhs_filter.setFocus()
    qtbot.keyClick(page.nhs_filter, Qt.Key.Key_Enter)
    assert audit_actions(page) == ["login"]


def test_rows_follow_the_font_size(qtbot: Any, page: AdminPage) -> None:
    before = page.audit_table.verticalHeader().defaultSectionSize()
    big = QFont(page.font())
    big.setPointSizeF(page.font().pointSizeF() * 2)
    page.setFont(big)
    assert page.audit_table.verticalHeader().defaultSectionSize() >= before * 1.8

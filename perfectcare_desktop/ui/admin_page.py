"""The administrators' page: users (add, disable, enable, reset a password), the audit trail with the
whole-store integrity check, and the access report for one person (who saw their record, where, when).

Every store call runs through `Operations`; results come back as plain values and are put into widgets
on the GUI thread. `clear()` (called when the app locks) drops every user name, NHS number and detail
shown, and makes any answer still on its way be ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, cast

from PySide6.QtCore import QDate, QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QSizePolicy,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.access.accounts import UserInfo
from ..core.access.session import Session
from ..core.access.sign_in import reset_password_with_recovery
from ..core.patients.nhs_number import format_nhs_number
from ..core.storage.access_report import COLUMNS, AccessReport, access_report, to_csv
from ..core.storage.audit import ACTIONS
from ..core.storage.files import atomic_write
from ..core.storage.verify import VerifyReport
from ..errors import NotFound, PerfectCareError
from ..sync.audit_anchor import verify_with_hub
from .operation import Operations
from .table_model import RowsModel
from .widgets import Message, heading, shortcut_button

AUDIT_LIMIT = 1000  # newest entries shown; the filters narrow the rest
MAX_PROBLEMS_SHOWN = 20
ROLE_NAMES = {"clinician": "clinician", "admin": "administrator"}
NOT_CHECKED = "Not checked yet"
NON_ADMIN_TEXT = (
    "This page is for administrators. Ask an administrator in your organisation to add or disable a user, "
    "reset a password or look at the audit trail."
)
_ROW = Qt.ItemDataRole


def _local(at: datetime | None, seconds: bool = True) -> str:
    """A naive UTC time from the store, shown in the PC's local time."""
    if at is None:
        return "never"
    return at.replace(tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _utc_start_of(day: date) -> datetime:
    """Local midnight at the start of `day`, as the naive UTC the store keeps."""
    return datetime.combine(day, time()).astimezone(UTC).replace(tzinfo=None)


def _chars(widget: QWidget, n: int) -> int:
    """A width of `n` average characters in the widget's font (so doubled fonts get doubled widths)."""
    return widget.fontMetrics().averageCharWidth() * n


# --- models ------------------------------------------------------------------------------------------
class UsersModel(RowsModel):
    HEADERS = ("User name", "Name", "Role", "Status", "Last sign-in")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(self.HEADERS, parent=parent)
        self.users: list[UserInfo] = []

    def set_users(self, users: list[UserInfo]) -> None:
        self.users = list(users)
        self.set_rows(
            [
                (
                    u.username,
                    u.display_name,
                    ROLE_NAMES.get(u.role, u.role),
                    "active" if u.active else "disabled",
                    _local(u.last_login_at, seconds=False),
                )
                for u in users
            ]
        )

    def clear(self) -> None:
        self.users = []
        super().clear()

    def row_of(self, username: str) -> int:
        return next((i for i, u in enumerate(self.users) if u.username == username), -1)


class AuditModel(RowsModel):
    HEADERS = ("Time", "User", "Action", "Patient", "Detail")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(self.HEADERS, tip_columns=(4,), parent=parent)


class ReportModel(RowsModel):
    """The access report's events: when, who, what, which PC, detail."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(COLUMNS, tip_columns=(4,), parent=parent)


REPORT_INTRO = (
    "Who viewed, changed, printed or exported one person's record, on which PC and when: for subject access "
    "requests and Caldicott reviews. Other PCs' entries arrive when this PC syncs while an administrator is "
    "signed in. Running the report is itself recorded in the audit trail."
)


def _save_report(report: AccessReport, path: Path, kind: str) -> Path:
    """Runs in the worker: lays out the file and writes it (readable by this user only)."""
    if kind == "pdf":
        from ..export.access_report import render_access_report
        from ..export.branding import load_branding
        from ..export.fonts import load_fonts

        data = render_access_report(report, load_fonts(), load_branding())
    else:
        data = to_csv(report)
    atomic_write(path, data)  # the file dialog has asked before replacing a file
    return path


@dataclass(frozen=True)
class _AuditQuery:
    username: str | None
    nhs_number: str
    action: str | None
    since: datetime | None
    until: datetime | None


class _VerifyProgress(QObject):
    """Emitted from the worker; Qt queues the call to the GUI thread."""

    advanced = Signal(int, int)


def _read_audit(session: Session, q: _AuditQuery, limit: int) -> tuple[list[tuple[str, ...]], bool]:
    """Runs in the worker: reads and formats; returns plain strings only."""
    names = {u.user_id: u.username for u in session.users.all()}
    patient_id = None
    if q.nhs_number:
        found = session.patients.find_by_nhs_number(q.nhs_number)
        if found is None:
            raise NotFound(f"No patient with NHS number {format_nhs_number(q.nhs_number)} is registered in this store.")
        patient_id = found.record_id
    entries = session.audit_trail(
        username=q.username, patient_id=patient_id, action=q.action, since=q.since, until=q.until, limit=limit + 1
    )
    truncated = len(entries) > limit
    patients = {p.record_id: p.details.nhs_number_formatted for p in session.patients.all()}
    rows: list[tuple[str, ...]] = []
    for e in entries[:limit]:
        user = names.get(e.user_id, f"user {e.user_id[:8]}") if e.user_id else "—"
        patient = ""
        if e.patient_id:
            patient = patients.get(e.patient_id) or f"record {e.patient_id[:8]}"
        rows.append((_local(e.at), user, e.action, patient, e.detail))
    return rows, truncated


# --- dialogs -----------------------------------------------------------------------------------------
class _FormDialog(QDialog):
    """A small form with an inline message; the page does the work when it is submitted."""

    def __init__(self, title: str, intro: str, submit_text: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setModal(True)
        self.submitted: Callable[[], None] = lambda: None
        self._focus_rules: list[tuple[str, QWidget]] = []
        self.intro = QLabel(intro, self)
        self.intro.setWordWrap(True)
        self.form = QFormLayout()
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.message = Message(self)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, parent=self
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(submit_text)
        self.ok.setAccessibleName(submit_text.replace("&", ""))
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        self.buttons.accepted.connect(lambda: self.submitted())
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(self.form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(_chars(self, 70))

    def line(self, label: str, name: str, *, secret: bool = False, focus_on: tuple[str, ...] = ()) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setAccessibleName(name)
        if secret:
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.add_row(label, edit)
        self._focus_rules.extend((word, edit) for word in focus_on)
        return edit

    def add_row(self, label: str, field: QWidget) -> None:
        caption = QLabel(label, self)
        caption.setBuddy(field)
        self.form.addRow(caption, field)

    def set_busy(self, busy: bool) -> None:
        self.ok.setEnabled(not busy)
        if busy:
            self.message.show_ok("Working…")
            self._fit()

    def _fit(self) -> None:
        """Grow to fit a message that wrapped onto more lines (top-level windows ignore height-for-width)."""
        layout = self.layout()
        assert layout is not None  # the QVBoxLayout made in __init__
        layout.activate()
        needed = layout.totalHeightForWidth(self.width()) if layout.hasHeightForWidth() else -1
        needed = max(needed, layout.totalMinimumSize().height())
        if self.height() < needed:
            self.resize(self.width(), needed)

    def show_error(self, text: str) -> None:
        self.set_busy(False)
        self.message.show_error(text)
        self._fit()
        lowered = text.lower()
        for word, field in self._focus_rules:
            if word in lowered:
                field.setFocus()
                if isinstance(field, QLineEdit):
                    field.selectAll()
                return

    def wipe(self) -> None:
        """Forget everything typed or shown (setText also clears the undo history)."""
        for edit in self.findChildren(QLineEdit):
            edit.setText("")
        self.intro.setText("")
        self.message.clear_message()
        self.message.setAccessibleDescription("")


class AddUserDialog(_FormDialog):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(
            "Add user",
            "The new user signs in with this user name and password. Give them the password in person; "
            "they can change it once signed in.",
            "Add user",
            parent,
        )
        self.username = self.line("&User name", "User name", focus_on=("user name", "already a user"))
        self.full_name = self.line("&Full name", "Full name", focus_on=("name",))
        self.role = QComboBox(self)
        self.role.setAccessibleName("Role")
        self.role.addItem("Clinician", "clinician")
        self.role.addItem("Administrator", "admin")
        self.add_row("&Role", self.role)
        self.password = self.line("&Password", "Password", secret=True, focus_on=("password",))
        self.confirm = self.line("Co&nfirm password", "Confirm password", secret=True)
        self._focus_rules.sort(key=lambda rule: rule[0] != "already a user")  # most specific first


class EnableUserDialog(_FormDialog):
    def __init__(self, user: UserInfo, parent: QWidget) -> None:
        super().__init__(
            "Enable user",
            f"Enable {user.username} ({user.display_name}) again. Their old password stopped working when the "
            "account was disabled, so choose a new one and give it to them in person.",
            "Enable user",
            parent,
        )
        self.username = user.username
        self.password = self.line("&New password", "New password", secret=True, focus_on=("password",))
        self.confirm = self.line("Co&nfirm new password", "Confirm new password", secret=True)


class ResetPasswordDialog(_FormDialog):
    def __init__(self, username: str, parent: QWidget) -> None:
        super().__init__(
            "Reset password with recovery key",
            "For someone who has forgotten their password. This needs the organisation's recovery key: the "
            "printed copy made when the store was created. Everything they wrote is kept.",
            "Reset password",
            parent,
        )
        self.username = self.line("&User name", "User name", focus_on=("user",))
        self.username.setText(username)
        self.password = self.line("&New password", "New password", secret=True, focus_on=("password",))
        self.confirm = self.line("Co&nfirm new password", "Confirm new password", secret=True)
        self.recovery_key = self.line("&Recovery key", "Recovery key", focus_on=("recovery key",))
        self.recovery_key.setPlaceholderText("XXXX-XXXX-… (14 groups of 4)")
        self.recovery_key.setMinimumWidth(_chars(self, 72))
        self._focus_rules.sort(key=lambda rule: rule[0] != "recovery key")


# --- the page ----------------------------------------------------------------------------------------
class AdminPage(QWidget):
    """Users and the audit trail, for administrators. `refresh()` loads, `clear()` forgets."""

    def __init__(self, session: Session, ops: Operations, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.ops = ops
        self.dialog: _FormDialog | None = None
        self._generation = 0  # bumped by clear(): answers to older requests are dropped
        self._stale = True
        self.setAccessibleName("Administration")
        outer = QVBoxLayout(self)
        if not session.is_admin:
            self.tabs = None
            self.notice = QLabel(NON_ADMIN_TEXT, self)
            self.notice.setWordWrap(True)
            self.notice.setAccessibleName(NON_ADMIN_TEXT)
            outer.addWidget(self.notice)
            outer.addStretch(1)
            return
        outer.addWidget(heading("Administration", self))
        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName("Administration sections")
        self.tabs.addTab(self._build_users_tab(), self._tab_text("&Users", "Alt+U"))
        self.tabs.addTab(self._build_audit_tab(), self._tab_text("&Audit trail", "Alt+A"))
        self.tabs.addTab(self._build_report_tab(), self._tab_text("Access &report", "Alt+R"))
        self.tabs.setTabToolTip(0, "Users — Alt+U")
        self.tabs.setTabToolTip(1, "Audit trail and integrity check — Alt+A")
        self.tabs.setTabToolTip(2, "Who has seen a person's record — Alt+R")
        outer.addWidget(self.tabs, 1)
        self._fit_font()

    @staticmethod
    def _tab_text(text: str, keys: str) -> str:
        return f"{text}  ({QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)})"

    # --- building --------------------------------------------------------------------------------
    def _build_users_tab(self) -> QWidget:
        tab = QWidget(self)
        tab.setAccessibleName("Users")
        intro = QLabel(
            "Everyone who can sign in to this store. Disabling someone stops them signing in; "
            "everything they wrote is kept, under their name.",
            tab,
        )
        intro.setWordWrap(True)
        self.users_model = UsersModel(self)
        self.users_table = self._table(self.users_model, "Users", tab, stretch=1)
        self.users_table.selectionModel().selectionChanged.connect(self._update_user_buttons)
        self.add_button = shortcut_button("Add user…", "Ctrl+Shift+N", self._open_add, tab, name="add_user")
        self.disable_button = shortcut_button(
            "Disable selected…", "Ctrl+D", self._disable_selected, tab, name="disable_user"
        )
        self.enable_button = shortcut_button("Enable selected…", "Ctrl+E", self._open_enable, tab, name="enable_user")
        self.reset_button = shortcut_button(
            "Reset password\nwith recovery key…", "Ctrl+R", self._open_reset, tab, name="reset_password"
        )
        self.reset_button.setAccessibleName("Reset password with recovery key")
        self.reset_button.setToolTip("Reset password with recovery key — Ctrl+R")
        self.refresh_button = shortcut_button("Refresh", "F5", self.refresh, tab, name="refresh_users")
        self.users_message = Message(tab)

        buttons = QVBoxLayout()
        for button in (self.add_button, self.disable_button, self.enable_button, self.reset_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        body = QHBoxLayout()
        body.addWidget(self.users_table, 1)
        body.addLayout(buttons)
        layout = QVBoxLayout(tab)
        layout.addWidget(intro)
        layout.addLayout(body, 1)
        layout.addWidget(self.users_message)
        order = [self.users_table, self.add_button, self.disable_button, self.enable_button]
        order += [self.reset_button, self.refresh_button]
        for first, second in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(first, second)
        self._update_user_buttons()
        return tab

    def _build_audit_tab(self) -> QWidget:
        tab = QWidget(self)
        tab.setAccessibleName("Audit trail")
        self.filters = QGroupBox("Filters", tab)
        self.filters.setAccessibleName("Audit trail filters")
        self.user_filter = QComboBox(self.filters)
        self.user_filter.setAccessibleName("User")
        self.user_filter.addItem("All users", None)
        self.user_filter.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.nhs_filter = QLineEdit(self.filters)
        self.nhs_filter.setAccessibleName("Patient NHS number")
        self.nhs_filter.setPlaceholderText("any patient")
        self.nhs_filter.setClearButtonEnabled(True)
        self.nhs_filter.returnPressed.connect(self.apply_filters)
        self.action_filter = QComboBox(self.filters)
        self.action_filter.setAccessibleName("Action")
        self.action_filter.addItem("All actions", None)
        for action in sorted(ACTIONS):
            self.action_filter.addItem(action, action)
        today = self._today()
        self.from_check, self.from_date = self._date_filter("&From", "From date", today - timedelta(days=30))
        self.to_check, self.to_date = self._date_filter("&To", "To date", today)
        self.apply_button = shortcut_button("Apply filters", "Enter", self.apply_filters, self.filters, name="apply")
        # Enter applies only while focus is in the filters (not on the table or the Verify button).
        self.apply_button.setShortcut(QKeySequence())
        for key in ("Return", "Enter"):
            shortcut = QShortcut(QKeySequence(key), self.filters)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.apply_filters)

        grid = QGridLayout(self.filters)
        for col, (text, field) in enumerate(
            (("Us&er", self.user_filter), ("&NHS number", self.nhs_filter), ("A&ction", self.action_filter))
        ):
            caption = QLabel(text, self.filters)
            caption.setBuddy(field)
            grid.addWidget(caption, 0, col * 2)
            grid.addWidget(field, 0, col * 2 + 1)
        grid.addWidget(self.from_check, 1, 0)
        grid.addWidget(self.from_date, 1, 1)
        grid.addWidget(self.to_check, 1, 2)
        grid.addWidget(self.to_date, 1, 3)
        grid.addWidget(self.apply_button, 1, 5)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        grid.setColumnStretch(5, 1)

        self.audit_message = Message(tab)
        self.audit_count = QLabel("", tab)
        self.audit_count.setAccessibleName("Audit entries shown")
        self.audit_model = AuditModel(self)
        self.audit_table = self._table(self.audit_model, "Audit trail entries", tab, stretch=4)

        self.integrity = QGroupBox("Integrity check", tab)
        self.integrity.setAccessibleName("Integrity check")
        self.verify_button = shortcut_button("Verify now", "Ctrl+Shift+V", self.verify_now, self.integrity, "verify")
        self.verify_state = QLabel(NOT_CHECKED, self.integrity)
        self.verify_state.setWordWrap(True)
        self.verify_state.setAccessibleName("Integrity check result")
        self.verify_state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._verify_progress = _VerifyProgress(self)
        self._verify_progress.advanced.connect(self._verify_advanced)
        check = QHBoxLayout(self.integrity)
        check.addWidget(self.verify_button, 0, Qt.AlignmentFlag.AlignTop)
        check.addWidget(self.verify_state, 1)

        layout = QVBoxLayout(tab)
        layout.addWidget(self.filters)
        layout.addWidget(self.audit_message)
        layout.addWidget(self.audit_count)
        layout.addWidget(self.audit_table, 1)
        layout.addWidget(self.integrity)
        order = [self.user_filter, self.nhs_filter, self.action_filter, self.from_check, self.from_date]
        order += [self.to_check, self.to_date, self.apply_button, self.audit_table, self.verify_button]
        for first, second in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(first, second)
        return tab

    def _build_report_tab(self) -> QWidget:
        tab = QWidget(self)
        tab.setAccessibleName("Access report")
        intro = QLabel(REPORT_INTRO, tab)
        intro.setWordWrap(True)
        self.report_nhs = QLineEdit(tab)
        self.report_nhs.setAccessibleName("NHS number of the person")
        self.report_nhs.setPlaceholderText("e.g. 943 476 5919")
        self.report_nhs.setClearButtonEnabled(True)
        self.report_nhs.returnPressed.connect(self.run_report)
        caption = QLabel("&NHS number", tab)
        caption.setBuddy(self.report_nhs)
        self.report_button = shortcut_button("Run report", None, self.run_report, tab, name="run_report")
        self.save_csv_button = shortcut_button("Save &CSV…", None, lambda: self.save_report("csv"), tab,
                                               name="save_report_csv")  # fmt: skip
        self.save_pdf_button = shortcut_button("Save P&DF…", None, lambda: self.save_report("pdf"), tab,
                                               name="save_report_pdf")  # fmt: skip
        self.report_message = Message(tab)
        self.report_summary = QLabel("", tab)
        self.report_summary.setWordWrap(True)
        self.report_summary.setAccessibleName("Access report summary")
        self.report_model = ReportModel(self)
        self.report_table = self._table(self.report_model, "Access report events", tab, stretch=4)
        self.report: AccessReport | None = None

        ask = QHBoxLayout()
        ask.addWidget(caption)
        ask.addWidget(self.report_nhs, 1)
        ask.addWidget(self.report_button)
        save = QHBoxLayout()
        save.addStretch(1)
        save.addWidget(self.save_csv_button)
        save.addWidget(self.save_pdf_button)
        layout = QVBoxLayout(tab)
        layout.addWidget(intro)
        layout.addLayout(ask)
        layout.addWidget(self.report_message)
        layout.addWidget(self.report_summary)
        layout.addWidget(self.report_table, 1)
        layout.addLayout(save)
        order = [self.report_nhs, self.report_button, self.report_table, self.save_csv_button, self.save_pdf_button]
        for first, second in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(first, second)
        self._show_report(None)
        return tab

    def _date_filter(self, text: str, name: str, day: date) -> tuple[QCheckBox, QDateEdit]:
        check = QCheckBox(text, self.filters)
        check.setAccessibleName(f"Use {name.lower()}")
        edit = QDateEdit(QDate(day.year, day.month, day.day), self.filters)
        edit.setAccessibleName(name)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("d MMM yyyy")
        edit.setEnabled(False)
        check.toggled.connect(edit.setEnabled)
        return check, edit

    def _table(self, model: RowsModel, name: str, parent: QWidget, stretch: int) -> QTableView:
        table = QTableView(parent)
        table.setModel(model)
        table.setAccessibleName(name)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move within it
        table.setWordWrap(False)
        table.verticalHeader().hide()
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        return table

    def _fit_font(self) -> None:
        """Sizes that follow the font (a doubled app font gets doubled rows and fields)."""
        for table in (self.users_table, self.audit_table, self.report_table):
            table.verticalHeader().setDefaultSectionSize(int(self.fontMetrics().height() * 1.6))
        self.nhs_filter.setMinimumWidth(_chars(self, 16))
        self.report_nhs.setMinimumWidth(_chars(self, 16))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange and self.tabs is not None:
            self._fit_font()

    def _today(self) -> date:
        return self.session.store.clock.now().replace(tzinfo=UTC).astimezone().date()

    # --- public API ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the users and the audit trail (with the filters as set)."""
        if self.tabs is None:
            return
        self._stale = False
        self._load_users()
        self.apply_filters()

    def clear(self) -> None:
        """Forget every value shown (the app is locking). Answers still on their way are dropped."""
        self._generation += 1
        self._stale = True
        if self.tabs is None:
            return
        for box in self.findChildren(QMessageBox):  # a confirmation naming a user, still open
            box.reject()
        if self.dialog is not None:
            self._close_dialog(self.dialog)
        self.users_table.clearSelection()
        self.users_model.clear()
        self.audit_model.clear()
        self.user_filter.clear()
        self.user_filter.addItem("All users", None)
        self.nhs_filter.setText("")  # setText, not clear(): clear() can be undone with Ctrl+Z
        self.action_filter.setCurrentIndex(0)
        self.audit_count.setText("")
        self.report_nhs.setText("")
        self._show_report(None)
        for message in (self.users_message, self.audit_message, self.report_message):
            message.clear_message()
            message.setAccessibleDescription("")
        self._set_verify_state(NOT_CHECKED, None)
        self.verify_button.setEnabled(True)
        self._update_user_buttons()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if self._stale and not self.session.locked:
            self.refresh()

    # --- running work ----------------------------------------------------------------------------
    def _run(
        self, fn: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[PerfectCareError], None]
    ) -> None:
        """Run `fn` through ops; callbacks are dropped if the page was cleared meanwhile."""
        generation = self._generation

        def on_done(value: Any) -> None:
            if generation == self._generation:
                done(value)

        def on_error(error: BaseException) -> None:
            if not isinstance(error, PerfectCareError):
                raise error  # a bug, not a message for the user
            if generation == self._generation:
                failed(error)

        self.ops.run(fn, on_done, on_error)

    # --- users -----------------------------------------------------------------------------------
    def _load_users(self, select: str | None = None) -> None:
        keep = select or self._selected_username()
        session = self.session
        self._run(session.users.all, lambda users: self._show_users(users, keep), self._users_failed)

    def _users_failed(self, error: PerfectCareError) -> None:
        self.users_message.show_error(str(error))

    def _show_users(self, users: list[UserInfo], select: str | None) -> None:
        self.users_model.set_users(users)
        row = self.users_model.row_of(select) if select else -1
        if row >= 0:
            self.users_table.selectRow(row)
        self._update_user_buttons()
        chosen = self.user_filter.currentData()
        self.user_filter.clear()
        self.user_filter.addItem("All users", None)
        for user in users:
            self.user_filter.addItem(user.username, user.username)
        self.user_filter.setCurrentIndex(max(0, self.user_filter.findData(chosen)) if chosen else 0)

    def _selected_user(self) -> UserInfo | None:
        rows = self.users_table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.users_model.users):
            return None
        return self.users_model.users[rows[0].row()]

    def _selected_username(self) -> str | None:
        user = self._selected_user()
        return user.username if user else None

    def select_user(self, username: str) -> bool:
        """Select a user's row (keyboard users do the same with the arrow keys)."""
        row = self.users_model.row_of(username)
        if row >= 0:
            self.users_table.selectRow(row)
        return row >= 0

    def _update_user_buttons(self, *_args: object) -> None:
        user = self._selected_user()
        self.disable_button.setEnabled(user is not None and user.active)
        self.enable_button.setEnabled(user is not None and not user.active)

    def _open_dialog(self, dialog: _FormDialog) -> _FormDialog:
        if self.dialog is not None:
            self._close_dialog(self.dialog)
        self.dialog = dialog
        dialog.finished.connect(lambda _result: self._close_dialog(dialog))
        self.users_message.clear_message()
        dialog.open()
        return dialog

    def _close_dialog(self, dialog: _FormDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
            dialog.wipe()
            dialog.hide()
            dialog.deleteLater()

    def _open_add(self) -> None:
        dialog = AddUserDialog(self)
        dialog.submitted = lambda: self._submit_add(dialog)
        self._open_dialog(dialog)

    def _open_enable(self) -> None:
        user = self._selected_user()
        if user is None or user.active:
            self.users_message.show_error("Select a disabled user in the table first.")
            return
        dialog = EnableUserDialog(user, self)
        dialog.submitted = lambda: self._submit_enable(dialog)
        self._open_dialog(dialog)

    def _open_reset(self) -> None:
        dialog = ResetPasswordDialog(self._selected_username() or "", self)
        dialog.submitted = lambda: self._submit_reset(dialog)
        self._open_dialog(dialog)
        (dialog.password if dialog.username.text() else dialog.username).setFocus()

    @staticmethod
    def _passwords_match(dialog: AddUserDialog | EnableUserDialog | ResetPasswordDialog) -> bool:
        if dialog.password.text() == dialog.confirm.text():
            return True
        dialog.show_error("The two passwords are not the same: type the new password in both boxes.")
        dialog.confirm.setText("")
        dialog.confirm.setFocus()
        return False

    def _submit_add(self, dialog: AddUserDialog) -> None:
        if not self._passwords_match(dialog):
            return
        username, full_name = dialog.username.text().strip(), dialog.full_name.text().strip()
        role, password = dialog.role.currentData(), dialog.password.text()
        session = self.session
        dialog.set_busy(True)
        self._run(
            lambda: session.users.add(username, role, password, full_name),
            lambda _id: self._dialog_done(
                dialog, f"Added {username} as {ROLE_NAMES[role]}. They can sign in now.", username
            ),
            lambda error: self._dialog_failed(dialog, error),
        )

    def _submit_enable(self, dialog: EnableUserDialog) -> None:
        if not self._passwords_match(dialog):
            return
        username, password = dialog.username, dialog.password.text()
        session = self.session
        dialog.set_busy(True)
        self._run(
            lambda: session.users.enable(username, password),
            lambda _none: self._dialog_done(
                dialog, f"Enabled {username}. They sign in with the new password.", username
            ),
            lambda error: self._dialog_failed(dialog, error),
        )

    def _submit_reset(self, dialog: ResetPasswordDialog) -> None:
        username = dialog.username.text().strip()
        if not username:
            dialog.show_error("Enter the user name of the person whose password is being reset.")
            return
        if not self._passwords_match(dialog):
            return
        password, key = dialog.password.text(), dialog.recovery_key.text()
        store = self.session.store
        dialog.set_busy(True)
        self._run(
            lambda: reset_password_with_recovery(store, key, username, password),
            lambda _none: self._dialog_done(dialog, f"Set a new password for {username}.", username),
            lambda error: self._dialog_failed(dialog, error),
        )

    def _dialog_done(self, dialog: _FormDialog, text: str, select: str) -> None:
        if self.dialog is dialog:
            dialog.accept()
        self.users_message.show_ok(text)
        self._load_users(select=select)
        self.apply_filters()

    def _dialog_failed(self, dialog: _FormDialog, error: PerfectCareError) -> None:
        if self.dialog is dialog:
            dialog.show_error(str(error))
        else:
            self.users_message.show_error(str(error))

    def _disable_selected(self) -> None:
        user = self._selected_user()
        if user is None or not user.active:
            self.users_message.show_error("Select an active user in the table first.")
            return
        generation = self._generation
        answer = QMessageBox.question(
            self,
            "Disable user",
            f"Disable {user.username} ({user.display_name})?\n\n"
            "They will no longer be able to sign in. Everything they wrote is kept, under their name. "
            "You can enable the account again later with a new password.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes or generation != self._generation:
            return
        username, session = user.username, self.session

        def done(_none: object) -> None:
            self.users_message.show_ok(f"Disabled {username}. Everything they wrote is kept.")
            self._load_users(select=username)
            self.apply_filters()

        self._run(lambda: session.users.disable(username), done, self._users_failed)

    # --- audit trail -----------------------------------------------------------------------------
    def _audit_query(self) -> _AuditQuery | None:
        since = until = None
        if self.from_check.isChecked():
            # QDate.toPython() gives a datetime.date; PySide's stubs say only `object`.
            since = _utc_start_of(cast(date, self.from_date.date().toPython()))
        if self.to_check.isChecked():
            until = _utc_start_of(cast(date, self.to_date.date().toPython()) + timedelta(days=1))
        if since and until and since >= until:
            self._audit_failed_text("The ‘from’ date is after the ‘to’ date: change one of them.", self.from_date)
            return None
        return _AuditQuery(
            self.user_filter.currentData(),
            self.nhs_filter.text().strip(),
            self.action_filter.currentData(),
            since,
            until,
        )

    def apply_filters(self) -> None:
        """Reload the audit trail with the filters as set (Enter in the filters does this)."""
        if self.tabs is None:
            return
        self.audit_message.clear_message()
        query = self._audit_query()
        if query is None:
            return
        session, limit = self.session, AUDIT_LIMIT
        self._run(lambda: _read_audit(session, query, limit), lambda r: self._show_audit(r, limit), self._audit_failed)

    def _show_audit(self, result: tuple[list[tuple[str, ...]], bool], limit: int) -> None:
        rows, truncated = result
        self.audit_model.set_rows(rows)
        if truncated:
            text = f"Showing newest {limit} entries only: narrow the filters to see older ones."
        elif not rows:
            text = "No audit entries match these filters."
        else:
            text = f"{len(rows)} entr{'y' if len(rows) == 1 else 'ies'}, newest first."
        self.audit_count.setText(text)

    def _audit_failed(self, error: PerfectCareError) -> None:
        field = self.nhs_filter if self.nhs_filter.text().strip() else None
        self._audit_failed_text(str(error), field)

    def _audit_failed_text(self, text: str, field: QWidget | None) -> None:
        self.audit_model.clear()  # never leave unfiltered rows under a filter that failed
        self.audit_count.setText("")
        self.audit_message.show_error(text)
        if field is not None:
            field.setFocus()

    # --- access report ---------------------------------------------------------------------------
    def run_report(self) -> None:
        """The access report for the NHS number typed (Enter in the field does this)."""
        if self.tabs is None:
            return
        self.report_message.clear_message()
        number, session = self.report_nhs.text().strip(), self.session
        if not number:
            self._report_failed_text("Type the person's NHS number first.")
            return
        self._run(lambda: access_report(session, number), self._show_report, self._report_failed)

    def _show_report(self, report: AccessReport | None) -> None:
        self.report = report
        self.save_csv_button.setEnabled(report is not None)
        self.save_pdf_button.setEnabled(report is not None)
        if report is None:
            self.report_model.clear()
            self.report_summary.setText("")
            return
        self.report_model.set_rows([e.cells() for e in report.events])
        n = len(report.events)
        text = (f"{report.patient_name}, NHS number {report.nhs_number}: {n} event{'' if n == 1 else 's'}, "
                "newest first (UK time).")  # fmt: skip
        if not report.hub_entries:
            text += " Only this PC's own entries: no other PC's have been pulled from the hub to this PC."
        self.report_summary.setText(text)

    def _report_failed(self, error: PerfectCareError) -> None:
        self._report_failed_text(str(error))

    def _report_failed_text(self, text: str) -> None:
        self._show_report(None)  # never leave another person's events under a failed request
        self.report_message.show_error(text)
        self.report_nhs.setFocus()

    def save_report(self, kind: str) -> None:
        """Save CSV… / Save PDF…: the report shown, to a file the user chooses."""
        report = self.report
        if report is None:
            return
        name = f"access-report-{report.nhs_number.replace(' ', '')}.{kind}"
        kinds = "PDF (*.pdf)" if kind == "pdf" else "CSV (*.csv)"
        chosen, _ = QFileDialog.getSaveFileName(self, f"Save the access report as {kind.upper()}", name, kinds)
        if not chosen:
            return
        path = Path(chosen)

        def done(saved: Path) -> None:
            self.report_message.show_ok(
                f"Saved {saved.name}. It names the person and the staff who saw their record: keep it as you keep "
                "the record."
            )

        self._run(lambda: _save_report(report, path, kind), done, lambda e: self.report_message.show_error(str(e)))

    # --- integrity check -------------------------------------------------------------------------
    def verify_now(self) -> None:
        if self.tabs is None or not self.verify_button.isEnabled():
            return
        self.verify_button.setEnabled(False)
        self._set_verify_state("Checking…", None)
        session, progress = self.session, self._verify_progress

        def failed(error: PerfectCareError) -> None:
            self.verify_button.setEnabled(True)
            self._set_verify_state(f"The check could not run: {error}", "error")

        self._run(lambda: verify_with_hub(session, progress.advanced.emit), self._verified, failed)

    def _verify_advanced(self, done: int, total: int) -> None:
        if not self.verify_button.isEnabled():  # still checking (and not cleared)
            self._set_verify_state(f"Checking… {done:,} of {total:,} versions", None)

    def _verified(self, report: VerifyReport) -> None:
        self.verify_button.setEnabled(True)
        when = _local(self.session.store.clock.now(), seconds=False)
        notes = "".join(f"\nNote: {n}." for n in report.notes)  # what could not be checked, said plainly
        if report.ok:
            self._set_verify_state(
                f"Intact: {report.versions_checked:,} versions authenticate; audit chain of "
                f"{report.audit_entries_checked:,} entries unbroken (checked {when}).{notes}",
                "ok",
            )
        else:
            shown = report.problems[:MAX_PROBLEMS_SHOWN]
            lines = [
                f"PROBLEMS FOUND: {len(report.problems)} (checked {when}). Keep this store unchanged and "
                "restore from a backup or call support."
            ]
            lines += [f"• {p}" for p in shown]
            if len(report.problems) > len(shown):
                lines.append(f"…and {len(report.problems) - len(shown)} more: `perfectcare-admin verify` lists all.")
            self._set_verify_state("\n".join(lines) + notes, "error")
        self.apply_filters()  # the check itself is in the audit trail

    def _set_verify_state(self, text: str, role: str | None) -> None:
        self.verify_state.setProperty("role", role)
        self.verify_state.style().unpolish(self.verify_state)
        self.verify_state.style().polish(self.verify_state)
        self.verify_state.setText(text)
        self.verify_state.setAccessibleDescription(text)


__all__ = ["AUDIT_LIMIT", "AdminPage", "AuditModel", "ReportModel", "UsersModel"]

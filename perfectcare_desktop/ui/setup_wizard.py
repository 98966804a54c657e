"""First run: create the encrypted store and its first administrator, then have the recovery key kept.

Pages: organisation → first administrator → creating (in the background) → recovery key. The recovery key
exists only in memory and on this window until someone prints it, saves it as a PDF (never into the store
folder) or writes it down; it is never put on the clipboard, logged or written anywhere automatically.
"""

from __future__ import annotations

import html
import os
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from PySide6.QtCore import QMarginsF, QSize, QStandardPaths, Qt, QTimer
from PySide6.QtGui import (
    QFont,
    QFontDatabase,
    QGuiApplication,
    QMouseEvent,
    QPageLayout,
    QPageSize,
    QPalette,
    QPdfWriter,
    QTextDocument,
)
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from ..core.access.passwords import MIN_PASSWORD_LENGTH, check_username
from ..core.clock import Clock, SystemClock
from ..core.storage.store import Store
from ..errors import InvalidInput, PerfectCareError, StoreAlreadyExists
from ..store import database
from .operation import Operations
from .widgets import Message

DEFAULT_PDF_NAME = "PerfectCare-recovery-key.pdf"  # no personal or organisational detail in the name
GROUPS_PER_LINE = 7

RECOVERY_EXPLANATION = (
    "This recovery key resets any user's password and opens this store's backups. Without it, a forgotten "
    "password cannot be recovered and the records cannot be read. Keep it locked away, apart from this PC: "
    "anyone who has it and a copy of the store can read every record."
)
NOT_SHOWN_AGAIN = "It will not be shown again."
KEY_CHARACTERS = (
    "The key has only capital letters and the digits 2 to 7: there is no zero or one, so O and I are letters. "
    "When typing it, hyphens and capitals are optional."
)
PDF_CAUTION = (
    "A saved PDF is as powerful as the key itself: print it and delete the file, or keep it on an encrypted "
    "USB stick — not on this PC, a shared drive or a synced folder."
)


def _paragraph(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def _buddy(text: str, field: QWidget, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setBuddy(field)
    return label


def _form() -> QFormLayout:
    form = QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # fields go under their labels when narrow
    return form


class _TogglingLabel(QLabel):
    """The words of a check box that may wrap: its mnemonic and a click both reach the box."""

    def __init__(self, text: str, box: QCheckBox) -> None:
        super().__init__(text, box.parentWidget())
        self.setWordWrap(True)
        self.setBuddy(box)
        self._box = box

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self._box.toggle()
            self._box.setFocus()
        super().mouseReleaseEvent(event)


def _scrolling(page: QWizardPage) -> QVBoxLayout:
    """The page's content layout, inside a scroll area: at large text sizes on a small screen nothing is cut
    off, it scrolls instead."""
    inner = QWidget(page)
    layout = QVBoxLayout(inner)
    area = QScrollArea(page)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidgetResizable(True)
    area.setWidget(inner)
    outer = QVBoxLayout(page)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(area)
    return layout


def _look_alikes(text: str) -> str:
    """As the store reads a typed key: case-insensitive, paper look-alikes mapped (0→O, 1→I, 8→B)."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    return cleaned.translate(str.maketrans("018", "OIB"))


def key_lines(recovery_key: str) -> list[str]:
    """The key as shown and printed: two lines of seven hyphen-joined groups."""
    groups = recovery_key.split("-")
    return ["-".join(groups[i : i + GROUPS_PER_LINE]) for i in range(0, len(groups), GROUPS_PER_LINE)]


def _within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (OSError, ValueError):
        return False
    return True


def recovery_document(organisation: str, created: datetime, recovery_key: str, store_id: str) -> QTextDocument:
    """The printed / PDF page: organisation, date, the key and what it is for. Nothing about any patient."""
    mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()
    lines = "<br>".join(html.escape(line) for line in key_lines(recovery_key))
    date = f"{created.day} {created:%B %Y}"
    facts = "".join(
        f"<tr><td><b>{label}</b></td><td>{html.escape(value)}</td></tr>"
        for label, value in (("Organisation", organisation), ("Created", date), ("Store identifier", store_id))
    )
    body = f"""
<h1 style="font-size:20pt;">PerfectCare Desktop recovery key</h1>
<table cellpadding="3" cellspacing="0">{facts}</table>
<p></p>
<table border="1" cellpadding="16" cellspacing="0" width="100%" style="border-style:solid; border-color:#000000;">
<tr><td align="center"><span style="font-family:'{html.escape(mono)}'; font-size:18pt; font-weight:bold;">{lines}</span>
</td></tr></table>
<p>{html.escape(KEY_CHARACTERS)}</p>
<p>{html.escape(RECOVERY_EXPLANATION)}</p>
<p><b>{html.escape(NOT_SHOWN_AGAIN)}</b> Keep this page in a locked cabinet or safe, away from the PC.</p>
<p></p>
<table cellpadding="6" cellspacing="0">
<tr><td>Kept by:</td><td>______________________________________________</td></tr>
<tr><td>Where:</td><td>______________________________________________</td></tr>
</table>
"""
    doc = QTextDocument()
    font = QFont()
    font.setPointSize(11)
    doc.setDefaultFont(font)
    doc.setHtml(body)
    return doc


# --- pages ------------------------------------------------------------------------------------------
class OrganisationPage(QWizardPage):
    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.setTitle("Set up PerfectCare Desktop")
        self.org_name = QLineEdit(self)
        self.org_name.setAccessibleName("Organisation name")
        self.org_name.setPlaceholderText("e.g. Mersey Care NHS Foundation Trust")
        self.org_name.setMaxLength(200)
        self.folder = QLineEdit(str(data_dir), self)
        self.folder.setReadOnly(True)
        self.folder.setAccessibleName("Store folder")
        self.folder.setCursorPosition(0)
        self.message = Message(self)

        intro = _paragraph(
            "This creates a new store for safety plans on this PC. Every patient detail is encrypted on this PC "
            "and can only be read by someone signed in to PerfectCare.",
            self,
        )
        form = _form()
        form.addRow(_buddy("&Organisation name", self.org_name, self), self.org_name)
        form.addRow(_buddy("Store &folder", self.folder, self), self.folder)
        note = _paragraph("The organisation's name appears when signing in and on the printed recovery key.", self)

        layout = _scrolling(self)
        layout.addWidget(intro)
        layout.addSpacing(self.fontMetrics().height() // 2)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.message)
        layout.addStretch(1)
        self.org_name.textChanged.connect(self.completeChanged)

    def store_exists(self) -> bool:
        return database.db_path(self.data_dir).exists()

    def initializePage(self) -> None:
        self.check_existing()

    def check_existing(self) -> None:
        if self.store_exists():
            self.message.show_error(
                already_exists_text(f"There is already a store in {self.data_dir}; it has not been changed.")
            )
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return bool(self.org_name.text().strip()) and not self.store_exists()

    def show_error(self, text: str) -> None:
        self.message.show_error(text)
        self.org_name.setFocus()


def already_exists_text(core_message: str) -> str:
    return f"{core_message} Close this window and sign in to that store instead."


class AdministratorPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("First administrator")
        self.setCommitPage(True)  # Next creates the store: there is no going back past it
        self.setButtonText(QWizard.WizardButton.CommitButton, "Create the &store")

        self.username = QLineEdit(self)
        self.username.setAccessibleName("User name")
        self.full_name = QLineEdit(self)
        self.full_name.setAccessibleName("Full name")
        self.password = QLineEdit(self)
        self.password.setAccessibleName("Password")
        self.confirm = QLineEdit(self)
        self.confirm.setAccessibleName("Confirm password")
        for field in (self.password, self.confirm):
            field.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_passwords = QCheckBox("S&how passwords", self)
        self.show_passwords.setAccessibleName("Show passwords")
        self.show_passwords.toggled.connect(self._toggle_echo)
        self.mismatch = Message(self)
        self.mismatch.setAccessibleName("Password check")
        self.message = Message(self)

        intro = _paragraph(
            "The first administrator adds clinicians' accounts, resets passwords and looks after the recovery "
            "key. You can add more administrators later.",
            self,
        )
        hint = _paragraph(
            f"Use at least {MIN_PASSWORD_LENGTH} characters. A few unrelated words make a password that is "
            "strong and easy to remember.",
            self,
        )
        form = _form()
        form.addRow(_buddy("&User name", self.username, self), self.username)
        form.addRow(_buddy("Full na&me", self.full_name, self), self.full_name)
        form.addRow(_buddy("&Password", self.password, self), self.password)
        form.addRow(_buddy("Confi&rm password", self.confirm, self), self.confirm)
        form.addRow("", self.show_passwords)

        layout = _scrolling(self)
        layout.addWidget(intro)
        layout.addSpacing(self.fontMetrics().height() // 2)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.mismatch)
        layout.addWidget(self.message)
        layout.addStretch(1)

        self._fields = (self.username, self.full_name, self.password, self.confirm)
        self._error_field: QLineEdit | None = None
        for field in self._fields:
            field.textChanged.connect(self._changed)
            field.textEdited.connect(lambda _text, f=field: self._edited(f))
            field.returnPressed.connect(lambda f=field: self._return_pressed(f))

    def _toggle_echo(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.password.setEchoMode(mode)
        self.confirm.setEchoMode(mode)

    def _changed(self) -> None:
        password, confirm = self.password.text(), self.confirm.text()
        if confirm and (len(confirm) >= len(password) or not password.startswith(confirm)) and confirm != password:
            self.mismatch.show_error("The two passwords are not the same yet.")
        else:
            self.mismatch.clear_message()
        self.completeChanged.emit()

    def _edited(self, field: QLineEdit) -> None:
        if field is self._error_field or (self._error_field is self.password and field is self.confirm):
            self.message.clear_message()
            self._error_field = None

    def _return_pressed(self, field: QLineEdit) -> None:
        # When the page is complete, Enter presses the default button (Create the store).
        if not self.isComplete():
            following = self._fields[(self._fields.index(field) + 1) % len(self._fields)]
            empty = next((f for f in self._fields if not f.text()), following)
            empty.setFocus()

    def initializePage(self) -> None:
        if self._error_field is None:  # an error about what is still typed here stays until it is edited
            self.message.clear_message()
        self.username.setFocus()

    def isComplete(self) -> bool:
        filled = all(f.text().strip() for f in (self.username, self.full_name)) and bool(self.password.text())
        return filled and self.password.text() == self.confirm.text()

    def show_error(self, text: str) -> None:
        lowered = text.casefold()
        field = self.password if "password" in lowered else self.username
        self._error_field = field
        self.message.show_error(text)
        field.setFocus()
        field.selectAll()


class CreatingPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Creating the store")
        self.setCommitPage(True)  # once created, Back is gone from the recovery key page
        self.setButtonText(QWizard.WizardButton.CommitButton, "&Next >")
        self.status = _paragraph("Creating the encrypted store…", self)
        self.status.setAccessibleName("Creating the encrypted store")
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("Creating the store")
        wait = _paragraph("This takes a few seconds. Please wait.", self)
        layout = _scrolling(self)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(wait)
        layout.addStretch(1)
        self.done = False

    def initializePage(self) -> None:
        self.done = False
        wizard = self.wizard()
        if isinstance(wizard, SetupWizard):
            wizard._begin_creating()

    def isComplete(self) -> bool:
        return self.done


class RecoveryKeyPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Keep the recovery key safe")
        self.setButtonText(QWizard.WizardButton.CancelButton, "Close")
        self._key = ""
        self._last_group = ""

        intro = _paragraph(
            "The store has been created. This is its recovery key. Print it, save it as a PDF, or write it down now.",
            self,
        )
        self.key_label = QLabel(self)
        self.key_label.setTextFormat(Qt.TextFormat.PlainText)
        self.key_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.key_label.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.key_label.setAccessibleName("Recovery key")
        self.key_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.key_label.setWordWrap(True)
        self.key_label.setFrameShape(QFrame.Shape.StyledPanel)
        self.key_label.setBackgroundRole(QPalette.ColorRole.Base)
        self.key_label.setAutoFillBackground(True)
        key_font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        size = self.font().pointSizeF()
        if size > 0:
            key_font.setPointSizeF(size * 1.6)
        key_font.setBold(True)
        self.key_label.setFont(key_font)
        self.key_label.setMargin(self.fontMetrics().height() // 2)
        key_caption = _buddy("Recovery &key", self.key_label, self)

        characters = _paragraph(KEY_CHARACTERS, self)
        explanation = _paragraph(f"{RECOVERY_EXPLANATION} {NOT_SHOWN_AGAIN}", self)
        explanation.setAccessibleName("What the recovery key is for")

        self.print_button = QPushButton("&Print…", self)
        self.print_button.setAccessibleName("Print the recovery key")
        self.save_button = QPushButton("Save as P&DF…", self)
        self.save_button.setAccessibleName("Save the recovery key as a PDF")
        buttons = QHBoxLayout()
        buttons.addWidget(self.print_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        caution = _paragraph(PDF_CAUTION, self)
        self.message = Message(self)

        self.last_group = QLineEdit(self)
        self.last_group.setAccessibleName("Last group of the recovery key")
        self.last_group.setMaxLength(9)
        # The box's words wrap at large text sizes, so they sit in a label that ticks the box when clicked.
        self.kept = QCheckBox(self)
        self.kept.setAccessibleName("I have printed or written down the recovery key and will keep it safe")
        kept_text = _TogglingLabel("I have printed or written down the recovery key and will keep it &safe", self.kept)
        kept_row = QHBoxLayout()
        kept_row.addWidget(self.kept, 0, Qt.AlignmentFlag.AlignTop)
        kept_row.addWidget(kept_text, 1)
        self.check_message = Message(self)
        self.check_message.setAccessibleName("Recovery key check")
        check_form = _form()
        check_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        check_form.addRow(_buddy("Type the &last group of the key", self.last_group, self), self.last_group)

        layout = _scrolling(self)
        layout.addWidget(intro)
        layout.addWidget(key_caption)
        layout.addWidget(self.key_label)
        layout.addWidget(characters)
        layout.addSpacing(self.fontMetrics().height() // 2)
        layout.addWidget(explanation)
        layout.addLayout(buttons)
        layout.addWidget(caution)
        layout.addWidget(self.message)
        layout.addSpacing(self.fontMetrics().height() // 2)
        layout.addLayout(check_form)
        layout.addLayout(kept_row)
        layout.addWidget(self.check_message)
        layout.addStretch(1)

        self.last_group.textChanged.connect(self._check_changed)
        self.kept.toggled.connect(self.completeChanged)

    def set_key(self, recovery_key: str) -> None:
        self._key = recovery_key
        self._last_group = recovery_key.rsplit("-", 1)[-1]
        # A zero-width space after each hyphen lets the key wrap between groups when the window is narrow.
        self.key_label.setText("\n".join(line.replace("-", "-\u200b") for line in key_lines(recovery_key)))
        self.last_group.clear()
        self.kept.setChecked(False)
        self.message.clear_message()
        self.check_message.clear_message()

    def forget_key(self) -> None:
        """Drop every reference this window holds to the key."""
        self._key = ""
        self._last_group = ""
        self.key_label.clear()
        self.last_group.clear()

    @property
    def recovery_key(self) -> str:
        return self._key

    def initializePage(self) -> None:
        self.key_label.setFocus()

    def last_group_matches(self) -> bool:
        typed = _look_alikes(self.last_group.text())
        return bool(self._last_group) and typed == _look_alikes(self._last_group)

    def _check_changed(self) -> None:
        typed = _look_alikes(self.last_group.text())
        if self.last_group_matches():
            self.check_message.show_ok("That matches the last group.")
        elif len(typed) >= len(self._last_group) > 0:
            self.check_message.show_error("That is not the last group: check what you printed or wrote down.")
        else:
            self.check_message.clear_message()
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.last_group_matches() and self.kept.isChecked()


class _Created(NamedTuple):
    store: Store
    recovery_key: str
    username: str
    organisation: str
    store_id: str
    created: datetime


# --- the wizard -------------------------------------------------------------------------------------
class SetupWizard(QWizard):
    """After success `store` is the created store and `admin_username` the first administrator's user name.

    `store` is set as soon as the store exists, even if the window is then closed without Finish;
    `key_confirmed` says whether the recovery-key check was completed.
    """

    ORG, ADMIN, CREATING, RECOVERY = range(4)

    def __init__(self, data_dir: Path, ops: Operations, clock: Clock | None = None,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.data_dir = Path(data_dir)
        self.ops = ops
        self.clock = clock or SystemClock()
        self.store: Store | None = None
        self.admin_username = ""
        self.key_confirmed = False
        self._creating = False
        self._created_info: _Created | None = None

        self.setWindowTitle("Set up PerfectCare Desktop")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)  # the same on every PC, honours the theme
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.org_page = OrganisationPage(self.data_dir)
        self.admin_page = AdministratorPage()
        self.creating_page = CreatingPage()
        self.recovery_page = RecoveryKeyPage()
        self.setPage(self.ORG, self.org_page)
        self.setPage(self.ADMIN, self.admin_page)
        self.setPage(self.CREATING, self.creating_page)
        self.setPage(self.RECOVERY, self.recovery_page)
        self.setStartId(self.ORG)
        self.recovery_page.print_button.clicked.connect(self.print_key)
        self.recovery_page.save_button.clicked.connect(self.save_key_pdf)
        self.button(QWizard.WizardButton.CancelButton).setAccessibleName("Cancel")
        self.currentIdChanged.connect(self._fit_to_page)
        self.resize(self._comfortable_size())

    # --- size ----------------------------------------------------------------------------------
    def _available(self) -> QSize:
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return QSize(10_000, 10_000)
        available = screen.availableGeometry().size()
        return QSize(available.width() * 9 // 10, available.height() * 9 // 10)

    def _comfortable_size(self) -> QSize:
        """In lines of text, so the window follows the user's text size (never fixed pixels)."""
        line = self.fontMetrics().height()
        return QSize(48 * line, 36 * line).expandedTo(self.sizeHint()).boundedTo(self._available())

    def _fit_to_page(self, _page_id: int) -> None:
        """Grow (never shrink) towards what the new page asks for, within the screen."""
        wanted = self.size().expandedTo(self.sizeHint().boundedTo(self._available()))
        if wanted != self.size():
            self.resize(wanted)

    # --- creating ------------------------------------------------------------------------------
    def _begin_creating(self) -> None:
        """From now until it succeeds or fails the window cannot be closed: creating cannot stop half-way."""
        if self._creating or self.store is not None:
            return
        self._creating = True
        self.button(QWizard.WizardButton.CancelButton).setEnabled(False)
        QTimer.singleShot(0, self, self._start_creating)  # once this page is on screen

    def _start_creating(self) -> None:
        org = self.org_page.org_name.text()
        admin = self.admin_page
        username, full_name, password = admin.username.text(), admin.full_name.text().strip(), admin.password.text()
        data_dir, clock = self.data_dir, self.clock

        def create() -> _Created:  # on the worker: the store is read here, never on the GUI thread
            store, key = Store.create(data_dir, org, username, password, full_name, clock=clock)
            return _Created(store, key, check_username(username), store.organisation, store.store_id, clock.now())

        self.ops.run(create, self._created, self._failed)

    def _created(self, result: _Created) -> None:
        self._creating = False
        self.button(QWizard.WizardButton.CancelButton).setEnabled(True)
        self.store, self.admin_username = result.store, result.username
        for field in (self.admin_page.password, self.admin_page.confirm):
            field.clear()
        self.recovery_page.set_key(result.recovery_key)
        self._created_info = result._replace(recovery_key="")  # the page holds the only copy
        self.creating_page.done = True
        self.creating_page.completeChanged.emit()
        self.next()

    def _failed(self, error: BaseException) -> None:
        self._creating = False
        self.button(QWizard.WizardButton.CancelButton).setEnabled(True)
        if isinstance(error, InvalidInput) and "organisation" not in str(error).casefold():
            self._return_to(self.ADMIN)
            self.admin_page.show_error(str(error))
        elif isinstance(error, StoreAlreadyExists):
            self._return_to(self.ORG)
            self.org_page.check_existing()
            self.org_page.show_error(already_exists_text(str(error)))
        elif isinstance(error, PerfectCareError):  # StoreNotWritable, the organisation's name
            self._return_to(self.ORG)
            self.org_page.show_error(str(error))
        elif isinstance(error, OSError):  # disk full and the like, part-way through
            self._return_to(self.ORG)
            reason = error.strerror or str(error)
            self.org_page.show_error(f"The store could not be created in {self.data_dir}: {reason}. Nothing was kept.")
        else:
            self._return_to(self.ADMIN)
            self.admin_page.show_error("The store could not be created because of a fault in the program.")
            raise error

    def _return_to(self, page_id: int) -> None:
        for _ in range(len(self.pageIds())):
            if self.currentId() == page_id or self.currentId() == self.ORG:
                break
            self.back()

    # --- the recovery key on paper -------------------------------------------------------------
    def _document(self) -> QTextDocument:
        info = self._created_info
        assert info is not None
        return recovery_document(info.organisation, info.created, self.recovery_page.recovery_key, info.store_id)

    def _refuse_store_folder(self, path: Path) -> bool:
        if _within(path, self.data_dir):
            self.recovery_page.message.show_error(
                "Do not keep the recovery key in the store folder: choose a USB stick or another place."
            )
            return True
        return False

    def print_key(self) -> None:
        if not self.recovery_page.recovery_key:
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle("Print the recovery key")
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        out = printer.outputFileName()
        if out and self._refuse_store_folder(Path(out)):
            return
        self._document().print_(printer)
        self.recovery_page.message.show_ok(
            "Sent to the printer. Check the page has printed clearly, then keep it safe."
        )

    def save_key_pdf(self) -> None:
        if not self.recovery_page.recovery_key:
            return
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        suggested = str(Path(folder) / DEFAULT_PDF_NAME) if folder else DEFAULT_PDF_NAME
        chosen, _filter = QFileDialog.getSaveFileName(
            self, "Save the recovery key as a PDF", suggested, "PDF files (*.pdf)"
        )
        if not chosen:
            return
        path = Path(chosen)
        if path.suffix.lower() != ".pdf":
            path = path.with_name(path.name + ".pdf")
        if self._refuse_store_folder(path):
            return
        try:
            with open(path, "wb"):  # find out now, in words, if the place cannot be written
                pass
        except OSError as exc:
            self.recovery_page.message.show_error(f"Could not save to {path}: {exc.strerror or exc}.")
            return
        writer = QPdfWriter(str(path))
        writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        writer.setPageMargins(QMarginsF(5, 5, 5, 5), QPageLayout.Unit.Millimeter)
        writer.setTitle("PerfectCare Desktop recovery key")
        writer.setCreator("PerfectCare Desktop")
        self._document().print_(writer)
        del writer  # finishes the file
        if not path.exists() or os.path.getsize(path) == 0:
            self.recovery_page.message.show_error(f"Could not save to {path}.")
            return
        self.recovery_page.message.show_ok(f"Saved to {path}. Print it or move it somewhere safe.")

    # --- closing -------------------------------------------------------------------------------
    def _confirm_close(self) -> bool:
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Close without keeping the recovery key?")
        box.setText("The recovery key will not be shown again.")
        box.setInformativeText(
            "Without it, a forgotten password cannot be recovered and backups cannot be opened. Close anyway?"
        )
        close = box.addButton("Close &anyway", QMessageBox.ButtonRole.DestructiveRole)
        stay = box.addButton("&Go back to the key", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(stay)
        box.setEscapeButton(stay)
        box.exec()
        return box.clickedButton() is close

    def reject(self) -> None:
        if self._creating:
            return  # it cannot be stopped half-way, and it takes only seconds
        if self.store is not None and self.currentId() == self.RECOVERY and not self._confirm_close():
            return
        super().reject()

    def accept(self) -> None:
        self.key_confirmed = self.recovery_page.isComplete()
        super().accept()

    def done(self, result: int) -> None:
        self.recovery_page.forget_key()
        super().done(result)

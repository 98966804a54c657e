"""Print or save one person's copy: choose the variant, see it, print it or save it as a PDF.

The PDF is made in memory on the worker (export.service) and shown with QtPdf from a QBuffer: no
temporary file. Printing renders its pages onto the system printer; "Save as PDF" writes it with a
file name that carries no patient identifier, optionally protected by a password (AES-256). Every
preview, print and save is an audit event naming the variant, never the content.

Before a person's copy is printed or saved the clinician hears what is wrong with it (a banner over
the preview, then a question on Print or Save: core/clinical/print_checks.py): two versions not merged, no
agreed plan so the draft prints, fewer than three sections filled, a contact who may be someone the
person does not want involved (named as the plan has it); each names the version that prints.
Printing goes ahead only if they confirm. Crisis numbers checked more than 12 months ago are named
in the banner too; that does not stop printing (an old number beats no copy), but it is seen.
A copy that cannot be laid out is refused with its sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
from PySide6.QtGui import QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from ..core.storage.files import atomic_write
from ..errors import InvalidInput, PerfectCareError
from ..export.variants import LABELS
from .operation import Operations
from .widgets import Message, em, shortcut_button

if TYPE_CHECKING:
    from ..core.access.session import Session
    from ..core.clinical.crisis_directory import CrisisDirectory
    from ..export.service import PatientPdf

VARIANT_LABELS = LABELS
DEFAULT_FILE_NAME = "safety-plan.pdf"  # never a patient identifier: the user may type one


def render_to_printer(document: QPdfDocument, printer: QPrinter) -> None:
    """Each page of a loaded PDF onto a printer (or a PDF printer in tests), fitted to the page."""
    painter = QPainter()
    if not painter.begin(printer):
        raise InvalidInput("The printer could not be started; check it is on and connected.")
    try:
        area = printer.pageRect(QPrinter.Unit.DevicePixel).toRect()
        for page in range(document.pageCount()):
            if page:
                printer.newPage()
            points = document.pagePointSize(page)
            scale = min(area.width() / points.width(), area.height() / points.height())
            size = QSize(int(points.width() * scale), int(points.height() * scale))
            painter.drawImage(0, 0, document.render(page, size))
    finally:
        painter.end()


class PrintDialog(QDialog):
    def __init__(self, ops: Operations, session: Callable[[], Session | None], patient_id: str,
                 variants: list[str] | None = None, directory: CrisisDirectory | None = None,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.setWindowTitle("Print or save a copy")
        self.ops, self._session, self.patient_id, self.directory = ops, session, patient_id, directory
        self.pdf: PatientPdf | None = None
        self.document = QPdfDocument(self)
        self._buffer: QBuffer | None = None

        self.variant = QComboBox(self)
        self.variant.setAccessibleName("Which copy")
        for key in ("auto", *(variants or [k for k in VARIANT_LABELS if k != "auto"])):
            self.variant.addItem(VARIANT_LABELS.get(key, key), key)
        self.variant.currentIndexChanged.connect(lambda _i: self.refresh())
        self.view = QPdfView(self)
        self.view.setAccessibleName("Preview")
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.protect = QCheckBox("&Protect the saved file with a password (for sending)", self)
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("PDF password")
        self.password.setPlaceholderText("Password (tell the person by another route)")
        self.password.setEnabled(False)
        self.protect.toggled.connect(self.password.setEnabled)
        self.message = Message(self)
        # What to know before printing (problems with the plan, stale crisis numbers): framed, in words.
        self.checks = QLabel(self)
        self.checks.setObjectName("print_checks")
        self.checks.setProperty("role", "banner")
        self.checks.setWordWrap(True)
        self.checks.setAccessibleName("Before you print")
        self.checks.hide()
        self._confirmed = False  # the clinician said to print this copy despite its problems
        self.print_button = shortcut_button("&Print…", "Ctrl+P", self.print_, self, name="print")
        self.save_button = shortcut_button("&Save as PDF…", None, self.save_as, self, name="save_pdf")
        self.close_button = shortcut_button("Close", "Esc", self.reject, self, name="close")

        form = QFormLayout()
        form.addRow("&Copy", self.variant)
        buttons = QHBoxLayout()
        for b in (self.print_button, self.save_button):
            buttons.addWidget(b)
        buttons.addWidget(self.protect)
        buttons.addWidget(self.password, 1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.checks)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.resize(em(self, 60), em(self, 45))
        self._set_ready(False)
        self.refresh()

    def _set_ready(self, ready: bool) -> None:
        self.print_button.setEnabled(ready)
        self.save_button.setEnabled(ready)

    def refresh(self) -> None:
        """Make the chosen copy (in the background) and show it."""
        session, pid, variant, directory = self._session(), self.patient_id, self.variant.currentData(), self.directory
        if session is None or session.locked:
            return
        self._set_ready(False)
        self.message.clear_message()
        self._show_checks(None)
        from ..export.service import patient_pdf

        def make() -> PatientPdf:
            return patient_pdf(session, pid, variant, action="view", directory=directory)

        self.ops.run(make, self._show, self._failed)

    def _show_checks(self, pdf: PatientPdf | None) -> None:
        self._confirmed = False
        lines = [] if pdf is None else [p.sentence for p in pdf.problems]
        if pdf is not None and pdf.crisis_warning:
            lines.append(pdf.crisis_warning)
        text = "⚠ Before you print:\n" + "\n".join(f"• {line}" for line in lines) if lines else ""
        self.checks.setText(text)
        self.checks.setAccessibleDescription(text)
        self.checks.setVisible(bool(lines))

    def _go_ahead(self, doing: str) -> bool:
        """Ask first when the copy has problems (once per copy shown): True to print or save it."""
        if self.pdf is None:
            return False
        if not self.pdf.problems or self._confirmed:
            return True
        box = QMessageBox(QMessageBox.Icon.Warning, "Check before you print",
                          "This copy may not be the plan the person should take home:\n\n"
                          + "\n\n".join(p.sentence for p in self.pdf.problems)
                          + f"\n\n{doing} this copy anyway?", QMessageBox.StandardButton.NoButton, self)  # fmt: skip
        go = box.addButton(f"{doing} anyway", QMessageBox.ButtonRole.AcceptRole)
        dont = box.addButton("Do not " + doing.lower(), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(dont)  # Enter does not print the wrong plan
        box.exec()
        self._confirmed = box.clickedButton() is go
        if not self._confirmed:
            self.message.show_error(f"Not {'printed' if doing == 'Print' else 'saved'}: nothing was sent.")
        return self._confirmed

    def _confirmed_detail(self) -> str:
        """For the audit event: which checks the clinician overrode (kinds only, never content)."""
        if self.pdf is None or not self.pdf.problems:
            return ""
        return ", confirmed despite " + " and ".join(dict.fromkeys(p.kind for p in self.pdf.problems))  # each kind once

    def _show(self, pdf: PatientPdf) -> None:
        self.pdf = pdf
        self._show_checks(pdf)
        self.document.close()
        self._buffer = QBuffer(self)
        self._buffer.setData(QByteArray(pdf.data))
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document.load(self._buffer)
        if pdf.warnings:
            self.message.show_error(" ".join(pdf.warnings))
        self._set_ready(True)

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, PerfectCareError):
            self.message.show_error(str(error))
        else:
            raise error

    def _audit(self, action: str, detail: str) -> None:
        """The entry is made now (the key taken here) and written on the store worker: the print is
        audited even if the dialog closes, or the app locks, before the worker gets to it."""
        session = self._session()
        if session is not None and not session.locked and self.pdf is not None:
            write = session.event_recorder(action, patient_id=self.patient_id, detail=f"pdf {self.pdf.variant}{detail}")
            self.ops.run(write, None, self._failed)

    def print_(self, printer: QPrinter | None = None) -> None:
        """The system print dialog, then the pages; `printer` given (tests): no dialog."""
        if self.pdf is None or not self._go_ahead("Print"):
            return
        if printer is None:
            printer = QPrinter(QPrinter.PrinterMode.HighResolution)
            if QPrintDialog(printer, self).exec() != QDialog.DialogCode.Accepted:
                return
        try:
            render_to_printer(self.document, printer)
        except PerfectCareError as exc:
            self.message.show_error(str(exc))
            return
        self._audit("print", self._confirmed_detail())
        self.message.show_ok("Sent to the printer.")

    def save_as(self, path: Path | None = None) -> None:
        """Save the copy; `path` given (tests): no file dialog."""
        if self.pdf is None or not self._go_ahead("Save"):
            return
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "Save as PDF", DEFAULT_FILE_NAME, "PDF (*.pdf)")
            if not chosen:
                return
            path = Path(chosen)
        data = self.pdf.data
        try:
            if self.protect.isChecked():
                from ..export.protect import protect_pdf

                data = protect_pdf(data, self.password.text())
            atomic_write(path, data)
        except PerfectCareError as exc:
            self.message.show_error(str(exc))
            return
        except OSError as exc:
            self.message.show_error(f"The file could not be written there ({exc.strerror or exc}); nothing was saved.")
            return
        self._audit("export", (", password protected" if self.protect.isChecked() else "") + self._confirmed_detail())
        self.message.show_ok(f"Saved as {path.name}.")

"""Print or save one person's copy: choose the variant, see it, print it or save it as a PDF.

The PDF is made in memory on the worker (export.service) and shown with QtPdf from a QBuffer: no
temporary file. Printing renders its pages onto the system printer; "Save as PDF" writes it with a
file name that carries no patient identifier, optionally protected by a password (AES-256). Every
preview, print and save is an audit event naming the variant, never the content.
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
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ..core.files import atomic_write
from ..errors import InvalidInput, PerfectCareError
from ..export.variants import LABELS
from .operation import Operations
from .widgets import Message, em, shortcut_button

if TYPE_CHECKING:
    from ..core.crisis_directory import CrisisDirectory
    from ..core.session import Session
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
        from ..export.service import patient_pdf

        self.ops.run(lambda: patient_pdf(session, pid, variant, action="view", directory=directory), self._show,
                     self._failed)  # fmt: skip

    def _show(self, pdf: PatientPdf) -> None:
        self.pdf = pdf
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
        session = self._session()
        if session is not None and not session.locked and self.pdf is not None:
            session.record_event(action, patient_id=self.patient_id, detail=f"pdf {self.pdf.variant}{detail}")

    def print_(self, printer: QPrinter | None = None) -> None:
        """The system print dialog, then the pages; `printer` given (tests): no dialog."""
        if self.pdf is None:
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
        self._audit("print", "")
        self.message.show_ok("Sent to the printer.")

    def save_as(self, path: Path | None = None) -> None:
        """Save the copy; `path` given (tests): no file dialog."""
        if self.pdf is None:
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
        self._audit("export", ", password protected" if self.protect.isChecked() else "")
        self.message.show_ok(f"Saved as {path.name}.")

"""Print or save one person's copy: a preview from memory (QtPdf), printing to a PDF printer, saving
with and without a password, audit events, and a clear message when there is nothing to print."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt, QTimer
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.plan_content import PlanContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import add_months, sign_plan
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.ui.operation import Operations
from perfectcare_desktop.ui.print_dialog import DEFAULT_FILE_NAME, PrintDialog

LAYOUT = load_catalogue().latest()


@pytest.fixture
def patient(session: Session) -> str:
    pid = session.patients.add(PatientDetails("Siân", "Roberts", date(1991, 2, 3), "9434765919",
                                             access_needs=("large print",)))  # fmt: skip
    c = PlanContent.blank(LAYOUT, load_directory().ref)
    c.section("warning_signs").entries = [{"text": "I stop answering my phone"}]
    c.section("coping_alone").entries = [{"text": "Walk Bryn along the prom"}]
    c.section("people_to_ask").entries = [{"name": "Mam", "phone": "07700 900123"}]  # three sections: no question
    c.clinician_notes = "Clinician only: not for the copy"
    today = session.store.clock.now().date()
    sign_plan(session, pid, LAYOUT, c, None, agreed_with_person=True, agreed_on=today, review_due=add_months(today, 3))
    return pid


def dialog_for(qtbot, session: Session, pid: str) -> PrintDialog:
    d = PrintDialog(Operations(synchronous=True), lambda: session, pid)
    qtbot.addWidget(d)
    return d


def test_preview_print_and_save_with_and_without_a_password(qtbot, session: Session, patient: str,
                                                             tmp_path: Path) -> None:  # fmt: skip
    d = dialog_for(qtbot, session, patient)
    assert d.pdf is not None and d.pdf.variant == "large-print"  # chosen from their information needs
    assert d.document.status() == QPdfDocument.Status.Ready and d.document.pageCount() >= 1
    assert d.print_button.isEnabled()

    printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    d.print_(printer)
    assert len(PdfReader(tmp_path / "printed.pdf").pages) == d.document.pageCount()

    d.save_as(tmp_path / DEFAULT_FILE_NAME)
    text = "".join(p.extract_text() for p in PdfReader(tmp_path / DEFAULT_FILE_NAME).pages)
    assert "I stop answering my phone" in text and "116 123" in text and "Clinician only" not in text

    d.protect.setChecked(True)
    d.password.setText("short")
    d.save_as(tmp_path / "sent.pdf")
    assert "at least" in d.message.text() and not (tmp_path / "sent.pdf").exists()
    d.password.setText("a long enough password")
    d.save_as(tmp_path / "sent.pdf")
    reader = PdfReader(tmp_path / "sent.pdf")
    assert reader.is_encrypted and reader.decrypt("a long enough password")
    assert "Walk Bryn along the prom" in reader.pages[0].extract_text()

    actions = [e.action for e in session.audit_trail(patient_id=patient)]
    assert {"view", "print", "export"} <= set(actions)
    assert "Roberts" not in DEFAULT_FILE_NAME and "9434765919" not in DEFAULT_FILE_NAME


def test_the_clinician_record_is_a_choice_and_nothing_to_print_is_said(qtbot, session: Session, patient: str) -> None:
    d = dialog_for(qtbot, session, patient)
    d.variant.setCurrentIndex(d.variant.findData("clinician-record"))
    assert d.pdf is not None and d.pdf.variant == "clinician-record"
    other = session.patients.add(PatientDetails("Jan", "Kowalski", date(1980, 1, 1), "9434765870"))
    empty = dialog_for(qtbot, session, other)
    assert "no safety plan yet" in empty.message.text() and not empty.print_button.isEnabled()


def test_print_and_save_work_from_the_real_buttons_and_keys(qtbot, session: Session, patient: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The buttons as a clinician uses them. clicked(bool) used to reach print_(printer) and save_as(path)
    as False: nothing printed or saved, and the traceback went to stderr."""
    d = dialog_for(qtbot, session, patient)
    d.show()
    printed = tmp_path / "printed.pdf"

    def accept_print_dialog() -> None:
        """The system print dialog, answered as a user who picks 'Print to file (PDF)' and presses Print.
        (done(), not accept(): accept() would apply the dialog's own widgets, naming a CUPS printer this
        machine does not have, over the choice made here.)"""
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QPrintDialog):  # a shortcut clicks the button 100 ms later (animateClick)
            QTimer.singleShot(20, accept_print_dialog)
            return
        dialog.printer().setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        dialog.printer().setOutputFileName(str(printed))
        dialog.done(QDialog.DialogCode.Accepted)

    QTimer.singleShot(0, accept_print_dialog)
    qtbot.mouseClick(d.print_button, Qt.MouseButton.LeftButton)
    assert d.message.text().endswith("Sent to the printer.")
    assert len(PdfReader(printed).pages) == d.document.pageCount()

    saved = tmp_path / "chosen.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(saved), "PDF (*.pdf)"))
    qtbot.mouseClick(d.save_button, Qt.MouseButton.LeftButton)
    assert d.message.text().endswith("Saved as chosen.pdf.")
    assert "I stop answering my phone" in "".join(p.extract_text() for p in PdfReader(saved).pages)

    # And from the keyboard: Ctrl+P on the dialog prints again.
    printed.unlink()
    d.activateWindow()  # a window shortcut: the dialog must be the active window, as it is for the user
    qtbot.waitUntil(lambda: QApplication.activeWindow() is d)
    QTimer.singleShot(0, accept_print_dialog)
    qtbot.keyClick(d, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(printed.exists)
    actions = [e.action for e in session.audit_trail(patient_id=patient)]
    assert actions.count("print") == 2 and actions.count("export") == 1

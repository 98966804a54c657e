"""The print dialog says what is wrong before a person's copy is printed: a banner naming the version
that prints and why, then a question on Print and Save that must be confirmed; crisis numbers checked
over 12 months ago are named with their date and the copy still prints; a copy that cannot be laid
out is refused with its sentence. Driven through the real buttons."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt, QTimer
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QMessageBox

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.plan_content import PlanContent, SectionContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import save_draft, sign_plan
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.errors import PdfLayoutError
from perfectcare_desktop.export import service
from perfectcare_desktop.ui.operation import Operations
from perfectcare_desktop.ui.print_dialog import PrintDialog

LAYOUT = load_catalogue().latest()
SHOTS = os.environ.get("PERFECTCARE_SCREENSHOTS")  # a folder: the dialogs are saved there to look at


def plan(session: Session, filled: int, *, signed: bool) -> str:
    pid = session.patients.add(PatientDetails("Siân", "Roberts", date(1991, 2, 3), "9434765919"))
    c = PlanContent.blank(LAYOUT, load_directory().ref)
    for section in LAYOUT.sections[:filled]:
        c.sections[section.key] = SectionContent([{"text": "Walk Bryn along the prom"}])
    today = session.store.clock.now().date()
    if signed:
        sign_plan(session, pid, LAYOUT, c, None, agreed_with_person=True, agreed_on=today,
                  review_due=date(2027, 2, 27))  # fmt: skip
    else:
        save_draft(session, pid, LAYOUT, c, None)
    return pid


def dialog_for(qtbot, session: Session, pid: str) -> PrintDialog:  # noqa: ANN001
    d = PrintDialog(Operations(synchronous=True), lambda: session, pid)
    qtbot.addWidget(d)
    d.show()
    return d


def answer(button_text: str, then: Callable[[], None] | None = None) -> None:
    """Click a button of the question box when it is up, as the clinician does."""
    box = QApplication.activeModalWidget()
    if not isinstance(box, QMessageBox):
        QTimer.singleShot(20, lambda: answer(button_text, then))
        return
    if SHOTS:
        box.grab().save(str(Path(SHOTS) / "print-question.png"))
    button = next(b for b in box.buttons() if b.text() == button_text)
    if then is not None:
        QTimer.singleShot(0, then)
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def print_to(path: Path) -> Callable[[], None]:
    def accept() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QPrintDialog):
            QTimer.singleShot(20, accept)
            return
        dialog.printer().setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        dialog.printer().setOutputFileName(str(path))
        dialog.done(QDialog.DialogCode.Accepted)

    return accept


def audit(session: Session, pid: str, action: str) -> list[str]:
    return [e.detail for e in session.audit_trail(patient_id=pid) if e.action == action]


def test_a_draft_with_little_in_it_is_named_and_printed_only_when_confirmed(qtbot, session: Session,
                                                                           tmp_path: Path) -> None:  # fmt: skip
    pid = plan(session, 2, signed=False)
    d = dialog_for(qtbot, session, pid)
    assert d.checks.isVisible() and d.print_button.isEnabled()
    banner = d.checks.text()
    assert "There is no agreed plan: the draft saved on 27 November 2026 would print" in banner
    assert "Only 2 of the plan's sections have anything written" in banner
    if SHOTS:
        d.grab().save(str(Path(SHOTS) / "print-dialog-draft.png"))

    QTimer.singleShot(0, lambda: answer("Do not print"))
    qtbot.mouseClick(d.print_button, Qt.MouseButton.LeftButton)
    assert "Not printed" in d.message.text() and audit(session, pid, "print") == []

    printed = tmp_path / "printed.pdf"
    QTimer.singleShot(0, lambda: answer("Print anyway", print_to(printed)))
    qtbot.mouseClick(d.print_button, Qt.MouseButton.LeftButton)
    assert d.message.text().endswith("Sent to the printer.") and len(PdfReader(printed).pages) >= 1
    assert audit(session, pid, "print") == ["pdf standard, confirmed despite draft and nearly-empty"]

    # Confirmed once for this copy: Save does not ask again.
    saved = tmp_path / "copy.pdf"
    d.save_as(saved)
    assert saved.exists()


def test_save_asks_too_and_choosing_another_copy_asks_afresh(qtbot, session: Session, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    pid = plan(session, 1, signed=True)
    d = dialog_for(qtbot, session, pid)
    assert "the agreed plan of 27 November 2026, which would print" in d.checks.text()
    saved = tmp_path / "chosen.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(saved), "PDF (*.pdf)"))
    QTimer.singleShot(0, lambda: answer("Do not save"))
    qtbot.mouseClick(d.save_button, Qt.MouseButton.LeftButton)
    assert not saved.exists() and "Not saved" in d.message.text()
    d.variant.setCurrentIndex(d.variant.findData("large-print"))
    QTimer.singleShot(0, lambda: answer("Save anyway"))
    qtbot.mouseClick(d.save_button, Qt.MouseButton.LeftButton)
    assert saved.exists() and d.message.text().endswith("Saved as chosen.pdf.")
    assert audit(session, pid, "export") == ["pdf large-print, confirmed despite nearly-empty"]


def test_stale_crisis_numbers_are_named_and_the_copy_still_prints(qtbot, session: Session, clock,
                                                                  tmp_path: Path) -> None:  # noqa: ANN001  # fmt: skip
    pid = plan(session, 3, signed=True)
    d = dialog_for(qtbot, session, pid)
    assert not d.checks.isVisible()  # a good plan, numbers checked a month ago: nothing to say
    clock.current = datetime(2027, 12, 3, 9, 0)
    d.refresh()
    assert d.checks.isVisible()
    assert "were last checked on 1 November 2026, more than 12 months ago" in d.checks.text()
    if SHOTS:
        d.grab().save(str(Path(SHOTS) / "print-dialog-stale.png"))
    printed = tmp_path / "printed.pdf"
    QTimer.singleShot(0, print_to(printed))  # no question: straight to the system print dialog
    qtbot.mouseClick(d.print_button, Qt.MouseButton.LeftButton)
    assert printed.exists() and audit(session, pid, "print") == ["pdf standard"]


def test_a_copy_that_cannot_be_laid_out_says_so(qtbot, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    pid = plan(session, 3, signed=True)

    def refuse(*_a: object) -> bytes:
        raise PdfLayoutError(
            "This copy could not be laid out on pages (the page limit was reached). Choose another copy."
        )

    monkeypatch.setattr(service, "render_copy", refuse)
    d = dialog_for(qtbot, session, pid)
    assert "could not be laid out" in d.message.text() and not d.print_button.isEnabled()


def test_an_admin_hears_of_stale_or_unconfirmed_numbers_at_sign_in(qtbot, store, clock, tmp_path: Path,  # noqa: ANN001
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: E501  # fmt: skip
    from PySide6.QtWidgets import QMessageBox

    from perfectcare_desktop.ui.main_window import MainWindow

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    Session.sign_in(store, "admin1", "correct horse battery").users.add("nurse1", "clinician", "clinician pass 1")
    clock.current = datetime(2027, 12, 3, 9, 0)
    win = MainWindow(store, Operations(synchronous=True), {"idle_lock_minutes": 5})
    qtbot.addWidget(win)
    win.show()

    def sign_in(user: str, password: str) -> None:
        page = win.login_page
        page.username.clear()
        qtbot.keyClicks(page.username, user)
        qtbot.keyClicks(page.password, password)
        qtbot.keyClick(page.password, Qt.Key.Key_Return)

    sign_in("nurse1", "clinician pass 1")
    assert win.admin_banner is None or not win.admin_banner.isVisible()  # clinicians hear it when they print
    win.sign_out()
    sign_in("admin1", "correct horse battery")
    assert win.admin_banner is not None and win.admin_banner.isVisible()
    assert "last checked on 1 November 2026, more than 12 months ago" in win.admin_banner.text()
    assert "update resources/crisis_contacts/national.json" in win.admin_banner.text()
    if SHOTS:
        qtbot.wait(50)
        win.grab().save(str(Path(SHOTS) / "admin-banner.png"))
    win.sign_out()
    assert not win.admin_banner.isVisible()

    # Wales, in date: the two C.A.L.L. numbers that could not be confirmed at source are named.
    clock.current = datetime(2026, 12, 3, 9, 0)
    win.crisis_directory = load_directory(nation="wales")
    sign_in("admin1", "correct horse battery")
    assert win.admin_banner.isVisible() and "more than 12 months" not in win.admin_banner.text()
    assert "2 crisis number(s) for Wales could not be confirmed" in win.admin_banner.text()


def test_an_information_need_the_copy_does_not_meet_is_named_and_asked(qtbot, session: Session,
                                                                       tmp_path: Path) -> None:  # fmt: skip
    """Hazard H08: a person who needs braille and an interpreter; the print copy is said not to meet
    either, with what to do, and Print asks first; audited with the kind only."""
    pid = plan(session, 3, signed=True)
    details = session.patients.get(pid, audit_view=False).details
    session.patients.update(pid, replace(details, access_needs=("braille", "interpreter")))
    d = dialog_for(qtbot, session, pid)
    assert d.checks.isVisible()
    assert "needs information in braille, and this copy is in print" in d.checks.text()
    assert "with an interpreter" in d.checks.text()
    printed = tmp_path / "printed.pdf"
    QTimer.singleShot(0, lambda: answer("Print anyway", print_to(printed)))
    qtbot.mouseClick(d.print_button, Qt.MouseButton.LeftButton)
    assert printed.exists() and audit(session, pid, "print") == ["pdf standard, confirmed despite needs"]

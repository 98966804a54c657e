"""Batch printing from the caseload: files without patient identifiers, progress, and Cancel that
leaves nothing behind, with the batch on the real background worker."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialog

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.plan_content import PlanContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import add_months, sign_plan
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.ui.batch_print import BatchPrintDialog
from perfectcare_desktop.ui.operation import Operations

LAYOUT = load_catalogue().latest()
SHOTS = os.environ.get("PERFECTCARE_SCREENSHOTS")  # a folder: the dialog is saved there to look at
PEOPLE = (("Siân", "Roberts", "9434765919"), ("Jan", "Kowalski", "9434765870"), ("Aisha", "Rahman", "9990000018"))


@pytest.fixture
def patients(session: Session) -> list[str]:
    today = session.store.clock.now().date()
    ids = []
    for given, family, nhs in PEOPLE:
        pid = session.patients.add(PatientDetails(given, family, date(1980, 1, 1), nhs))
        c = PlanContent.blank(LAYOUT, load_directory().ref)
        c.section("warning_signs").entries = [{"text": f"{given} goes quiet"}]
        c.section("coping_alone").entries = [{"text": "A walk by the sea"}]  # three sections: nothing left out
        c.section("people_to_ask").entries = [{"name": "Mam", "phone": "07700 900123"}]
        sign_plan(session, pid, LAYOUT, c, None, agreed_with_person=True, agreed_on=today,
                  review_due=add_months(today, 3))  # fmt: skip
        ids.append(pid)
    return ids


def test_one_file_per_person_with_progress(qtbot, session: Session, patients: list[str], tmp_path: Path) -> None:
    d = BatchPrintDialog(Operations(synchronous=True), lambda: session, [])
    qtbot.addWidget(d)
    assert not d.choices["chosen"].isEnabled() and d.choices["all-current"].isChecked()
    out = tmp_path / "print-run"
    out.mkdir()
    d.per_person.setChecked(True)
    d.target.setText(str(out))
    d.start()
    names = sorted(p.name for p in out.iterdir())
    assert names == ["safety-plan-001.pdf", "safety-plan-002.pdf", "safety-plan-003.pdf"]
    first = PdfReader(out / names[0]).pages[0].extract_text()
    assert "Jan goes quiet" in first  # caseload order: Kowalski, Rahman, Roberts
    assert d.progress.value() == 3 and d.progress.maximum() == 3 and "3 plans printed" in d.message.text()
    assert d.batch_result is not None and d.batch_result.printed == 3


def test_the_batch_result_leaves_qdialog_result_alone(qtbot, session: Session) -> None:
    """The dialog once kept its batch's result as `self.result`, hiding QDialog.result() (the dialog's
    accepted/rejected code): calling it raised TypeError."""
    d = BatchPrintDialog(Operations(synchronous=True), lambda: session, [])
    qtbot.addWidget(d)
    assert d.result() == QDialog.DialogCode.Rejected and d.batch_result is None


def test_cancel_leaves_no_file_and_the_window_stays_responsive(qtbot, session: Session, patients: list[str],
                                                                tmp_path: Path) -> None:  # fmt: skip
    ops = Operations()  # the real background worker
    d = BatchPrintDialog(ops, lambda: session, patients[:2])
    qtbot.addWidget(d)
    assert d.choices["chosen"].isChecked()
    out = tmp_path / "print-run"
    out.mkdir()
    d.target.setText(str(out / "combined.pdf"))
    d._progress.moved.connect(lambda done, total: d.cancel())  # the clinician presses Cancel mid-batch
    d.start()
    assert d.running and not d.start_button.isEnabled()  # returned at once: the GUI thread is free
    qtbot.waitUntil(lambda: not d.running, timeout=20000)
    ops.wait()
    assert "cancelled; no file was written" in d.message.text()
    assert list(out.iterdir()) == []


def test_nowhere_chosen_is_said_in_words(qtbot, session: Session, patients: list[str]) -> None:
    d = BatchPrintDialog(Operations(synchronous=True), lambda: session, [])
    qtbot.addWidget(d)
    d.start()
    assert "Choose where to save" in d.message.text()


def test_plans_that_need_a_look_are_left_out_named_and_included_when_ticked(qtbot, session: Session, patients,
                                                                           clock, tmp_path: Path) -> None:  # noqa: ANN001  # fmt: skip
    """A draft-only plan and a thin one are listed by name with the reason, not printed; ticking the box
    prints them; crisis numbers checked over 12 months ago are said before Start."""
    from datetime import datetime

    from perfectcare_desktop.core.clinical.plans import save_draft

    draft = session.patients.add(PatientDetails("Dai", "Draft", date(1980, 1, 1), "9434765838"))
    c = PlanContent.blank(LAYOUT, load_directory().ref)
    c.section("warning_signs").entries = [{"text": "Dai goes quiet"}]
    save_draft(session, draft, LAYOUT, c, None)
    clock.current = datetime(2027, 12, 3, 9, 0)  # the numbers were checked on 1 November 2026
    d = BatchPrintDialog(Operations(synchronous=True), lambda: session, [*patients, draft])
    qtbot.addWidget(d)
    d.show()
    assert d.stale.isVisible() and "last checked on 1 November 2026" in d.stale.text()
    out = tmp_path / "print-run"
    out.mkdir()
    d.target.setText(str(out / "morning.pdf"))
    qtbot.mouseClick(d.start_button, Qt.MouseButton.LeftButton)
    assert "Done: 3 plans printed into morning.pdf." in d.message.text() and "1 left out" in d.message.text()
    assert d.report.isVisible()
    report = d.report.toPlainText()
    assert report.startswith("Dai Draft — not printed:") and "the draft saved on 27 November 2026" in report
    if SHOTS:
        qtbot.wait(50)  # the layout settles on the next turn of the event loop
        d.grab().save(str(Path(SHOTS) / "batch-left-out.png"))
    assert "Dai goes quiet" not in "".join(p.extract_text() for p in PdfReader(out / "morning.pdf").pages)

    (out / "morning.pdf").unlink()
    box = d.include_unresolved  # clicked on its tick box, where a user clicks (the row is wider than its text)
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert d.include_unresolved.isChecked()
    qtbot.mouseClick(d.start_button, Qt.MouseButton.LeftButton)
    assert "Done: 4 plans printed" in d.message.text() and "1 printed although" in d.message.text()
    assert not d.report.isVisible()
    assert "Dai goes quiet" in "".join(p.extract_text() for p in PdfReader(out / "morning.pdf").pages)


def test_a_copy_that_cannot_be_laid_out_is_named_and_the_rest_print(qtbot, session: Session, patients,
                                                                    tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001  # fmt: skip
    from perfectcare_desktop.errors import PdfLayoutError
    from perfectcare_desktop.export import batch

    render = batch._render_plain

    def refuse_jan(kind: str, data: object, variant: str) -> bytes:
        if getattr(data, "name", "").startswith("Jan"):
            raise PdfLayoutError("This copy could not be laid out on pages. Choose another copy.")
        return render(kind, data, variant)

    monkeypatch.setattr(batch, "_render_plain", refuse_jan)
    d = BatchPrintDialog(Operations(synchronous=True), lambda: session, [])
    qtbot.addWidget(d)
    out = tmp_path / "print-run"
    out.mkdir()
    d.per_person.setChecked(True)
    d.target.setText(str(out))
    qtbot.mouseClick(d.start_button, Qt.MouseButton.LeftButton)
    assert "2 plans printed" in d.message.text() and "1 could not be laid out" in d.message.text()
    assert d.report.toPlainText().startswith("Jan Kowalski — could not be laid out:")
    assert sorted(p.name for p in out.iterdir()) == ["safety-plan-001.pdf", "safety-plan-002.pdf"]

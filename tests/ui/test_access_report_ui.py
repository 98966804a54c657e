"""The access report on the administrators' page: NHS number, Run report, the events in a table, and
Save CSV… / Save PDF…, each through the real buttons; the work runs through Operations."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from sync_support import plan

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import save_draft
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.ui.admin_page import AdminPage
from perfectcare_desktop.ui.operation import Operations

NHS = "9434765919"
SECRET = "Walking to the bridge at night"  # in the safety plan, never in the report


@pytest.fixture
def page(qtbot: Any, session: Session) -> AdminPage:
    pid = session.patients.add(PatientDetails("Ffion", "Hughes", date(1990, 5, 1), NHS))
    save_draft(session, pid, load_catalogue().latest(), plan(SECRET), None)
    session.patients.get(pid)  # viewed
    session.record_event("print", patient_id=pid, detail="pdf a4")
    p = AdminPage(session, Operations(synchronous=True))
    qtbot.addWidget(p)
    p.show()
    qtbot.waitExposed(p)
    p.tabs.setCurrentIndex(2)
    return p


def shown(page: AdminPage) -> list[list[str]]:
    m = page.report_model
    return [[m.data(m.index(r, c)) for c in range(m.columnCount())] for r in range(m.rowCount())]


def test_run_the_report_and_save_csv_and_pdf(qtbot: Any, page: AdminPage, tmp_path: Path, monkeypatch) -> None:
    assert not page.save_csv_button.isEnabled() and not page.save_pdf_button.isEnabled()
    page.report_nhs.setText("943 476 5919")
    qtbot.mouseClick(page.report_button, Qt.MouseButton.LeftButton)
    rows = shown(page)
    assert [r[2] for r in rows] == ["Printed", "Viewed", "Created", "Created"]
    assert [r[4] for r in rows] == ["PDF, a4", "", "safety plan", "details"]
    assert all(r[3].endswith("this PC") for r in rows)
    assert "943 476 5919" in page.report_summary.text()
    csv_file, pdf_file = tmp_path / "access.csv", tmp_path / "access.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(csv_file), "CSV (*.csv)"))
    qtbot.mouseClick(page.save_csv_button, Qt.MouseButton.LeftButton)
    text = csv_file.read_text(encoding="utf-8-sig")
    assert "Printed" in text and "Viewed" in text and SECRET not in text
    assert csv_file.stat().st_mode & 0o777 == 0o600
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(pdf_file), "PDF (*.pdf)"))
    qtbot.mouseClick(page.save_pdf_button, Qt.MouseButton.LeftButton)
    words = subprocess.run(["pdftotext", str(pdf_file), "-"], capture_output=True, text=True, check=True).stdout
    assert "Printed" in words and "943 476 5919" in words and SECRET not in words
    assert "Saved" in page.report_message.text()


def test_a_bad_or_unknown_number_is_said_and_shows_nothing(qtbot: Any, page: AdminPage) -> None:
    page.report_nhs.setText("943 476 5918")
    qtbot.mouseClick(page.report_button, Qt.MouseButton.LeftButton)
    assert "NHS number" in page.report_message.text() and shown(page) == []
    page.report_nhs.setText("9434765870")
    qtbot.mouseClick(page.report_button, Qt.MouseButton.LeftButton)
    assert "No patient on this PC" in page.report_message.text() and shown(page) == []
    assert not page.save_csv_button.isEnabled()


def test_clear_forgets_the_report(qtbot: Any, page: AdminPage) -> None:
    page.report_nhs.setText(NHS)
    qtbot.mouseClick(page.report_button, Qt.MouseButton.LeftButton)
    assert shown(page)
    page.clear()
    assert shown(page) == [] and page.report_nhs.text() == "" and page.report_summary.text() == ""
    assert not page.save_pdf_button.isEnabled()

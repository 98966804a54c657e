"""Break-glass at the real window (issue 16 part 4): a clinician types the NHS number of someone in
another team's care, is told whose care they are in (nothing of the person), gives a reason, and the
record opens; the opening is in the audit trail with the reason."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog
from test_main_window import sign_in
from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.ui.main_window import MainWindow

REASON = "Brought to A&E at night; Ward 5 closed"


def test_a_patient_outside_my_teams_opens_only_with_a_reason(
    qtbot, store: Store, monkeypatch: pytest.MonkeyPatch, live_window: MainWindow
) -> None:
    admin = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    crisis, ward = admin.teams.create("Crisis team North"), admin.teams.create("Ward 5")
    admin.users.add("cara", "clinician", "purple kettle harbour", teams=("Crisis team North",))
    admin.patients.add(PatientDetails("Alys", "Evans", date(1980, 1, 1), "9434765919", team_id=crisis))
    bryn = admin.patients.add(PatientDetails("Bryn", "Jones", date(1979, 2, 2), "9434765870", team_id=ward))
    asked: list[str] = []
    monkeypatch.setattr(
        QInputDialog, "getText", lambda _p, _t, label, *a, **k: (asked.append(label), (REASON, True))[1]
    )

    win = live_window
    win.resize(1100, 700)
    sign_in(qtbot, win, "cara", "purple kettle harbour")
    qtbot.waitUntil(lambda: win._pages_built and win.stack.currentWidget() is win.caseload_page, timeout=10_000)
    caseload = win.caseload_page
    qtbot.waitUntil(lambda: caseload.model.total() == 1)  # Alys only: Bryn is Ward 5's

    qtbot.keyClicks(caseload.search_box, "943 476 5870")
    qtbot.waitUntil(caseload.outside_button.isVisible)
    assert "in the care of Ward 5" in caseload.outside.text() and "Bryn" not in caseload.outside.text()
    if shots := os.environ.get("PERFECTCARE_SHOTS"):
        qtbot.wait(100)
        win.grab().save(str(Path(shots) / "break-glass-offer.png"))
    qtbot.mouseClick(caseload.outside_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.patient_page and "Bryn" in win.patient_page.name.text(),
                    timeout=10_000)  # fmt: skip
    assert asked and "recorded and reported" in asked[0]
    win.ops.wait()
    [entry] = admin.audit_trail(action="break_glass")
    assert entry.patient_id == bryn and entry.detail.startswith(REASON)
    if shots := os.environ.get("PERFECTCARE_SHOTS"):
        win.grab().save(str(Path(shots) / "break-glass-opened.png"))

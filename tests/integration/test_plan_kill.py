"""Kill the app with SIGKILL while a clinician is writing a plan: the draft comes back.

A child process runs the real plan tab (offscreen Qt, the real background worker and autosave
timer) on a real store, types a plan entry by keystrokes, waits until an autosave has landed and
keeps typing; the parent then kills it mid-keystroke. The store must open undamaged and verify, and
reopening the patient offers the draft, which holds what had been typed up to the last autosave.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.plan_content import PlanContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import PLAN_KIND, load_plan
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage import autosave
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.core.storage.verify import verify_store
from perfectcare_desktop.ui.operation import Operations
from perfectcare_desktop.ui.plan_tab import PlanTab, load_for_patient

pytestmark = pytest.mark.slow

ADDED = "I stop answering the phone and stay in bed"
TYPING = "Walk to the beach at Crosby"

CHILD = r"""
import os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from pathlib import Path
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

app = QApplication([])
from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.ui.operation import Operations
from perfectcare_desktop.ui.plan_tab import PlanTab, load_for_patient
from perfectcare_desktop.core.access.session import Session

data_dir, pid, user, password, added, typing = sys.argv[1:7]
session = Session.sign_in(Store.open(Path(data_dir)), user, password)
tab = PlanTab(Operations(), lambda: session, load_catalogue(), load_directory(), 3)
tab.autosave_timer.setInterval(200)
tab.show()
tab.show_plan(pid, load_for_patient(session, pid))
field = tab.editor.first_field()
field.setFocus()
QTest.keyClicks(field, added)
QTest.keyClick(field, Qt.Key.Key_Return)
tab.editor.nav.setCurrentRow(1)
QTest.keyClicks(tab.editor.first_field(), typing)  # typed, not yet added
deadline = time.monotonic() + 30
while "Autosaved" not in tab.autosave_label.text() and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.01)
print("AUTOSAVED" if "Autosaved" in tab.autosave_label.text() else "TIMEOUT", flush=True)
while True:  # a clinician still typing when the power goes
    QTest.keyClicks(tab.editor.first_field(), "x")
    app.processEvents()
    time.sleep(0.02)
"""


def test_sigkill_while_editing_loses_only_seconds(qtbot, store: Store, data_dir: Path, clock) -> None:
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    pid = session.patients.add(PatientDetails("Ffion", "Hughes", date(1990, 5, 1), "9434765919"))
    store.close()

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir), pid, ADMIN, ADMIN_PASSWORD, ADDED, TYPING],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"QT_QPA_PLATFORM": "offscreen"},
    )
    try:
        line = child.stdout.readline().strip()  # type: ignore[union-attr]
        assert line == "AUTOSAVED", child.stderr.read() if line == "" else line  # type: ignore[union-attr]
        time.sleep(0.3)  # mid-typing, perhaps mid-autosave
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert child.returncode == -signal.SIGKILL

    reopened = Store.open(data_dir, clock=clock)
    session = Session.sign_in(reopened, ADMIN, ADMIN_PASSWORD)
    assert verify_store(session).ok
    assert load_plan(session, pid, audit_view=False).record_id is None  # no version was saved
    found = autosave.read(session, pid, PLAN_KIND)
    assert found is not None
    draft = PlanContent.from_payload(found.payload)
    assert draft.section("warning_signs").entries == [{"text": ADDED}]
    assert draft.section("coping_alone").entries[0]["text"].startswith(TYPING)

    # Reopening the patient offers the draft; restoring it brings the words back into the editor.
    tab = PlanTab(Operations(synchronous=True), lambda: session, load_catalogue(), load_directory(), 3)
    qtbot.addWidget(tab)
    tab.show()
    tab.show_plan(pid, load_for_patient(session, pid))
    assert tab.recover_bar.isVisible()
    qtbot.mouseClick(tab.restore_button, Qt.MouseButton.LeftButton)
    assert tab.editor.content.section("warning_signs").entries == [{"text": ADDED}]
    reopened.close()

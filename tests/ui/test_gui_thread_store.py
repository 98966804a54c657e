"""Issue 17 part 2: the GUI thread never touches the store, and a lock leaves nothing decrypted.

Every UI test is watched by the guard in tests/ui/conftest.py. These tests hold the store busy (another
connection keeps SQLite's write lock, as a backup or another process would) and act as a clinician does:
Ctrl+L locks at once, with the key and every detail forgotten, and the draft and the lock's audit entry
are written by the worker once the store is free; a saved copy is audited though its dialog closed at
once; autosaves waiting on a busy store never pile up and the newest words are the ones kept. The real
background worker runs, as in the app.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog
from test_main_window import assert_no_patient_visible, sign_in
from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.plan_content import PlanContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import PLAN_KIND, add_months, sign_plan
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage import autosave
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.ui import operation
from perfectcare_desktop.ui.main_window import MainWindow
from perfectcare_desktop.ui.operation import Operations
from perfectcare_desktop.ui.plan_tab import PlanTab, load_for_patient
from perfectcare_desktop.ui.print_dialog import PrintDialog


@pytest.fixture
def patient(store: Store) -> str:
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    pid = session.patients.add(PatientDetails("Gwenllian", "Llywelyn", date(1979, 5, 4), "943 476 5919"))
    session.lock()
    return pid


def idle(qtbot, ops: Operations) -> None:
    """Everything handed to the worker is done and its answer has reached the GUI thread."""
    qtbot.waitUntil(lambda: not ops.busy, timeout=15000)


def audit_actions(store: Store, action: str) -> list[Any]:
    return Session.sign_in(store, ADMIN, ADMIN_PASSWORD).audit_trail(action=action)


def test_ctrl_l_with_the_store_busy_locks_at_once_then_the_draft_and_the_lock_are_written(
    qtbot, store: Store, patient: str, live_window: MainWindow
) -> None:
    win = live_window
    sign_in(qtbot, win, ADMIN, ADMIN_PASSWORD)
    qtbot.waitUntil(lambda: win.session is not None and win.lock_label.text() == "Unlocked", timeout=15000)
    qtbot.waitUntil(lambda: win.caseload_page.model.rowCount() == 1, timeout=15000)
    qtbot.keyClick(win.caseload_page.search_box, Qt.Key.Key_Return)  # the only patient
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.patient_page, timeout=15000)
    qtbot.keyClick(win, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)  # Safety &plan tab
    tab = win.patient_page.plan_tab
    qtbot.keyClicks(tab.editor.first_field(), "Ring my sister Nia")  # typed, not yet added or autosaved
    idle(qtbot, win.ops)
    session = win.session
    assert session is not None
    locks_before = len(audit_actions(store, "lock"))

    with store.writing():  # the store is busy: a write lock held elsewhere, for as long as this lasts
        qtbot.keyClick(win, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
        # At once, whatever the disk is doing: the key and every decrypted detail are gone.
        assert session.locked and not session.patients.loaded
        assert win.stack.currentWidget() is win.login_page and tab.editor.content is None
        assert_no_patient_visible(win)
        assert win.ops.busy  # the draft and the lock's entry wait for the store, on the worker
    idle(qtbot, win.ops)

    assert len(audit_actions(store, "lock")) == locks_before + 1
    check = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    draft = autosave.read(check, patient, PLAN_KIND)
    assert draft is not None
    assert PlanContent.from_payload(draft.payload).section("warning_signs").entries == [{"text": "Ring my sister Nia"}]
    sign_in(qtbot, win, ADMIN, ADMIN_PASSWORD)  # unlocking brings the words back
    qtbot.waitUntil(lambda: win.patient_page.plan_tab.editor.content is not None, timeout=15000)
    content = win.patient_page.plan_tab.editor.content
    assert content.section("warning_signs").entries == [{"text": "Ring my sister Nia"}]


def test_a_saved_copy_is_audited_by_the_worker_though_the_dialog_closes_and_the_app_locks_at_once(
    qtbot, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = load_catalogue().latest()
    pid = session.patients.add(PatientDetails("Siân", "Roberts", date(1991, 2, 3), "9434765919"))
    content = PlanContent.blank(layout, load_directory().ref)
    for key, text in (("warning_signs", "I stop answering"), ("coping_alone", "Walk the prom")):
        content.section(key).entries = [{"text": text}]
    content.section("people_to_ask").entries = [{"name": "Mam", "phone": "07700 900123"}]
    today = session.today()
    sign_plan(session, pid, layout, content, None, agreed_with_person=True, agreed_on=today,
              review_due=add_months(today, 3))  # fmt: skip
    ops = Operations()
    d = PrintDialog(ops, lambda: session, pid)
    qtbot.addWidget(d)
    d.show()
    qtbot.waitUntil(lambda: d.save_button.isEnabled(), timeout=15000)  # the preview is made
    idle(qtbot, ops)
    saved = tmp_path / "copy.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(saved), "PDF (*.pdf)"))

    with session.store.writing():  # the store is busy
        qtbot.mouseClick(d.save_button, Qt.MouseButton.LeftButton)
        assert d.message.text().endswith("Saved as copy.pdf.") and saved.exists()  # said at once
        qtbot.mouseClick(d.close_button, Qt.MouseButton.LeftButton)
        assert not d.isVisible()
        session.forget()  # and the app locks (its own entry is left out here): the key is gone
        assert ops.busy
    idle(qtbot, ops)

    session.unlock(ADMIN_PASSWORD)
    exports = session.audit_trail(patient_id=pid, action="export")
    assert [e.detail for e in exports] == ["pdf standard"]


def test_autosaves_waiting_on_a_busy_worker_are_written_once_with_the_newest_words(
    qtbot, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = session.patients.add(PatientDetails("Ffion", "Hughes", date(1990, 5, 1), "9434765919"))
    ops = Operations()
    tab = PlanTab(ops, lambda: session, load_catalogue(), load_directory(), 3)
    qtbot.addWidget(tab)
    tab.autosave_timer.setInterval(20)
    tab.show()
    tab.show_plan(pid, load_for_patient(session, pid))
    writes: list[str] = []
    real = Store.writing

    def counted(store: Store) -> Any:
        writes.append(threading.current_thread().name)
        return real(store)

    monkeypatch.setattr(Store, "writing", counted)
    release = threading.Event()
    ops.run(lambda: release.wait(15))  # the worker is busy (a long save, a slow disk)
    field = tab.editor.first_field()
    field.setFocus()
    for words in ("Walk", " to the", " beach at Crosby"):
        qtbot.keyClicks(field, words)
        qtbot.waitUntil(lambda: not tab.autosave_timer.isActive())  # the timer fired: an autosave is due
    release.set()
    idle(qtbot, ops)

    assert len(writes) == 1  # one write, not one per timer
    draft = autosave.read(session, pid, PLAN_KIND)
    assert draft is not None
    assert PlanContent.from_payload(draft.payload).section("warning_signs").entries == [
        {"text": "Walk to the beach at Crosby"}
    ]
    assert tab.autosave_label.text().startswith("Autosaved")


# --- the guard itself ---------------------------------------------------------------------------------
WIDGET = """
from PySide6.QtCore import QObject


class Peeker(QObject):
    def organisation(self, store):
        return store.organisation
"""


def test_the_guard_sees_widget_code_on_the_gui_thread_but_not_a_job_nor_the_tests_own_set_up(
    store: Store, gui_thread_never_touches_the_store: Any
) -> None:
    guard = gui_thread_never_touches_the_store
    # Code compiled as if it were a module under perfectcare_desktop/ui/: a widget that reads the store.
    ui = Path(operation.__file__).resolve().parent
    namespace: dict[str, Any] = {}
    exec(compile(WIDGET, str(ui / "peeker.py"), "exec"), namespace)  # noqa: S102 - the test's own text
    peeker = namespace["Peeker"]()
    assert isinstance(peeker, QObject)

    assert store.organisation  # the test's own set-up: not counted
    assert not guard.found
    Operations(synchronous=True).run(lambda: peeker.organisation(store))  # a job, run inline: not counted
    assert not guard.found
    ops = Operations()
    ops.run(lambda: peeker.organisation(store))  # on the worker: not counted
    assert ops.wait(10000)
    assert not guard.found
    peeker.organisation(store)  # on the GUI thread, outside a job: counted
    assert list(guard.found) == [
        "ui/peeker.py:organisation > core/storage/store.py:organisation > core/storage/store.py:meta"
        " > core/storage/store.py:reading"
    ]
    assert operation.in_job() is False
    guard.found.clear()  # seen: this test passes

"""Issue 17: a patient-list load still running when the app locks must not refill the session's cache.

The load is held mid-way by a gate in the read (a slow decrypt, in effect) while the main thread locks;
once released, nothing decrypted may be left in the session, the caseload or anywhere shown. First on
the session alone (the load on a plain thread), then through the real window, the real Operations worker
and Ctrl+L.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from PySide6.QtCore import Qt
from test_main_window import assert_no_patient_visible, sign_in
from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.patients import snapshot as patient_snapshot
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage import versions
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.errors import SessionLocked
from perfectcare_desktop.ui.main_window import MainWindow

NAMES = ("Gwenllian", "Llywelyn", "Żaneta", "Wójcik-Łęcka")


class Gate:
    """Wraps a module function so its first call off the main thread waits until released (a slow read)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: Any, name: str, *, after: bool = False) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self._used = False
        real: Callable[..., Any] = getattr(module, name)

        def gated(*args: Any, **kwargs: Any) -> Any:
            hold = threading.current_thread() is not threading.main_thread() and not self._used
            if hold:
                self._used = True
                if not after:
                    self._wait()
            result = real(*args, **kwargs)
            if hold and after:
                self._wait()  # the details are decrypted, not yet in the cache
            return result

        monkeypatch.setattr(module, name, gated)

    def _wait(self) -> None:
        self.entered.set()
        assert self.release.wait(10), "the test never released the load"


def seed(store: Store, *, snapshot: bool) -> None:
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    session.patients.add(PatientDetails("Gwenllian", "Llywelyn", date(1979, 5, 4), "943 476 5919"))
    session.patients.add(PatientDetails("Żaneta", "Wójcik-Łęcka", date(1990, 1, 2), "999 000 0018"))
    if snapshot:
        session.patients.all()  # writes the sealed patient snapshot the next load reads first
    session.lock()


def assert_nothing_cached(session: Session) -> None:
    assert not session.patients.loaded
    assert len(session.patients._index) == 0


# Where the load is held: reading the snapshot (its whole decrypt), after it is decrypted, reading the
# heads, and decrypting one head.
POINTS = [
    pytest.param(patient_snapshot, "read", True, False, id="snapshot-read"),
    pytest.param(patient_snapshot, "read", True, True, id="snapshot-decrypted"),
    pytest.param(versions, "heads_of_kind", False, False, id="heads-read"),
    pytest.param(versions, "decrypt_row", False, True, id="head-decrypted"),
]


@pytest.mark.parametrize(("module", "name", "snapshot", "after"), POINTS)
def test_a_load_running_when_the_session_locks_leaves_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch, module: Any, name: str, snapshot: bool, after: bool
) -> None:
    seed(store, snapshot=snapshot)
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    gate = Gate(monkeypatch, module, name, after=after)
    outcome: list[object] = []

    def load() -> None:
        try:
            outcome.append(session.patients.all())
        except BaseException as exc:  # noqa: BLE001 - what the worker would hand back
            outcome.append(exc)

    worker = threading.Thread(target=load)
    worker.start()
    assert gate.entered.wait(10)
    session.lock()
    gate.release.set()
    worker.join(10)
    assert not worker.is_alive()
    assert_nothing_cached(session)
    assert isinstance(outcome[0], SessionLocked)  # the load is told, and hands back no details
    session.unlock(ADMIN_PASSWORD)
    assert sorted(p.details.given_name for p in session.patients.all()) == ["Gwenllian", "Żaneta"]


@pytest.mark.parametrize("snapshot", [True, False], ids=["from-snapshot", "from-heads"])
def test_ctrl_l_during_the_caseload_load_leaves_nothing_decrypted(
    qtbot, store: Store, monkeypatch: pytest.MonkeyPatch, live_window: MainWindow, snapshot: bool
) -> None:
    seed(store, snapshot=snapshot)
    win = live_window
    gate = (
        Gate(monkeypatch, patient_snapshot, "read", after=True)
        if snapshot
        else Gate(monkeypatch, versions, "decrypt_row", after=True)
    )
    sign_in(qtbot, win, ADMIN, ADMIN_PASSWORD)
    qtbot.waitUntil(lambda: win.session is not None and win.lock_label.text() == "Unlocked")
    assert gate.entered.wait(10)  # the caseload load is on the worker, details decrypted, not yet cached
    qtbot.keyClick(win, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    session = win.session
    assert session is not None and session.locked
    gate.release.set()
    assert win.ops.wait(10000)
    qtbot.waitUntil(lambda: not win.ops.busy)  # the load's result (or refusal) reached the GUI thread
    assert_nothing_cached(session)
    assert win.caseload_page.model.rowCount() == 0
    assert_no_patient_visible(win)
    # Signing in again reads the patients afresh: both are there.
    sign_in(qtbot, win, ADMIN, ADMIN_PASSWORD)
    qtbot.waitUntil(lambda: win.caseload_page.model.rowCount() == 2)
    assert not session.locked


def test_caseload_rows_from_before_a_lock_are_dropped_even_after_an_unlock(
    qtbot, store: Store, monkeypatch: pytest.MonkeyPatch, live_window: MainWindow
) -> None:
    """The GUI's own check: rows computed before the lock reach the GUI thread only after the lock and an
    unlock (the unlock done here directly, so it lands before the queued result is delivered)."""
    from perfectcare_desktop.core.patients import caseload as caseload_module

    seed(store, snapshot=True)
    win = live_window
    gate = Gate(monkeypatch, caseload_module, "caseload", after=True)
    sign_in(qtbot, win, ADMIN, ADMIN_PASSWORD)
    qtbot.waitUntil(lambda: win.session is not None and win.lock_label.text() == "Unlocked")
    assert gate.entered.wait(10)  # the rows are made, not yet handed to the GUI thread
    session = win.session
    assert session is not None
    win.lock()
    gate.release.set()
    assert win.ops.wait(10000)  # the result is queued for the GUI thread, not yet delivered
    session.unlock(ADMIN_PASSWORD)
    qtbot.waitUntil(lambda: not win.ops.busy)
    assert win.caseload_page.model.rowCount() == 0
    assert_no_patient_visible(win)


def test_searching_while_the_caseload_loads_never_reads_the_store_on_the_gui_thread(
    qtbot, store: Store, monkeypatch: pytest.MonkeyPatch, live_window: MainWindow
) -> None:
    """The search box typed into while the worker reads the patients: no second load on the GUI thread
    (which raced the worker's and decrypted the whole list there); the search applies once the rows come."""
    seed(store, snapshot=False)
    win = live_window
    readers: list[str] = []
    real = versions.heads_of_kind

    def heads_of_kind(*args: Any, **kwargs: Any) -> Any:
        readers.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(versions, "heads_of_kind", heads_of_kind)
    gate = Gate(monkeypatch, versions, "decrypt_row")
    sign_in(qtbot, win, ADMIN, ADMIN_PASSWORD)
    qtbot.waitUntil(lambda: win.session is not None and win.lock_label.text() == "Unlocked")
    assert gate.entered.wait(10)
    qtbot.keyClicks(win.caseload_page.search_box, "gwen")
    gate.release.set()
    qtbot.waitUntil(lambda: win.caseload_page.model.rowCount() == 1)
    assert threading.main_thread().name not in readers


def test_edit_details_reads_the_patient_on_the_worker(
    qtbot, store: Store, monkeypatch: pytest.MonkeyPatch, live_window: MainWindow
) -> None:
    """Edit details (clicked) loads the patient off the GUI thread, then shows the form filled in."""
    seed(store, snapshot=True)
    win = live_window
    sign_in(qtbot, win, ADMIN, ADMIN_PASSWORD)
    qtbot.waitUntil(lambda: win.lock_label.text() == "Unlocked")
    qtbot.waitUntil(lambda: win.caseload_page.model.rowCount() == 2)
    row = next(r for r in win.caseload_page.model.rows if r.patient.details.given_name == "Żaneta")
    win.open_patient(row.record_id)
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.patient_page)
    qtbot.waitUntil(lambda: not win.ops.busy)
    readers: list[str] = []
    real = versions.history

    def history(*args: Any, **kwargs: Any) -> Any:
        readers.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(versions, "history", history)
    qtbot.mouseClick(win.patient_page.edit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.form_page)
    assert win.form_page.given.text() == "Żaneta"
    assert readers and threading.main_thread().name not in readers

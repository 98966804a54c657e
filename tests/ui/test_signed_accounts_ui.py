"""A clinician who made themselves an admin in the store file, signing in at the real window: the
sentence says what happened and what to do, and nothing opens (issue 16 part 5)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from test_main_window import sign_in
from testsupport import ADMIN, ADMIN_PASSWORD, FakeClock

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.store import database
from perfectcare_desktop.ui.main_window import MainWindow
from perfectcare_desktop.ui.operation import Operations

CLIN, CLIN_PASSWORD = "nurse.jones", "purple kettle harbour"


def test_an_account_edited_in_the_file_is_refused_at_the_sign_in_window(
    qtbot, data_dir: Path, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    store, _ = Store.create(data_dir, "Test Trust", ADMIN, ADMIN_PASSWORD, clock=clock)
    Session.sign_in(store, ADMIN, ADMIN_PASSWORD).users.add(CLIN, "clinician", CLIN_PASSWORD)
    store.close()
    db = sqlite3.connect(database.db_path(data_dir))
    db.execute("UPDATE users SET role = 'admin' WHERE username = ?", (CLIN,))
    db.commit()
    db.close()
    win = MainWindow(Store.open(data_dir, clock=clock), Operations(synchronous=True), {}, idle_clock=lambda: 1000.0)
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    qtbot.waitExposed(win)
    page = win.login_page
    qtbot.waitUntil(page.sign_in.isEnabled)
    sign_in(qtbot, win, CLIN, CLIN_PASSWORD)
    qtbot.waitUntil(lambda: "not as an administrator last set it" in page.message.text())
    assert win.session is None and win.stack.currentWidget() is page
    if shots := os.environ.get("PERFECTCARE_SHOTS"):
        qtbot.wait(100)  # the layout pass that sizes the message for its text
        win.grab().save(str(Path(shots) / "tampered-account-sign-in.png"))

"""Issue 17: no silent errors. An error no code handled — in a slot, on the worker, in a thread — is
logged (type and frames, never the message: it may quote a patient) and told in a calm dialog, and the
app carries on.

pytest-qt puts its own sys.excepthook around every test to fail it on an error in a slot; these tests
turn that off (`qt_no_exception_capture`) so the app's own hook is the one Qt and Python call.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from perfectcare_desktop import app as app_module
from perfectcare_desktop.ui import main as ui_main
from perfectcare_desktop.ui.errors_dialog import HEADLINE, ErrorReporter
from perfectcare_desktop.ui.operation import Operations

SECRET = "Gwenllian Llywelyn 943 476 5919 said she would use the pills in the drawer"


class Answerer:
    """Answers the error dialog (OK) from a timer, as a person would, and keeps what it said."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._answer)
        self.timer.start()

    def _answer(self) -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QMessageBox) and widget.isVisible() and widget.objectName() == "unexpected_error":
                self.seen.append((widget.text(), widget.informativeText()))
                widget.button(QMessageBox.StandardButton.Ok).click()


@pytest.fixture
def reporter(qapp, tmp_path: Path) -> Iterator[ErrorReporter]:
    r = ErrorReporter(log_folder=tmp_path / "logs")
    r.install()
    yield r
    r.uninstall()
    root = logging.getLogger("perfectcare")
    for handler in [h for h in root.handlers if getattr(h, "_perfectcare", False)]:
        root.removeHandler(handler)  # the next test's log goes where conftest says
        handler.close()


def log_text(tmp_path: Path) -> str:
    return (tmp_path / "logs" / "perfectcare-desktop.log").read_text(encoding="utf-8")


def boom() -> None:
    raise ValueError(SECRET)


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_clicked_slot_is_logged_without_detail_and_told(
    qtbot, reporter: ErrorReporter, tmp_path: Path
) -> None:
    button = QPushButton("Do it")
    qtbot.addWidget(button)
    button.clicked.connect(boom)
    button.show()
    answer = Answerer()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(answer.seen) == 1)
    text, advice = answer.seen[0]
    assert text == HEADLINE
    log_file = tmp_path / "logs" / "perfectcare-desktop.log"
    assert f"log at:\n{log_file}" in advice
    assert "saved as far as the last save" in advice and "tell IT" in advice
    logged = log_text(tmp_path)
    assert "ERROR perfectcare.app" in logged and "builtins.ValueError" in logged
    assert f"{__name__}, line" in logged and "in boom" in logged  # module, line and function of the frame
    for word in ("Gwenllian", "Llywelyn", "943", "pills", "drawer"):
        assert word not in logged and word not in advice
    # The app carries on: the same button fails again, logged again, told again.
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(answer.seen) == 2)
    assert log_text(tmp_path).count("builtins.ValueError") == 2
    answer.timer.stop()


@pytest.mark.qt_no_exception_capture
def test_an_error_on_the_worker_and_in_a_thread_reach_the_log_and_the_dialog(
    qtbot, reporter: ErrorReporter, tmp_path: Path
) -> None:
    answer = Answerer()
    ops = Operations()
    ops.run(boom)  # no error callback: the relay re-raises it in its slot on the GUI thread
    qtbot.waitUntil(lambda: len(answer.seen) == 1)
    assert ops.wait(5000)

    def in_thread() -> None:
        raise KeyError(SECRET)

    worker = threading.Thread(target=in_thread, name="printing")
    worker.start()
    worker.join(5)
    qtbot.waitUntil(lambda: len(answer.seen) == 2)
    logged = log_text(tmp_path)
    assert "builtins.ValueError" in logged and "unexpected error in thread printing" in logged
    assert "builtins.KeyError" in logged and "<locals>.in_thread" in logged
    assert "Gwenllian" not in logged and "pills" not in logged
    answer.timer.stop()


def test_chained_errors_are_named_without_their_messages() -> None:
    from perfectcare_desktop.logs import no_detail_traceback

    try:
        try:
            boom()
        except ValueError as exc:
            raise RuntimeError(SECRET) from exc
    except RuntimeError as exc:
        summary = no_detail_traceback(type(exc), exc, exc.__traceback__)
    assert summary.splitlines()[0] == "builtins.RuntimeError"
    assert "builtins.ValueError" in summary and "in boom" in summary
    assert "Gwenllian" not in summary


def test_the_app_installs_the_hook_before_its_window_and_removes_it_after(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, object] = {}

    def run_app(data_dir: Path, argv: list[str], settings: object, reporter: ErrorReporter) -> int:
        seen["hooks"] = (sys.excepthook, threading.excepthook)
        seen["reporter"] = reporter
        return 0

    monkeypatch.setattr(ui_main, "run_app", run_app)
    before = (sys.excepthook, threading.excepthook)
    assert app_module.main(["--data-dir", str(tmp_path / "store")]) == 0
    reporter = seen["reporter"]
    assert isinstance(reporter, ErrorReporter)
    assert seen["hooks"] == (reporter.handle, reporter._handle_thread)
    assert (sys.excepthook, threading.excepthook) == before


@pytest.mark.qt_no_exception_capture
def test_with_no_stderr_as_in_the_windowed_build_the_error_is_still_logged_and_told(
    qtbot, reporter: ErrorReporter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stderr", None)  # a windowed (console-less) Windows build has none
    button = QPushButton("Do it")
    qtbot.addWidget(button)
    button.clicked.connect(boom)
    answer = Answerer()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(answer.seen) == 1)
    assert "builtins.ValueError" in log_text(tmp_path)
    answer.timer.stop()

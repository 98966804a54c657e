"""No error vanishes: an error no code handled — in a Qt slot, an event handler, or a Python thread — is
logged and told to the person in a calm dialog, and the app carries on.

A windowed Windows build has no stderr, so before this an error in a slot was printed nowhere and the
log stayed empty. The log entry holds the error's type and the module, line and function of each frame,
never its message, source text or values: those can quote what was typed about a patient.
"""

from __future__ import annotations

import logging
import sys
import threading
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication, QWidget

# Installed before the first window: QMessageBox and the `Qt` namespace (some 35 ms to build) and the
# log files' modules load at the first error, not at start.
log = logging.getLogger("perfectcare.app")

TITLE = "PerfectCare Desktop"
HEADLINE = "Something went wrong, and PerfectCare Desktop stopped what it was doing."


def advice(when: datetime, log_file: Path | None) -> str:
    """What to do, in words: the work is safe up to the last save; where the details are; whom to tell."""
    where = (
        f"The details are in the log at:\n{log_file}"
        if log_file is not None
        else "No log could be written on this PC (its log folder cannot be written to)."
    )
    return (
        "The app is still open and you can carry on. Your work is saved as far as the last save "
        "(a plan or formulation you were writing is also autosaved every few seconds).\n\n"
        f"{where}\n\n"
        f"If it happens again, tell IT, with the time it happened: {when:%H:%M:%S} on {when:%d %B %Y}."
    )


class ErrorReporter(QObject):
    """Installs sys.excepthook and threading.excepthook; logs each error and shows one dialog at a time."""

    _tell = Signal(object)  # the time of the error, queued to the GUI thread from any thread

    def __init__(self, program: str = "perfectcare-desktop", log_folder: Path | None = None,
                 parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.program, self.log_folder = program, log_folder
        self.log_file: Path | None = None  # set when the app's logging starts; else set up at the first error
        self._logging_ready = False
        self._showing = False
        self._previous: tuple[Any, Any] | None = None
        self._tell.connect(self._later)  # queued to the GUI thread when emitted on another

    def logging_started(self, log_file: Path | None) -> None:
        self.log_file, self._logging_ready = log_file, True

    def install(self) -> None:
        if self._previous is None:
            self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.handle
        threading.excepthook = self._handle_thread

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None

    def handle(self, exc_type: type[BaseException], exc: BaseException | None, tb: TracebackType | None,
               where: str = "") -> None:  # fmt: skip
        if issubclass(exc_type, KeyboardInterrupt | SystemExit):
            sys.__excepthook__(exc_type, exc or exc_type(), tb)  # Ctrl+C in a terminal: as Python does
            return
        try:
            from ..logs import no_detail_traceback

            self._log(no_detail_traceback(exc_type, exc, tb), where)
        except Exception:  # noqa: BLE001 - the hook must never fail in turn; the dialog still shows
            pass
        self._tell.emit(datetime.now())

    def _handle_thread(self, args: threading.ExceptHookArgs) -> None:
        thread = f" in thread {args.thread.name}" if args.thread is not None else ""
        self.handle(args.exc_type, args.exc_value, args.exc_traceback, thread)

    def _log(self, summary: str, where: str) -> None:
        if not self._logging_ready:  # an error before the app's own start of logging (after the first paint)
            from ..logs import setup_logging

            self.logging_started(setup_logging(self.program, self.log_folder))
        log.error("unexpected error%s:\n%s", where, summary)
        if sys.stderr is not None:  # a developer's terminal; a windowed build has none
            print(f"PerfectCare Desktop: unexpected error{where} (logged):\n{summary}", file=sys.stderr)

    @Slot(object)
    def _later(self, when: datetime) -> None:
        # On the GUI thread; the dialog opens once the failed slot has returned, not inside Qt's dispatch of it.
        QTimer.singleShot(0, lambda: self._show(when))

    def _show(self, when: datetime) -> None:
        if self._showing or QApplication.instance() is None:
            return  # one dialog at a time: a burst of errors is in the log, one after another
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QMessageBox

        self._showing = True
        try:
            box = QMessageBox(QMessageBox.Icon.Warning, TITLE, HEADLINE, QMessageBox.StandardButton.Ok,
                              _parent())  # fmt: skip
            box.setObjectName("unexpected_error")
            box.setInformativeText(advice(when, self.log_file))
            box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            box.exec()
        finally:
            self._showing = False


def _parent() -> QWidget | None:
    app = QApplication.instance()
    return app.activeWindow() if isinstance(app, QApplication) else None


def install_error_reporter(program: str = "perfectcare-desktop") -> ErrorReporter:
    """At app start, before any window: from then on no error is silent."""
    reporter = ErrorReporter(program)
    reporter.install()
    return reporter

"""Start the app: one instance per store, first-run set-up when there is no store, then sign-in."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .. import config
from ..core.storage.instance_lock import InstanceLock
from ..errors import PerfectCareError
from ..paths import db_path

if TYPE_CHECKING:
    from ..core.storage.store import Store
    from ..policy import Settings
    from .errors_dialog import ErrorReporter
    from .main_window import MainWindow


def run_app(data_dir: Path, argv: list[str], settings: Settings | None = None,
            reporter: ErrorReporter | None = None) -> int:  # fmt: skip
    """`settings`: machine policy over the user's settings (policy.load_settings); read here if not given.
    `reporter`: the installed excepthook (app.main), told where the log is once logging starts."""
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow
    from .operation import Operations
    from .theme import apply_theme
    from .widgets import after_first_paint

    existing = QApplication.instance()
    # Fusion from the command line: the same look on every PC, set before any widget exists.
    app = existing or QApplication([*argv, "-style", "fusion"])
    assert isinstance(app, QApplication)  # instance() is typed as the base QCoreApplication
    app.setApplicationName(config.APP_NAME)
    if settings is None:
        from ..policy import default_registry, load_settings

        settings = load_settings(config.load_user_settings(), default_registry())
    apply_theme(app, str(settings.get("theme", "light")), fusion_set=existing is None)

    lock = InstanceLock(data_dir)
    try:
        lock.acquire()
    except (PerfectCareError, OSError) as exc:
        from PySide6.QtWidgets import QMessageBox  # only here: its enums cost the first window 2-3 ms

        QMessageBox.critical(None, "PerfectCare Desktop", _message(exc, data_dir))
        return 1
    try:
        ops = Operations()
        if not db_path(data_dir).exists():
            from .setup_wizard import SetupWizard

            wizard = SetupWizard(data_dir, ops)
            wizard.exec()
            if wizard.store is None:  # cancelled before the store was made
                return 0
            wizard.store.close()  # made (even if the key page was closed early): go on to sign-in

        def open_store() -> Store:
            from ..core.storage.store import Store  # loads the database libraries, off the GUI thread

            return Store.open(data_dir)

        window = MainWindow(None, ops, settings.values, open_store=open_store)
        window.policy, window.data_dir = settings, data_dir
        window.show()
        after_first_paint(window, lambda: _start_logging(window, reporter))
        code = app.exec()
        ops.wait()
        if window.store is not None:
            window.store.close()
        return code
    finally:
        lock.release()


def _start_logging(window: MainWindow, reporter: ErrorReporter | None = None) -> None:
    """After the first paint: logging's imports are not needed to show the window."""
    import logging

    from ..logs import setup_logging

    window.log_file = setup_logging("perfectcare-desktop")
    if reporter is not None:
        reporter.logging_started(window.log_file)
    log = logging.getLogger("perfectcare.app")
    log.info("started")
    for problem in window.policy.problems:
        log.warning("policy: %s", problem)


def _message(exc: BaseException, data_dir: Path) -> str:
    if isinstance(exc, PerfectCareError):
        return str(exc)
    return f"Cannot use the store folder {data_dir}: {getattr(exc, 'strerror', None) or exc}."

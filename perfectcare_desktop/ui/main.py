"""Start the app: one instance per store, first-run set-up when there is no store, then sign-in."""

from __future__ import annotations

from pathlib import Path

from .. import config
from ..core.instance_lock import InstanceLock
from ..errors import PerfectCareError
from ..store.database import db_path


def run_app(data_dir: Path, argv: list[str]) -> int:
    from PySide6.QtWidgets import QApplication, QMessageBox

    from ..core.store import Store
    from .main_window import MainWindow
    from .operation import Operations
    from .theme import apply_theme

    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName(config.APP_NAME)
    settings = config.load_user_settings()
    apply_theme(app, str(settings.get("theme", "light")))  # type: ignore[arg-type]

    lock = InstanceLock(data_dir)
    try:
        lock.acquire()
    except (PerfectCareError, OSError) as exc:
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
        try:
            store = Store.open(data_dir)
        except PerfectCareError as exc:
            QMessageBox.critical(None, "PerfectCare Desktop", str(exc))
            return 1
        window = MainWindow(store, ops, settings)
        window.show()
        code = app.exec()
        ops.wait()
        store.close()
        return code
    finally:
        lock.release()


def _message(exc: BaseException, data_dir: Path) -> str:
    if isinstance(exc, PerfectCareError):
        return str(exc)
    return f"Cannot use the store folder {data_dir}: {getattr(exc, 'strerror', None) or exc}."

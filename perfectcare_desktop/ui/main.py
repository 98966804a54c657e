"""Start the Qt application."""

from __future__ import annotations

from pathlib import Path


def run_app(data_dir: Path, argv: list[str]) -> int:
    from PySide6.QtWidgets import QApplication, QMessageBox

    _app = QApplication.instance() or QApplication(argv)
    QMessageBox.information(
        None,
        "PerfectCare Desktop",
        f"The clinicians' window is being built. The store in {data_dir} is administered with perfectcare-admin.",
    )
    return 0

"""The Qt binding must survive a working day: many thousands of calls in one process.

PySide6 6.12.0 on Python < 3.12 lost a reference to None on each call returning nothing; a fresh
interpreter (few references to None) aborted after a few thousand calls. pyproject pins around it.
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import os
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel()
for _ in range(200_000):
    label.setText("x")
    label.setEnabled(True)
print("survived")
"""


def test_two_hundred_thousand_void_calls_do_not_crash_the_interpreter() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "survived"


def test_pdf_and_print_modules_are_installed() -> None:
    from PySide6 import QtPdf, QtPdfWidgets, QtPrintSupport  # noqa: F401

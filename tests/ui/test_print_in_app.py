"""Printing from the clinicians' window: Ctrl+P for the open patient, Ctrl+Shift+P for the team, with
machine policy's variants and the trust's own crisis numbers; Help > About shows managed settings."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from test_plan_tab import patient_store, type_plan, win  # noqa: F401 - fixtures used by name

from perfectcare_desktop.core.clinical.crisis_directory import directory_in_force
from perfectcare_desktop.ui import about, batch_print, print_dialog
from perfectcare_desktop.ui.main_window import MainWindow

LOCAL = {"key": "mc", "name": "Mersey Care crisis line", "how": "Call 0800 145 6570", "phone": "0800 145 6570",
         "when": ""}  # fmt: skip


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[QDialog]:
    seen: list[QDialog] = []
    for cls in (print_dialog.PrintDialog, batch_print.BatchPrintDialog, about.AboutDialog):
        monkeypatch.setattr(cls, "exec", lambda self: seen.append(self) or 0)
    return seen


def test_ctrl_p_prints_the_open_patients_copy_with_policy_variants_and_trust_numbers(
    qtbot,
    win: MainWindow,  # noqa: F811
    opened: list[QDialog],
) -> None:
    win.settings["pdf_variants"] = ["standard", "wallet-card"]
    win.crisis_directory = directory_in_force({"crisis_contacts": [LOCAL], "crisis_contacts_checked_on": "2026-10-01"})
    type_plan(qtbot, win)
    qtbot.keyClick(win, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(opened))
    dialog = opened[0]
    assert isinstance(dialog, print_dialog.PrintDialog)
    assert [dialog.variant.itemData(i) for i in range(dialog.variant.count())] == ["auto", "standard", "wallet-card"]
    assert dialog.document.pageCount() >= 1
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(dialog.pdf.data)).pages)
    assert "Mersey Care crisis line" in text and "I stop answering my phone" in text  # saved on the way
    assert "Draft" in text  # not yet agreed: said on the copy


def test_ctrl_shift_p_from_the_caseload_offers_the_selected_people(
    qtbot,
    win: MainWindow,  # noqa: F811
    opened: list[QDialog],
) -> None:
    qtbot.keyClick(win.patient_page, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.caseload_page)
    win.caseload_page.table.selectRow(0)
    qtbot.keyClick(win, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: bool(opened))
    dialog = opened[0]
    assert isinstance(dialog, batch_print.BatchPrintDialog) and dialog.selected and dialog.choices["chosen"].isChecked()


def test_about_shows_managed_settings(
    qtbot,
    win: MainWindow,  # noqa: F811
    opened: list[QDialog],
) -> None:
    win.show_about()
    assert isinstance(opened[0], about.AboutDialog)
    labels = [r[0] for r in opened[0].model.rows]
    assert "Lock after this many idle minutes" in labels

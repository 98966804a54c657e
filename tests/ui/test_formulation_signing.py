"""Signing a safety formulation through the real widgets (issue 15): the link to the safety plan in
force is taken when signing, not when the tab loaded, and the status names that plan version; signing
with most sections empty shows the same checklist as the plan's sign dialog."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from test_formulation_tab import patient_store, win  # noqa: F401  # the fixtures
from test_plan_tab import on_dialog, reactivate

from perfectcare_desktop.core.clinical.formulations import load_formulation
from perfectcare_desktop.core.clinical.plans import load_plan
from perfectcare_desktop.ui.main_window import MainWindow

SHOTS = os.environ.get("PERFECTCARE_SCREENSHOTS")  # a folder: the dialogs are saved there to look at


def sign_formulation(qtbot, w: MainWindow, shot: str = "") -> list[tuple[int, str]]:  # noqa: ANN001
    """Click Sign, note the checklist (how many, and the first), and sign with the review date offered."""
    tab = w.patient_page.formulation_tab
    seen: list[tuple[int, str]] = []

    def act(dialog: QDialog) -> None:
        items = getattr(dialog, "checklist", None)
        seen.append((items.count(), items.item(0).text()) if items is not None else (0, ""))
        if shot and SHOTS:
            dialog.grab().save(str(Path(SHOTS) / shot))
        qtbot.keyClick(dialog.date_line, Qt.Key.Key_Return)  # type: ignore[attr-defined]

    on_dialog(act)
    tab.sign_button.click()
    qtbot.waitUntil(lambda: "Signed" in tab.message.text())
    reactivate(qtbot, w)
    return seen


def test_the_plan_agreed_after_the_tab_loaded_is_the_one_linked(qtbot, win: MainWindow, patient_store) -> None:  # noqa: F811
    _, pid = patient_store
    ftab, ptab = win.patient_page.formulation_tab, win.patient_page.plan_tab
    qtbot.keyClicks(ftab.editor.first_field(), "Thinks about ending her life most evenings.")
    assert ftab.load_result is not None  # the formulation tab has loaded: there was no plan then

    # The plan is written and agreed on the plan tab after that.
    qtbot.keyClick(win, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    qtbot.keyClicks(ptab.editor.first_field(), "I stop eating")
    qtbot.keyClick(ptab.editor.first_field(), Qt.Key.Key_Return)

    def agree(dialog: QDialog) -> None:
        dialog.agreed_box.setChecked(True)  # type: ignore[attr-defined]
        dialog.ok.click()  # type: ignore[attr-defined]

    on_dialog(agree)
    ptab.sign_button.click()
    qtbot.waitUntil(lambda: "Signed" in ptab.message.text())
    agreed = load_plan(win.session, pid, audit_view=False).agreed
    assert agreed is not None

    reactivate(qtbot, win)
    qtbot.keyClick(win, Qt.Key.Key_M, Qt.KeyboardModifier.AltModifier)
    assert win.patient_page.tabs.currentWidget() is ftab
    sign_formulation(qtbot, win)
    signed = load_formulation(win.session, pid, audit_view=False).current
    assert signed.signed and signed.payload["safety_plan_version"] == agreed.version_id
    status = ftab.status.text()
    assert "No safety plan" not in status
    assert f"Linked to the safety plan in force when signed: Agreed, saved {agreed.created_at:%d %b %Y %H:%M}" in status
    if SHOTS:
        win.grab().save(str(Path(SHOTS) / "formulation-signed.png"))


def test_signing_a_mostly_empty_formulation_shows_the_plans_checklist(qtbot, win: MainWindow, patient_store) -> None:  # noqa: F811
    _, pid = patient_store
    tab = win.patient_page.formulation_tab
    qtbot.keyClicks(tab.editor.first_field(), "Thinks about ending her life most evenings.")
    seen = sign_formulation(qtbot, win, "formulation-checklist.png")
    sections = len(tab.editor.layout_.sections)
    assert seen == [(sections - 1, "• 'Recent behaviour and history' is empty and not marked as discussed.")]
    assert load_formulation(win.session, pid, audit_view=False).current.signed  # they may sign anyway

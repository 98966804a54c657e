"""The safety formulation tab, by keyboard with pytest-qt on a real store: write and sign, a locked
version refuses edits and offers an addendum, addenda and the person's view, entered in error, a
new version at review, and every version still readable in history and export."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QInputDialog
from test_main_window import ADMIN, PASSWORD, sign_in
from test_plan_tab import on_dialog, patient_window, reactivate

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.formulations import DISAGREEMENT, SIGNED, load_formulation
from perfectcare_desktop.core.clinical.plan_content import PlanContent
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage.export_json import export_patients
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.ui.main_window import MainWindow
from perfectcare_desktop.ui.plan_history import CompareDialog

NHS = "943 476 5919"
THOUGHTS = "Thinks about ending her life most evenings since the eviction notice; no plan."
WHY_NOW = "Eviction notice last week; lost her job in May."
JUDGEMENT = "Her safety depends on the housing outcome and her sister's daily calls."


@pytest.fixture
def patient_store(store: Store) -> tuple[Store, str]:
    session = Session.sign_in(store, ADMIN, PASSWORD)
    pid = session.patients.add(PatientDetails("Aisha", "Rahman", date(1988, 6, 1), NHS))
    session.lock()
    return store, pid


@pytest.fixture
def win(qtbot, patient_store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    w = patient_window(qtbot, patient_store[0], tmp_path, monkeypatch)
    qtbot.keyClick(w, Qt.Key.Key_M, Qt.KeyboardModifier.AltModifier)  # Safety for&mulation
    assert w.patient_page.tabs.currentWidget() is w.patient_page.formulation_tab
    return w


def go_to(qtbot, w: MainWindow, key: str) -> None:
    """Ctrl+PgDown through the sections until `key` is shown (keyboard only)."""
    editor = w.patient_page.formulation_tab.editor
    for _ in range(len(editor.layout_.sections)):
        if editor._section.key == key:
            return
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)
    raise AssertionError(key)


def write_and_sign(qtbot, w: MainWindow) -> None:
    tab = w.patient_page.formulation_tab
    tab.editor.first_field().setFocus()
    qtbot.keyClicks(tab.editor.first_field(), THOUGHTS)
    go_to(qtbot, w, "precipitating")
    qtbot.keyClicks(tab.editor.first_field(), WHY_NOW)
    go_to(qtbot, w, "judgement")
    qtbot.keyClicks(tab.editor.first_field(), JUDGEMENT)
    go_to(qtbot, w, "want_involved")
    for value in ("Samira", "sister", "daily calls"):
        qtbot.keyClicks(QApplication.focusWidget(), value)
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    qtbot.keyClick(tab.editor.first_field(), Qt.Key.Key_Return)

    on_dialog(lambda dialog: qtbot.keyClick(dialog.date_line, Qt.Key.Key_Return))  # type: ignore[attr-defined]
    qtbot.keyClick(w, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: "Signed" in tab.message.text())
    reactivate(qtbot, w)


def test_write_and_sign_then_the_signed_version_refuses_edits_and_offers_an_addendum(
    qtbot, win: MainWindow, patient_store
) -> None:
    _, pid = patient_store
    tab = win.patient_page.formulation_tab
    write_and_sign(qtbot, win)
    state = load_formulation(win.session, pid, audit_view=False)
    assert state.status == SIGNED and state.locked
    content = PlanContent.from_payload(state.current.payload)
    assert content.section("current_thoughts").entries == [{"text": THOUGHTS}]
    assert content.section("judgement").entries == [{"text": JUDGEMENT}]
    assert content.section("want_involved").entries == [{"name": "Samira", "relationship": "sister",
                                                          "notes": "daily calls"}]  # fmt: skip

    # The signed version is shown locked: typing changes nothing, and the banner says what to do instead.
    assert tab.locked_banner.isVisible() and "cannot be edited" in tab.locked_banner.text()
    assert "addendum" in tab.locked_banner.text() and tab.addendum_button.isEnabled()
    tab.editor.nav.setCurrentRow(0)
    qtbot.keyClicks(tab.editor.first_field(), " and more")
    assert tab.editor.content.section("current_thoughts").entries == [{"text": THOUGHTS}]
    assert not tab.save_button.isEnabled() and not tab.dirty
    tab.sign()
    assert "already signed and locked" in tab.message.text()
    assert len(load_formulation(win.session, pid, audit_view=False).history) == 1


def test_addenda_and_the_persons_view_show_under_the_signed_version(qtbot, win: MainWindow, patient_store) -> None:
    _, pid = patient_store
    tab = win.patient_page.formulation_tab
    write_and_sign(qtbot, win)

    def addendum(dialog: QDialog) -> None:
        dialog.ok.click()  # type: ignore[attr-defined]  # empty: refused in words
        assert "Write the addendum" in dialog.message.text()  # type: ignore[attr-defined]
        qtbot.keyClicks(dialog.reason_line, "Housing appeal granted.")  # type: ignore[attr-defined]
        dialog.ok.click()  # type: ignore[attr-defined]

    on_dialog(addendum)
    qtbot.keyClick(win, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: "Housing appeal granted." in tab.notes_view.text())
    reactivate(qtbot, win)
    on_dialog(lambda d: (qtbot.keyClicks(d.reason_line, "I don't drink to cope."), d.ok.click()))  # type: ignore[attr-defined]
    tab.view_button.click()
    text = tab.notes_view.text()
    assert "Addendum — " in text and "admin1" in text and "The person's view — " in text
    state = load_formulation(win.session, pid, audit_view=False)
    assert [n.kind for n in state.notes_about(state.current.version_id)][-1] == DISAGREEMENT
    rows = [r for r in win.patient_page.history_model.rows if r[2] == "Formulation note"]
    assert {r[4] for r in rows} == {"Added an addendum", "Recorded the person's view"}


def test_entered_in_error_and_a_review_version_keep_every_version_readable(
    qtbot, win: MainWindow, patient_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, pid = patient_store
    tab = win.patient_page.formulation_tab
    write_and_sign(qtbot, win)

    # At review: a new version from the signed one, edited and saved as a draft.
    tab.start_new_version()
    assert not tab.editor.locked and "New version for review" in tab.locked_banner.text()
    tab.editor.nav.setCurrentRow(next(i for i, s in enumerate(tab.editor.layout_.sections) if s.key == "precipitating"))
    tab.editor.first_field().setFocus()
    qtbot.keyClicks(tab.editor.first_field(), " Appeal hearing on Friday.")
    qtbot.keyClick(win, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "Draft saved" in tab.message.text())
    state = load_formulation(win.session, pid, audit_view=False)
    assert [v.status for v in state.history] == ["signed", "draft"]

    # The draft was a mistake: mark it entered in error from the history tab.
    page = win.patient_page
    page.tabs.setCurrentIndex(2)
    draft_row = next(i for i, v in enumerate(page.history_versions) if v.version_id == state.history[1].version_id)
    page.history.selectRow(draft_row)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Saved against the wrong appeal date", True))
    page.error_button.click()
    state = load_formulation(win.session, pid, audit_view=False)
    assert state.current.version_id == state.history[0].version_id and state.locked  # back to the signed one
    assert any("withdrawn: entered in error" in r[3] for r in page.history_model.rows)

    # Both versions compare side by side, and the export holds every version and the reason.
    page.history.selectRow(next(i for i, v in enumerate(page.history_versions) if v.kind == "safety_formulation"))
    seen: list[str] = []

    def check(dialog: QDialog) -> None:
        assert isinstance(dialog, CompareDialog)
        m = dialog.table.model()
        seen.extend(str(m.index(r, 2).data()) for r in range(m.rowCount()))
        dialog.reject()

    on_dialog(check)
    page.compare_button.click()
    assert any("Appeal hearing on Friday" in t for t in seen)
    text = json.dumps(export_patients(win.session, NHS), ensure_ascii=False)
    assert "Appeal hearing on Friday" in text and "Saved against the wrong appeal date" in text and THOUGHTS in text


def test_a_formulation_draft_survives_a_lock(qtbot, win: MainWindow, patient_store) -> None:
    _, pid = patient_store
    tab = win.patient_page.formulation_tab
    tab.editor.first_field().setFocus()
    qtbot.keyClicks(tab.editor.first_field(), "Says she is tired of everything")
    qtbot.keyClick(win, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert tab.editor.content is None
    sign_in(qtbot, win)
    content = win.patient_page.formulation_tab.editor.content
    assert content.section("current_thoughts").entries == [{"text": "Says she is tired of everything"}]
    assert load_formulation(win.session, pid, audit_view=False).record_id is None
